using System;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Xunit;

namespace Corral.Tests.Diagnostics;

/// <summary>TaskTree.TryCancel: cancelling a live scope by the id its snapshot node shows (the dashboard's cancel action).</summary>
[Collection(nameof(GlobalDiagnostics))]
public sealed class TaskTreeTryCancelTests
{
    [Fact]
    public async Task TryCancel_LiveScopeId_CancelsItWithTheReason()
    {
        var name = Guid.NewGuid().ToString("N");
        var entered = new TaskCompletionSource<CancelScope>();
        var run = CancelScope.RunAsync(
            async scope =>
            {
                entered.SetResult(scope);
                await CancelScope.SleepAsync(TimeSpan.FromMinutes(5));
            },
            new CancelScopeOptions { Name = name });
        var scope = await entered.Task;
        var node = Assert.Single(TaskTree.Capture().FindAll(n => n.Name == name));

        Assert.True(TaskTree.TryCancel(node.Id, "operator said so"));

        await run.WaitAsync(TimeSpan.FromSeconds(30)); // absorbed: the scope's own cancel
        Assert.True(scope.CancelledCaught);
        Assert.Equal($"scope '{name}': operator said so", scope.CancelReason?.ToString());
    }

    [Fact]
    public async Task TryCancel_NestedGroupId_CancelsTheGroupAndItsTasks()
    {
        var name = Guid.NewGuid().ToString("N");
        var started = new TaskCompletionSource();
        var outer = TaskGroup.RunAsync(async g =>
        {
            g.Start(
                _ => TaskGroup.RunAsync(
                    inner =>
                    {
                        inner.Start(ct => Task.Delay(TimeSpan.FromMinutes(5), ct), "sleeper");
                        started.SetResult();
                        return Task.CompletedTask;
                    },
                    new TaskGroupOptions { Name = name }),
                "holder");
            await Task.CompletedTask;
        });
        await started.Task;
        var group = Assert.Single(TaskTree.Capture().FindAll(n => n.Name == name));

        Assert.True(TaskTree.TryCancel(group.Id, "from the dashboard"));

        await outer.WaitAsync(TimeSpan.FromSeconds(30)); // the inner group absorbs its own cancellation: nothing fails
    }

    [Fact]
    public async Task TryCancel_TaskIdOrUnknownId_ReturnsFalseAndCancelsNothing()
    {
        var name = Guid.NewGuid().ToString("N");
        var release = new TaskCompletionSource();
        var started = new TaskCompletionSource();
        var group = TaskGroup.RunAsync(
            g =>
            {
                g.Start(
                    async _ =>
                    {
                        started.SetResult();
                        await release.Task;
                    },
                    "task-" + name);
                return Task.CompletedTask;
            },
            new TaskGroupOptions { Name = name });
        await started.Task;
        var snapshot = TaskTree.Capture();
        var task = Assert.Single(snapshot.FindAll(n => n.Name == "task-" + name));

        Assert.False(TaskTree.TryCancel(task.Id, "no"));
        Assert.False(TaskTree.TryCancel(long.MaxValue, "no"));
        Assert.False(TaskTree.TryCancel(0, "no"));
        Assert.False(TaskTree.TryCancel(-1, "no"));
        var groupNode = Assert.Single(TaskTree.Capture().FindAll(n => n.Name == name));
        Assert.Equal(TaskTreeNodeState.Running, groupNode.State);

        release.SetResult();
        await group.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(TaskTree.TryCancel(groupNode.Id, "too late")); // ended: no longer live
    }
}
