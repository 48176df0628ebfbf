using Xunit;

// Stress tests measure and starve the thread pool: never two at once.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
