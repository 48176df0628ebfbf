// Scene 7: what is still running? Plain .NET cannot say: a Task has no name, no parent and no spawn site, and nothing
// lists the tasks of a process (short of a memory dump read with SOS `dumpasync`). Corral keeps its tree anyway, so
// TaskTree.Capture() shows every live group, scope and task with its state and reason, in-process here and from
// another process with `corral tree PID` (docs/concepts/introspection.md). The scene prints the tour's own part of it.
using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;

namespace Corral.Tour.Scenarios;

internal static class WhatIsRunning
{
    public static async Task<ScenarioResult> RunAsync()
    {
        var plain = await PlainAsync();
        var (corral, problem, tree) = await CorralAsync();
        return new ScenarioResult(plain, corral, problem) { Details = tree };
    }

    private static async Task<string> PlainAsync()
    {
        using var tourOnly = new CancellationTokenSource();
        var tasks = new[]
        {
            Task.Run(() => Task.Delay(Timeout.Infinite, tourOnly.Token)),
            Task.Run(() => Task.Delay(Timeout.Infinite, tourOnly.Token)),
        };
        var running = tasks.Count(t => !t.IsCompleted);
        await tourOnly.CancelAsync();
        await Task.WhenAll(tasks.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        return $"{running} fire-and-forget tasks running; nothing lists them (a Task has no name, parent or site)";
    }

    private static async Task<(string Line, string? Problem, string? Tree)> CorralAsync()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskTreeSnapshot? snapshot = null;
        await TaskGroup.RunAsync(
            async orders =>
            {
                orders.Start(
                    _ => CancelScope.RunAsync(
                        _ => CancelScope.SleepAsync(Timeout.InfiniteTimeSpan),
                        new CancelScopeOptions { Name = "fetch-page", Timeout = TimeSpan.FromMinutes(1) }),
                    "fetch");
                orders.Start(
                    _ => TaskGroup.RunAsync(
                        drain =>
                        {
                            drain.Start(
                                async _ =>
                                {
                                    started.SetResult();
                                    await release.Task; // ignores its token: still running after the cancel
                                },
                                "flush-queue");
                            drain.Cancel("draining");
                            return Task.CompletedTask;
                        },
                        new TaskGroupOptions { Name = "drain" }),
                    "shutdown");

                await started.Task;
                snapshot = TaskTree.Capture();
                release.SetResult();
                orders.Cancel("scene over");
            },
            new TaskGroupOptions { Name = "orders" });

        // Only the tour's own nodes: the snapshot holds every live tree of the process.
        var ours = snapshot!.FindAll(n => n.Name == "orders" && n.Kind == TaskTreeNodeKind.TaskGroup);
        var mine = new TaskTreeSnapshot(snapshot.TakenAt, snapshot.ProcessId, ours);
        var tree = mine.ToText();
        var stubborn = mine.FindAll(n => n.Name == "flush-queue").SingleOrDefault();
        var tasks = mine.FindAll(n => n.Kind == TaskTreeNodeKind.Task && n.Name != "body").Count;

        var line = $"TaskTree.Capture() shows {tasks} tasks by name and site; 'flush-queue' {stubborn?.State.ToString().ToLowerInvariant() ?? "missing"} " +
            $"({stubborn?.CancelReason ?? "no reason"}) - tree below";
        string? problem = null;
        if (ours.Count != 1)
        {
            problem = $"the snapshot held {ours.Count} groups named 'orders' instead of 1";
        }
        else if (stubborn is not { State: TaskTreeNodeState.Cancelling, Kind: TaskTreeNodeKind.Task, Site: not null } ||
            stubborn.CancelReason?.Contains("draining", StringComparison.Ordinal) != true)
        {
            problem = $"'flush-queue' was not shown as a cancelling task with its site and reason: {stubborn?.ToString() ?? "missing"}";
        }
        else if (mine.FindAll(n => n.Name is not ("orders" or "body" or "fetch" or "fetch-page" or "shutdown" or "drain" or "flush-queue")).Count > 0)
        {
            problem = "the tree held nodes the scene did not start";
        }

        return (line, problem, tree);
    }
}
