using Xunit;

// One Coyote engine at a time: its runtime is process-wide state, and the machine has two cores.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
