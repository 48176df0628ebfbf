using System;
using System.Linq;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.Tests.Diagnostics;

/// <summary>The live task tree: what a snapshot shows, and its text and JSON renderings.</summary>
[Collection(nameof(GlobalDiagnostics))]
public sealed class TaskTreeTests
{
    [Fact]
    public async Task Capture_GroupWithTasksAndScopes_ShowsShapeNamesSitesAndStates()
    {
        var time = new FakeTimeProvider();
        var ready = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        TaskTreeSnapshot? snapshot = null;
        var root = Guid.NewGuid().ToString("N");
        await CancelScope.RunAsync(
            async _ =>
            {
                await TaskGroup.RunAsync(
                    async g =>
                    {
                        g.Start(_ => release.Task, "waiter"); // ignores its token: still there after the cancel
                        g.Start(
                            async _ =>
                            {
                                await CancelScope.RunAsync(
                                    async inner =>
                                    {
                                        ready.SetResult();
                                        await release.Task;
                                    },
                                    new CancelScopeOptions { Name = "inner-scope", Timeout = TimeSpan.FromSeconds(30) });
                            },
                            "worker");
                        await ready.Task;
                        time.Advance(TimeSpan.FromSeconds(2));
                        g.Cancel("test over");
                        time.Advance(TimeSpan.FromSeconds(1));
                        snapshot = TaskTree.Capture();
                        release.SetResult();
                    },
                    new TaskGroupOptions { Name = "g-" + root });
            },
            new CancelScopeOptions { Name = root, TimeProvider = time });

        var scope = Assert.Single(snapshot!.FindAll(n => n.Name == root));
        var group = Assert.Single(scope.Children);
        Assert.Equal(TaskTreeNodeKind.TaskGroup, group.Kind);
        Assert.Equal(TaskTreeNodeState.Cancelling, group.State);
        Assert.True(group.CancelCalled);
        Assert.Equal($"scope 'g-{root}': test over", group.CancelReason);
        Assert.StartsWith("TaskTreeTests.cs:", group.Site, StringComparison.Ordinal);

        Assert.Equal(["body", "waiter", "worker"], group.Children.Select(c => c.Name));
        var worker = group.Children[2];
        Assert.Equal(TaskTreeNodeKind.Task, worker.Kind);
        Assert.Equal(TaskTreeNodeState.Cancelling, worker.State);
        Assert.Equal(TimeSpan.FromSeconds(3), worker.Age);
        Assert.Equal(TimeSpan.FromSeconds(1), worker.CancelledFor);
        Assert.False(worker.CancelCalled);
        Assert.StartsWith("TaskTreeTests.cs:", worker.Site, StringComparison.Ordinal);

        var inner = Assert.Single(worker.Children);
        Assert.Equal("inner-scope", inner.Name);
        Assert.Equal(TaskTreeNodeKind.Scope, inner.Kind);
        Assert.Equal(time.Start + TimeSpan.FromSeconds(30), inner.Deadline);
        Assert.False(inner.CancelCalled);
        Assert.Equal(TaskTreeNodeState.Cancelling, inner.State);
    }

