using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;

namespace Corral.Benchmarks;

/// <summary>Spawn 1,000 children through the thread pool (none runs inline), and join them.</summary>
/// <remarks>Goal: at most 1.0x the raw time, at most 240 B per child. Three launches; the report takes their median.</remarks>
[ThreeLaunches]
public class SpawnThreadPool
{
    public const int Children = 1_000;

    private static readonly TaskGroupOptions s_threadPool = new() { StartMode = ChildStartMode.ThreadPool };

    [Benchmark(Baseline = true, Description = "Task.Run + Task.WhenAll")]
    public Task Raw()
    {
        var tasks = new Task[Children];
        for (var i = 0; i < tasks.Length; i++)
        {
            tasks[i] = Task.Run(Work.CompletedRaw);
        }

        return Task.WhenAll(tasks);
    }

    [Benchmark(Description = "TaskGroup (StartMode = ThreadPool) + Start x1000")]
    public Task Corral() => TaskGroup.RunAsync(
        static group =>
        {
            for (var i = 0; i < Children; i++)
            {
                group.Start(Work.CompletedChild);
            }

            return Task.CompletedTask;
        },
        s_threadPool);
}
