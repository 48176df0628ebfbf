using System;
using System.Collections.Generic;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Corral.Dashboard;
using Corral.Diagnostics;

namespace Corral.Benchmarks;

/// <summary>
/// What one dashboard update costs the server (issue 17) with a live tree of about 10,000 nodes: 99 groups of 100 parked
/// tasks, each group in a task of one root group.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>Update</c> is the whole per-update work of the hub, done once per update whatever the number of open pages:
/// capture the tree, count its tasks, write its JSON, build the server-sent event.</item>
/// <item>The raw baseline is System.Text.Json serializing the same nodes (the same fields and values, taken from a
/// snapshot into plain records) to UTF-8: the floor for sending that much data, with no tree to walk.</item>
/// <item><c>Capture</c> and <c>CaptureAndJson</c> split the update into its parts (<c>ToJson</c> is the public string form;
/// the update writes the snapshot straight into its frame instead).</item>
/// <item><c>Frame</c> is the update's writing alone: one snapshot, taken in the setup, written into a frame as the hub does
/// (the previous frame's length as the size hint): the same work as the raw baseline, from Corral's snapshot.</item>
/// </list>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "GlobalCleanup disposes the source; BenchmarkDotNet needs an unsealed class.")]
public class DashboardUpdate
{
    /// <summary>Inner groups in the tree.</summary>
    public const int Groups = 99;

    /// <summary>Parked tasks per inner group.</summary>
    public const int TasksPerGroup = 100;

    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _tree;
    private InProcessSource? _source;
    private PlainNode[] _plain = [];
    private DashboardCapture? _capture;
    private int _frameLength;

    /// <summary>Gets the number of nodes in the tree (printed by the setup, quoted in the report).</summary>
    public int Nodes { get; private set; }

    [GlobalSetup]
    public void Setup()
    {
        var started = new CountdownEvent(Groups);
        _tree = TaskGroup.RunAsync(
            root =>
            {
                for (var g = 0; g < Groups; g++)
                {
                    var name = "group-" + g;
                    root.Start(
                        _ => TaskGroup.RunAsync(
                            inner =>
                            {
                                for (var t = 0; t < TasksPerGroup; t++)
                                {
                                    inner.Start(_ => _release.Task, "task-" + t);
                                }

                                started.Signal();
                                return Task.CompletedTask;
                            },
                            new TaskGroupOptions { Name = name }),
                        "holder-" + g);
                }

                return _release.Task;
            },
            new TaskGroupOptions { Name = "dashboard-bench" });
        started.Wait(TimeSpan.FromSeconds(60));
        var snapshot = TaskTree.Capture();
        Nodes = snapshot.FindAll(static _ => true).Count;
        Console.WriteLine($"// DashboardUpdate: {Nodes} nodes in the tree");
        _plain = [.. ToPlain(snapshot.Roots)];
        _source = new InProcessSource();
        _source.StartWatching();
        _capture = _source.CaptureAsync(CancellationToken.None).GetAwaiter().GetResult();
        _frameLength = Frame().Length;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _source?.StopWatching();
        _source?.Dispose();
        _source = null;
        _release.TrySetResult();
        _tree?.GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, Description = "System.Text.Json serializes the same 10,000 nodes (plain records) to UTF-8")]
    public byte[] Raw() => JsonSerializer.SerializeToUtf8Bytes(_plain, PlainJson.Default.PlainNodeArray);

    [Benchmark(Description = "TaskTree.Capture()")]
    public TaskTreeSnapshot Capture() => TaskTree.Capture();

    [Benchmark(Description = "TaskTree.Capture().ToJson()")]
    public string CaptureAndJson() => TaskTree.Capture().ToJson();

    [Benchmark(Description = "one frame: a snapshot's JSON written into a server-sent event")]
    public ReadOnlyMemory<byte> Frame() =>
        DashboardFrame.Build(1, "bench", false, TimeSpan.FromSeconds(1), _capture, null, "running", [(0, _capture!.ChartValue)], _frameLength);

    [Benchmark(Description = "one dashboard update: capture, count, JSON, server-sent event")]
    public ReadOnlyMemory<byte> Update()
    {
        var capture = _source!.CaptureAsync(CancellationToken.None).GetAwaiter().GetResult();
        return DashboardFrame.Build(1, "bench", false, TimeSpan.FromSeconds(1), capture, null, "running", [(0, capture.ChartValue)], _frameLength);
    }

    private static IEnumerable<PlainNode> ToPlain(IReadOnlyList<TaskTreeNode> nodes)
    {
        foreach (var n in nodes)
        {
            yield return new PlainNode(
                n.Id,
                n.Kind.ToString(),
                n.Name,
                n.Site,
                n.State.ToString(),
                Math.Round(n.Age.TotalMilliseconds, 3),
                n.Deadline,
                n.Shield,
                n.CancelCalled,
                n.CancelReason,
                n.CancelledFor?.TotalMilliseconds,
                [.. ToPlain(n.Children)]);
        }
    }
}

/// <summary>A node as a plain record: what the raw baseline serializes.</summary>
public sealed record PlainNode(
    long Id,
    string Kind,
    string? Name,
    string? Site,
    string State,
    double AgeMs,
    DateTimeOffset? Deadline,
    bool Shield,
    bool CancelCalled,
    string? CancelReason,
    double? CancelledForMs,
    PlainNode[] Children);
