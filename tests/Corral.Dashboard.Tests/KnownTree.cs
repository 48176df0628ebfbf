using System;
using System.Threading;
using System.Threading.Tasks;

namespace Corral.Dashboard.Tests;

/// <summary>
/// A live Corral tree whose names end with a unique suffix, so tests in one process (one tree) find their own nodes:
/// <code>
/// group 'app-ID'
/// ├── task 'poller-ID'                 └── scope 'poll-ID' (deadline in 10 minutes)
/// ├── task 'cleaner-ID'                └── shield 'cleanup-ID'
/// ├── task 'shutdown-ID'               └── group 'drain-ID' (cancelled: "draining for shutdown")
/// │                                        └── task 'stubborn-ID' (ignores its cancellation: the watchdog reports it)
/// └── task '&lt;img src=x onerror=…&gt;…' (only with a hostile name)
/// </code>
/// </summary>
internal sealed class KnownTree : IAsyncDisposable
{
    /// <summary>A name that runs script if a page ever puts it into HTML.</summary>
    public const string HostileName = "<img src=x onerror=\"window.__pwned=1;alert(1)\"><script>window.__pwned=2</script>";

    private readonly TaskCompletionSource _stop = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<TaskGroup> _group = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _pollEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _run;

    private KnownTree(string id, bool hostile)
    {
        Id = id;
        _run = TaskGroup.RunAsync(
            async g =>
            {
                g.Start(
                    async _ =>
                    {
                        try
                        {
                            await CancelScope.RunAsync(s => Task.Delay(Timeout.InfiniteTimeSpan, s.Token), new CancelScopeOptions { Name = "poll-" + id, Timeout = TimeSpan.FromMinutes(10) });
                        }
                        finally
                        {
                            _pollEnded.TrySetResult(); // the scope has left the tree
                        }
                    },
                    "poller-" + id);
                g.Start(async _ => { await CancelScope.ShieldAsync(_ => _stop.Task, name: "cleanup-" + id); }, "cleaner-" + id);
                g.Start(
                    _ => TaskGroup.RunAsync(
                        drain =>
                        {
                            drain.Start(ct => StubbornAsync(_stop.Task, ct), "stubborn-" + id);
                            drain.Cancel("draining for shutdown");
                            return Task.CompletedTask;
                        },
                        new TaskGroupOptions { Name = "drain-" + id }),
                    "shutdown-" + id);
                if (hostile)
                {
                    g.Start(_ => _stop.Task, HostileName);
                }

                _group.SetResult(g);
                await _stop.Task;
                g.Cancel("test over");
            },
            new TaskGroupOptions { Name = "app-" + id });
    }

    /// <summary>Gets the line of the stubborn task's await in this file (its <c>@await:stubborn</c> mark): where the watchdog finds it.</summary>
    public static int StubbornAwaitLine { get; } = Repository.AwaitMarks()["stubborn"];

    public string Id { get; }

    public string Root => "app-" + Id;

    /// <summary>Gets a task that completes when the scope 'poll-ID' has ended (and so left the tree), however it ended.</summary>
    public Task PollEnded => _pollEnded.Task;

    public static async Task<KnownTree> StartAsync(bool hostile = false)
    {
        var tree = new KnownTree(Guid.NewGuid().ToString("N")[..8], hostile);
        await tree._group.Task.Within();
        return tree;
    }

    /// <summary>Starts another task in the root group, which runs until <paramref name="until"/> completes or its scope is cancelled.</summary>
    public async Task StartAsync(string name, Task until) =>
        (await _group.Task).Start(async ct => await until.WaitAsync(ct), name);

    public async ValueTask DisposeAsync()
    {
        _stop.TrySetResult();
        try
        {
            await _run.Within();
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// The article's stubborn task: catches its cancellation and carries on regardless (here: until the test ends), so the
    /// watchdog reports it.
    /// </summary>
    private static async Task StubbornAsync(Task stop, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // swallowed: the very thing the watchdog is there to report
        }

        await stop; // @await:stubborn
    }
}
