using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;

namespace Corral.Benchmarks;

/// <summary>Spawn 1,000 children that each await <see cref="Task.Yield"/>, and join them.</summary>
/// <remarks>Goal (issue 5): at most 1.3x the raw time (stretch 1.15x), at most 144 B per child.</remarks>
public class SpawnInline
{
    public const int Children = 1_000;

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

    [Benchmark(Description = "TaskGroup.RunAsync + Start x1000")]
    public Task Corral() => TaskGroup.RunAsync(static group =>
    {
        for (var i = 0; i < Children; i++)
        {
            group.Start(Work.YieldChild);
        }

        return Task.CompletedTask;
    });
}
