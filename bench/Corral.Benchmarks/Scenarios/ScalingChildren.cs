using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;

namespace Corral.Benchmarks;

/// <summary>How spawn-and-join grows with the number of children, 10 to 1,000,000: it must stay linear.</summary>
public class ScalingChildren
{
    [Params(10, 100, 1_000, 10_000, 100_000, 1_000_000)]
    public int Children { get; set; }

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

    [Benchmark(Description = "TaskGroup.RunAsync + Start xN")]
    public Task Corral()
    {
        var children = Children;
        return TaskGroup.RunAsync(group =>
        {
            for (var i = 0; i < children; i++)
            {
                group.Start(Work.YieldChild);
            }

            return Task.CompletedTask;
        });
    }
}