    [Fact]
    public async Task Capture_NamedTimeoutAndShieldScopes_ShowTheirNamesKindsAndDeadlines()
    {
        var time = new FakeTimeProvider();
        var root = Guid.NewGuid().ToString("N");
        TaskTreeSnapshot? snapshot = null;
        await CancelScope.RunAsync(
            async _ =>
            {
                await CancelScope.FailAfterAsync(
                    TimeSpan.FromSeconds(30),
                    async _ =>
                    {
                        await CancelScope.MoveOnAtAsync(
                            time.GetUtcNow() + TimeSpan.FromSeconds(10),
                            async _ =>
                            {
                                await CancelScope.ShieldAsync(
                                    _ =>
                                    {
                                        snapshot = TaskTree.Capture();
                                        return Task.CompletedTask;
                                    },
                                    TimeSpan.FromSeconds(2),
                                    root + "-close");
                            },
                            root + "-poll");
                    },
                    root + "-fetch");
            },
            new CancelScopeOptions { TimeProvider = time });

        var fetch = Assert.Single(snapshot!.FindAll(n => n.Name == root + "-fetch"));
        Assert.Equal(TaskTreeNodeKind.Scope, fetch.Kind);
        Assert.Equal(time.Start + TimeSpan.FromSeconds(30), fetch.Deadline);

        var poll = Assert.Single(fetch.Children);
        Assert.Equal(root + "-poll", poll.Name);
        Assert.Equal(TaskTreeNodeKind.Scope, poll.Kind);
        Assert.Equal(time.Start + TimeSpan.FromSeconds(10), poll.Deadline);

        var close = Assert.Single(poll.Children);
        Assert.Equal(root + "-close", close.Name);
        Assert.Equal(TaskTreeNodeKind.Shield, close.Kind);
        Assert.True(close.Shield);
        Assert.Equal(time.Start + TimeSpan.FromSeconds(2), close.Deadline);

        var text = new TaskTreeSnapshot(snapshot.TakenAt, snapshot.ProcessId, [fetch]).ToText();
        Assert.Contains($"scope '{root}-fetch' running", text, StringComparison.Ordinal);
        Assert.Contains($"scope '{root}-poll' running", text, StringComparison.Ordinal);
        Assert.Contains($"shield '{root}-close' running", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Capture_AfterEverythingEnded_NothingOfOursLeft()
    {
        var name = Guid.NewGuid().ToString("N");
        await TaskGroup.RunAsync(
            g =>
            {
                g.Start(_ => Task.CompletedTask, name + "-child");
                return Task.CompletedTask;
            },
            new TaskGroupOptions { Name = name });

        var snapshot = TaskTree.Capture();
        Assert.Empty(snapshot.FindAll(n => n.Name?.StartsWith(name, StringComparison.Ordinal) == true));
    }

    [Fact]
    public async Task ToText_NestedTree_DrawsBranchesAndReasons()
    {
        var name = Guid.NewGuid().ToString("N");
        TaskTreeSnapshot? snapshot = null;
        var release = new TaskCompletionSource();
        await TaskGroup.RunAsync(
            async g =>
            {
                g.Start(_ => release.Task, "sleeper");
                g.Cancel("enough");
                snapshot = TaskTree.Capture();
                release.SetResult();
                await Task.CompletedTask;
            },
            new TaskGroupOptions { Name = name });

        var ours = new TaskTreeSnapshot(snapshot!.TakenAt, snapshot.ProcessId, snapshot.FindAll(n => n.Name == name));
        var text = ours.ToText();
        Assert.Contains($"└── group '{name}' cancelling", text, StringComparison.Ordinal);
        Assert.Contains("├── task 'body' cancelling", text, StringComparison.Ordinal);
        Assert.Contains("└── task 'sleeper' cancelling", text, StringComparison.Ordinal);
        Assert.Contains("(from above: scope '" + name + "': enough)", text, StringComparison.Ordinal);
    }

    [Fact]
    public void ToJson_RoundTrip_PreservesEveryField()
    {
        var leaf = new TaskTreeNode(7, TaskTreeNodeKind.Task, "leaf", "a.cs:3", TaskTreeNodeState.Cancelling, TimeSpan.FromMilliseconds(1500),
            null, false, false, "deadline exceeded", TimeSpan.FromMilliseconds(250), []);
        var root = new TaskTreeNode(3, TaskTreeNodeKind.Shield, null, null, TaskTreeNodeState.Running, TimeSpan.FromSeconds(2),
            DateTimeOffset.UnixEpoch.AddDays(1), true, true, "why", null, [leaf]);
        var snapshot = new TaskTreeSnapshot(DateTimeOffset.UnixEpoch, 42, [root]);

        var back = TaskTreeSnapshot.FromJson(snapshot.ToJson(indented: true));

        Assert.Equal(42, back.ProcessId);
        Assert.Equal(DateTimeOffset.UnixEpoch, back.TakenAt);
        var r = Assert.Single(back.Roots);
        Assert.Equal((3L, TaskTreeNodeKind.Shield, (string?)null, TaskTreeNodeState.Running, true, true, "why"), (r.Id, r.Kind, r.Name, r.State, r.Shield, r.CancelCalled, r.CancelReason));
        Assert.Equal(DateTimeOffset.UnixEpoch.AddDays(1), r.Deadline);
        var l = Assert.Single(r.Children);
        Assert.Equal(("leaf", "a.cs:3", TimeSpan.FromMilliseconds(1500), TimeSpan.FromMilliseconds(250)), (l.Name, l.Site, l.Age, l.CancelledFor!.Value));
        Assert.Equal(snapshot.ToText(), back.ToText());
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("not json")]
    [InlineData("{\"schema\":\"corral.tasktree/99\",\"takenAt\":\"2020-01-01T00:00:00Z\",\"processId\":1,\"roots\":[]}")]
    public void FromJson_NotASnapshot_ThrowsFormatException(string json)
    {
        Assert.Throws<FormatException>(() => TaskTreeSnapshot.FromJson(json));
    }

    [Fact]
    public void ToText_EmptySnapshot_SaysSo()
    {
        Assert.Contains("(no live scopes or tasks)", new TaskTreeSnapshot(DateTimeOffset.UnixEpoch, 1, []).ToText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Capture_NestingDeeperThanMaxDepth_Summarised()
    {
        var name = Guid.NewGuid().ToString("N");
        TaskTreeSnapshot? snapshot = null;
        async Task NestAsync(int depth)
        {
            if (depth == 0)
            {
                snapshot = TaskTree.Capture();
                return;
            }

            await CancelScope.RunAsync(_ => NestAsync(depth - 1), new CancelScopeOptions { Name = depth == 300 ? name : null });
        }

        await NestAsync(300);
        var top = Assert.Single(snapshot!.FindAll(n => n.Name == name));
        Assert.Single(new TaskTreeSnapshot(snapshot.TakenAt, 1, [top]).FindAll(n => n.Name?.Contains("omitted", StringComparison.Ordinal) == true));
        Assert.NotNull(TaskTreeSnapshot.FromJson(new TaskTreeSnapshot(snapshot.TakenAt, 1, [top]).ToJson()));
    }

    [Fact]
    public async Task TrackingEnabled_Off_TasksRunInTheGroupScopeAndStayOutOfTheTree()
    {
        var name = "untracked-" + Guid.NewGuid().ToString("N");
        TaskTreeSnapshot? snapshot = null;
        CancelScope? seenInChild = null;
        TaskTree.TrackingEnabled = false;
        try
        {
            var release = new TaskCompletionSource();
            await TaskGroup.RunAsync(
                async g =>
                {
                    g.Start(async _ => { seenInChild = CancelScope.Current; await release.Task; }, "hidden");
                    snapshot = TaskTree.Capture();
                    release.SetResult();
                    await Task.CompletedTask;
                },
                new TaskGroupOptions { Name = name });
        }
        finally
        {
            TaskTree.TrackingEnabled = true;
        }

        var group = Assert.Single(snapshot!.FindAll(n => n.Name == name));
        Assert.Empty(group.Children);
        Assert.NotNull(seenInChild);
        Assert.Equal(name, seenInChild!.Name);
    }
}
