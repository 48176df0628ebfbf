using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Corral.Diagnostics;

namespace Corral.Benchmarks;

/// <summary>
/// What reading stacks costs a snapshot (issue 13): <c>TaskTree.Capture()</c> of a group with 10,000 or 100,000 live tasks,
/// each suspended two async frames deep, with stacks and without. The baseline is the same capture without stacks: there
/// is no raw .NET way to list tasks, let alone their stacks (short of a memory dump and SOS <c>dumpasync</c>).
/// </summary>
/// <remarks>No goal: issue 13 asks for the figures. Stacks cost nothing until a capture asks (the spawn and checkpoint rows say so).</remarks>
public class CaptureStacks
{
    private TaskCompletionSource _gate = null!;
    private Task _group = null!;

    [Params(10_000, 100_000)]
    public int Tasks { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = _gate.Task;
        var count = Tasks;
        _group = TaskGroup.RunAsync(
            group =>
            {
                for (var i = 0; i < count; i++)
                {
                    group.Start(_ => OuterAsync(gate), "worker");
                }

                return Task.CompletedTask;
            },
            new TaskGroupOptions { Name = "capture-bench" });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _gate.SetResult();
        _group.GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, Description = "TaskTree.Capture(IncludeStacks = false)")]
    public TaskTreeSnapshot WithoutStacks() => TaskTree.Capture(new TaskTreeCaptureOptions { IncludeStacks = false });

    [Benchmark(Description = "TaskTree.Capture() with stacks")]
    public TaskTreeSnapshot WithStacks() => TaskTree.Capture();

    private static async Task OuterAsync(Task gate) => await InnerAsync(gate).ConfigureAwait(false);

    private static async Task InnerAsync(Task gate) => await gate.ConfigureAwait(false);
}
