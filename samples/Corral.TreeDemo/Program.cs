// A target for the `corral` tool: it builds a small live task tree, prints "ready", and holds it until its standard
// input closes (or 60 seconds pass), then winds down and exits 0.
//
// The tree it holds:
//   group 'tree-demo'                      running
//   ├── task 'heartbeat'                   running   (a loop of checkpoints)
//   ├── task 'orders-poller'               running
//   │   └── scope 'poll-orders'            running, deadline in 10 minutes
//   └── task 'shutdown'                    running
//       └── group 'drain'                  cancelling: cancel called with "draining for shutdown"
//           └── task 'stubborn-loop'       cancelling: catches every cancellation and goes on
// The watchdog is set to a short grace period, so it names 'stubborn-loop' (on standard error) before "ready".
//
// Arguments:  --plain        print "ready" and wait the same way without touching Corral at all: a .NET process that
//                            is not a Corral process, for the tool's negative tests.
//             --no-watchdog  the same tree with the watchdog off. (Until the library creates its EventSource eagerly,
//                            such a process does not answer the tool: today the first watchdog report is what creates
//                            it. Corral.Tools.Tests keeps a skipped test for this.)
using System;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;

namespace Corral.TreeDemo;

internal static class Program
{
    /// <summary>The longest the demo lives when nobody closes its standard input.</summary>
    private static readonly TimeSpan s_lifetime = TimeSpan.FromSeconds(60);

    public static async Task<int> Main(string[] args)
    {
        var stop = StopSignal();
        if (args.Length > 0 && args[0] == "--plain")
        {
            Console.WriteLine("ready");
            await stop;
            return 0;
        }

        return await RunTreeAsync(stop, watchdog: !(args.Length > 0 && args[0] == "--no-watchdog"));
    }

    /// <summary>Completes when standard input closes or the lifetime has passed.</summary>
    private static Task StopSignal()
    {
        var stdinClosed = Task.Run(async () =>
        {
            using var stdin = Console.OpenStandardInput();
            var buffer = new byte[256];
            while (await stdin.ReadAsync(buffer) > 0)
            {
            }
        });
        return Task.WhenAny(stdinClosed, Task.Delay(s_lifetime));
    }

    private static async Task<int> RunTreeAsync(Task stop, bool watchdog)
    {
        var named = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Watchdog.Configure(new WatchdogOptions { GracePeriod = TimeSpan.FromMilliseconds(200), Enabled = watchdog });
        Watchdog.TaskReported += (_, report) =>
        {
            if (report.Kind == WatchdogReportKind.StillRunning && report.ReportNumber == 1)
            {
                Console.Error.WriteLine($"watchdog: {report}");
                named.TrySetResult();
            }
        };

        await TaskGroup.RunAsync(
            async demo =>
            {
                demo.Start(HeartbeatAsync, "heartbeat");
                demo.Start(
                    _ => CancelScope.RunAsync(
                        _ => CancelScope.SleepAsync(Timeout.InfiniteTimeSpan),
                        new CancelScopeOptions { Name = "poll-orders", Timeout = TimeSpan.FromMinutes(10) }),
                    "orders-poller");
                demo.Start(
                    _ => TaskGroup.RunAsync(
                        drain =>
                        {
                            drain.Start(_ => StubbornLoopAsync(stop), "stubborn-loop");
                            drain.Cancel("draining for shutdown");
                            return Task.CompletedTask;
                        },
                        new TaskGroupOptions { Name = "drain" }),
                    "shutdown");

                if (watchdog)
                {
                    await named.Task.WaitAsync(TimeSpan.FromSeconds(30));
                }

                Console.WriteLine("ready");
                await stop;
                demo.Cancel("demo over");
            },
            new TaskGroupOptions { Name = "tree-demo" });
        return 0;
    }

    private static async Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await CancelScope.SleepAsync(TimeSpan.FromMilliseconds(500)); // @await:heartbeat
        }
    }

    /// <summary>The article's stubborn loop: "cancelled? no thanks" — until the demo is told to stop.</summary>
    private static async Task StubbornLoopAsync(Task stop)
    {
        while (!stop.IsCompleted)
        {
            try
            {
                await CancelScope.SleepAsync(TimeSpan.FromSeconds(1));
            }
            catch (OperationCanceledException)
            {
                await Task.WhenAny(stop, Task.Delay(100)); // @await:stubborn  swallow the cancellation and go round again
            }
        }
    }
}
