using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Diagnostics.Tracing;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Xunit;

namespace Corral.Tests.Diagnostics;

/// <summary>The platform channels: the Corral EventSource serves snapshots; the Corral meter counts.</summary>
[Collection(nameof(GlobalDiagnostics))]
public sealed class EventSourceAndMetricsTests
{
    private sealed class SnapshotListener : EventListener
    {
        private readonly SortedDictionary<int, string> _chunks = new();
        private int _count = -1;

        public TaskCompletionSource<string> Json { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<int> Hello { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "Corral")
            {
                EnableEvents(eventSource, EventLevel.Informational, EventKeywords.All, new Dictionary<string, string?> { ["command"] = "snapshot", ["requestId"] = "7" });
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventSource.Name != "Corral" || e.Payload is null)
            {
                return;
            }

            if (e.EventName == "Hello")
            {
                Hello.TrySetResult((int)e.Payload[0]!);
            }
            else if (e.EventName == "SnapshotChunk" && (int)e.Payload[0]! == 7)
            {
                lock (_chunks)
                {
                    _chunks[(int)e.Payload[1]!] = (string)e.Payload[3]!;
                    _count = (int)e.Payload[2]!;
                    if (_chunks.Count == _count)
                    {
                        Json.TrySetResult(string.Concat(_chunks.Values));
                    }
                }
            }
        }
    }

    [Fact]
    public async Task CorralEventSource_SnapshotCommand_AnswersHelloAndChunkedJson()
    {
        var name = "es-" + Guid.NewGuid().ToString("N");
        var ready = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var group = TaskGroup.RunAsync(
            g =>
            {
                g.Start(async _ => { ready.SetResult(); await release.Task; }, name + "-task");
                return Task.CompletedTask;
            },
            new TaskGroupOptions { Name = name });
        await ready.Task;

        using var listener = new SnapshotListener();
        var pid = await listener.Hello.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var json = await listener.Json.Task.WaitAsync(TimeSpan.FromSeconds(30));
        release.SetResult();
        await group;

        Assert.Equal(Environment.ProcessId, pid);
        var snapshot = TaskTreeSnapshot.FromJson(json);
        var node = Assert.Single(snapshot.FindAll(n => n.Name == name));
        Assert.Contains(node.Children, c => c.Name == name + "-task");
    }

    [Fact]
    public async Task CorralMetrics_TasksAndCancellations_Counted()
    {
        var measurements = new List<(string Instrument, long Value, string? Source)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Corral")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? source = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "source")
                {
                    source = (string?)tag.Value;
                }
            }

            lock (measurements)
            {
                measurements.Add((instrument.Name, value, source));
            }
        });
        listener.Start();

        await CancelScope.RunAsync(async outer =>
        {
            await CancelScope.RunAsync(async _ =>
            {
                await TaskGroup.RunAsync(g =>
                {
                    g.Start(ct => Task.Delay(Timeout.Infinite, ct));
                    g.Start(ct => Task.Delay(Timeout.Infinite, ct));
                    outer.Cancel("explicit");
                    return Task.CompletedTask;
                });
            });
        });
        await CancelScope.MoveOnAfterAsync(TimeSpan.Zero, _ => Task.CompletedTask);

        lock (measurements)
        {
            // Other tests may run at the same time: assert lower bounds on what this test certainly caused.
            Assert.True(measurements.Count(m => m.Instrument == "corral.tasks.started") >= 3); // 2 children + body
            Assert.Contains(measurements, m => m.Instrument == "corral.scopes.cancelled" && m.Source == "explicit");
            Assert.Contains(measurements, m => m.Instrument == "corral.scopes.cancelled" && m.Source == "deadline");
            Assert.Contains(measurements, m => m.Instrument == "corral.scopes.cancelled" && m.Source == "parent" && m.Value >= 2);
            Assert.Contains(measurements, m => m.Instrument == "corral.tasks.running" && m.Value == -1);
        }
    }
}
