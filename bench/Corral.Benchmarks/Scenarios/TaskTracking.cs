using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Corral.Diagnostics;

namespace Corral.Benchmarks;

/// <summary>What the live task tree costs: spawn-and-join 1,000 children with <see cref="TaskTree.TrackingEnabled"/> on and off.</summary>
/// <remarks>No goal of its own (issue 3 asks for the figure); the spawn goal (1.3x, 144 B per child) is the yardstick.</remarks>
public class TaskTracking
{
    public const int Children = 1_000;

    [GlobalSetup(Target = nameof(CorralTracked))]
    public void TrackingOn() => TaskTree.TrackingEnabled = true;

    [GlobalSetup(Target = nameof(CorralUntracked))]
    public void TrackingOff() => TaskTree.TrackingEnabled = false;

    [GlobalCleanup]
    public void Restore() => TaskTree.TrackingEnabled = true;

    [Benchmark(Baseline = true, Description = "async method called directly + Task.WhenAll")]
    public Task Raw()
    {
        var tasks = new Task[Children];
        for (var i = 0; i < tasks.Length; i++)
        {
            tasks[i] = Work.YieldAsync(default);
        }

        return Task.WhenAll(tasks);
    }

    [Benchmark(Description = "TaskGroup x1000, TaskTree.TrackingEnabled = true")]
    public Task CorralTracked() => Spawn();

    [Benchmark(Description = "TaskGroup x1000, TaskTree.TrackingEnabled = false")]
    public Task CorralUntracked() => Spawn();

    private static Task Spawn() => TaskGroup.RunAsync(static group =>
    {
        for (var i = 0; i < Children; i++)
        {
            group.Start(Work.YieldChild);
        }

        return Task.CompletedTask;
    });
}
