using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;

namespace Corral.Benchmarks;

/// <summary>
/// Cancel 100,000 waiting children and wait until their group returns. The children are started in the iteration setup;
/// only the cancellation and the join are measured.
/// </summary>
/// <remarks>Goal: at most 1.0x the raw time and bytes.</remarks>
[InvocationCount(1)]
public class CancelGroup
{
    public const int Children = 100_000;

    private static CancellationTokenSource? s_cts;
    private Task[]? _tasks;
    private TaskGroup? _group;
    private Task? _groupTask;

    [IterationSetup(Target = nameof(Raw))]
    public void SetupRaw()
    {
        s_cts = new CancellationTokenSource();
        _tasks = new Task[Children];
        for (var i = 0; i < Children; i++)
        {
            _tasks[i] = Work.DelayCatchAsync(s_cts.Token);
        }
    }

    [IterationCleanup(Target = nameof(Raw))]
    public void CleanupRaw() => s_cts!.Dispose();

    [IterationSetup(Target = nameof(Corral))]
    public void SetupCorral() => StartGroup(Work.DelayForever);

    [IterationSetup(Target = nameof(CorralSleep))]
    public void SetupCorralSleep() => StartGroup(Work.SleepForever);

    [Benchmark(Baseline = true, Description = "100,000 Task.Delay(Infinite, ct) catching OCE; Cancel; WhenAll")]
    public Task Raw()
    {
        s_cts!.Cancel();
        return Task.WhenAll(_tasks!);
    }

    [Benchmark(Description = "group of 100,000 Task.Delay(Infinite, ct) children; group.Cancel(); await group")]
    public Task Corral()
    {
        _group!.Cancel();
        return _groupTask!;
    }

    [Benchmark(Description = "group of 100,000 CancelScope.SleepAsync(Infinite) children; group.Cancel(); await group")]
    public Task CorralSleep()
    {
        _group!.Cancel();
        return _groupTask!;
    }

    private void StartGroup(System.Func<CancellationToken, Task> child)
    {
        _groupTask = TaskGroup.RunAsync(group =>
        {
            _group = group;
            for (var i = 0; i < Children; i++)
            {
                group.Start(child);
            }

            return Task.CompletedTask;
        });
    }
}
