using System;
using System.Linq;
using Corral.Diagnostics;
using Xunit;

namespace Corral.Tests.Diagnostics;

/// <summary>Stacks in the snapshot's two renderings: the text tree and the JSON schema corral.tasktree/2.</summary>
public sealed class TaskTreeSnapshotStackTests
{
    private const string Version1 = """
        {"schema":"corral.tasktree/1","takenAt":"2026-01-01T00:00:00+00:00","processId":7,"roots":[
          {"id":1,"kind":"taskGroup","name":"g","site":"a.cs:1","state":"running","ageMs":10,"deadline":null,"shield":false,
           "cancelCalled":false,"cancelReason":null,"cancelledForMs":null,"children":[
             {"id":2,"kind":"task","name":"t","site":"a.cs:2","state":"running","ageMs":9,"deadline":null,"shield":false,
              "cancelCalled":false,"cancelReason":null,"cancelledForMs":null,"children":[]}]}]}
        """;

    [Fact]
    public void ToJson_StacksRoundTrip_EveryFieldOfFramesAndAwaiting()
    {
        var snapshot = Sample();

        var json = snapshot.ToJson(indented: true);
        var back = TaskTreeSnapshot.FromJson(json);

        Assert.Contains("\"schema\": \"corral.tasktree/2\"", json, StringComparison.Ordinal);
        var task = back.Roots[0].Children[0];
        var stack = Assert.IsType<TaskTreeStackTrace>(task.Stack);
        Assert.Equal(TaskTreeStackStatus.Suspended, stack.Status);
        Assert.Equal(
            [("Exporter.FlushAsync", TaskTreeFrameKind.Method, "Shop.Exporter", "/src/Shop/Exporter.cs", (int?)57, (int?)13), ("Program.Main", TaskTreeFrameKind.Lambda, "Shop.Program", "/src/Shop/Program.cs", 12, 9)],
            stack.Frames.Select(f => (f.Method, f.Kind, f.TypeFullName, f.File, f.Line, f.Column)));
        var awaiting = Assert.IsType<TaskTreeAwait>(stack.Awaiting);
        Assert.Equal((TaskTreeAwaitKind.Delay, "Task.Delay (1.2s left, without a token)", (TimeSpan?)TimeSpan.FromMilliseconds(1200), (long?)null, "Task.Delay"), (awaiting.Kind, awaiting.Description, awaiting.TimeLeft, awaiting.TargetId, awaiting.Call));
        Assert.Null(back.Roots[0].Stack);
        Assert.Equal(snapshot.ToText(), back.ToText());
    }

    [Fact]
    public void FromJson_Version1_ReadsWithoutStacks()
    {
        var snapshot = TaskTreeSnapshot.FromJson(Version1);

        var task = Assert.Single(snapshot.Roots[0].Children);
        Assert.Equal("t", task.Name);
        Assert.Null(task.Stack);
    }

    [Fact]
    public void FromJson_NewerSchema_FormatExceptionNamingBoth()
    {
        var e = Assert.Throws<FormatException>(() => TaskTreeSnapshot.FromJson(Version1.Replace("corral.tasktree/1", "corral.tasktree/3", StringComparison.Ordinal)));

        Assert.Contains("'corral.tasktree/3'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'corral.tasktree/2'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromJson_AwaitKindOfANewerWriter_ReadsAsOther()
    {
        var json = Sample().ToJson().Replace("\"kind\":\"delay\"", "\"kind\":\"quantumEntanglement\"", StringComparison.Ordinal);

        var awaiting = TaskTreeSnapshot.FromJson(json).Roots[0].Children[0].Stack!.Awaiting!;

        Assert.Equal(TaskTreeAwaitKind.Other, awaiting.Kind);
        Assert.Equal("Task.Delay (1.2s left, without a token)", awaiting.Description);
    }

    [Fact]
    public void ToText_Stack_AwaitingThenFramesInnermostFirstUnderTheTask()
    {
        var text = Sample().ToText();

        Assert.Contains(
            "    └── task 'exporter' cancelling 2.0s at Program.cs:12\n" +
            "          awaiting Task.Delay (1.2s left, without a token)\n" +
            "          at Exporter.FlushAsync (Exporter.cs:57)\n" +
            "          at lambda in Program.Main (Program.cs:12)\n",
            text,
            StringComparison.Ordinal);
    }

    [Fact]
    public void ToText_RunningAndUnavailableStacks_SayWhy()
    {
        var running = new TaskTreeStackTrace(TaskTreeStackStatus.Running, [new TaskTreeFrame("Worker.SpinAsync", TaskTreeFrameKind.Method, null, null, null, null)], null, null);
        var unavailable = new TaskTreeStackTrace(TaskTreeStackStatus.Unavailable, [], null, "frames unavailable: something changed");
        var text = new TaskTreeSnapshot(DateTimeOffset.UnixEpoch, 1, [Task(1, "a", running), Task(2, "b", unavailable)]).ToText();

        Assert.Contains("running on a thread now\n", text, StringComparison.Ordinal);
        Assert.Contains("at Worker.SpinAsync (line unknown)\n", text, StringComparison.Ordinal);
        Assert.Contains("(frames unavailable: something changed)\n", text, StringComparison.Ordinal);
    }

    private static TaskTreeNode Task(long id, string name, TaskTreeStackTrace stack) =>
        new(id, TaskTreeNodeKind.Task, name, null, TaskTreeNodeState.Running, TimeSpan.FromSeconds(1), null, false, false, null, null, [], stack);

    private static TaskTreeSnapshot Sample()
    {
        var stack = new TaskTreeStackTrace(
            TaskTreeStackStatus.Suspended,
            [
                new TaskTreeFrame("Exporter.FlushAsync", TaskTreeFrameKind.Method, "Shop.Exporter", "/src/Shop/Exporter.cs", 57, 13),
                new TaskTreeFrame("Program.Main", TaskTreeFrameKind.Lambda, "Shop.Program", "/src/Shop/Program.cs", 12, 9),
            ],
            new TaskTreeAwait(TaskTreeAwaitKind.Delay, "Task.Delay (1.2s left, without a token)", TimeSpan.FromMilliseconds(1200), null, "Task.Delay"),
            null);
        var task = new TaskTreeNode(2, TaskTreeNodeKind.Task, "exporter", "Program.cs:12", TaskTreeNodeState.Cancelling, TimeSpan.FromSeconds(2), null, false, false, null, null, [], stack);
        var group = new TaskTreeNode(1, TaskTreeNodeKind.TaskGroup, "export", "Program.cs:10", TaskTreeNodeState.Cancelling, TimeSpan.FromSeconds(2), null, false, true, "stop", null, [task]);
        return new TaskTreeSnapshot(DateTimeOffset.UnixEpoch, 7, [group]);
    }
}
