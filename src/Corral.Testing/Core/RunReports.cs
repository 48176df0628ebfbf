using System;
using System.Globalization;
using System.Text;
using Corral.Diagnostics;

namespace Corral.Testing.Core;

/// <summary>The messages of a failed run: what happened, what the run's tasks were doing, and what to do.</summary>
internal static class RunReports
{
    /// <summary>A few words for a reason or a log line.</summary>
    internal static string Describe(CorralTestFailureKind kind) => kind switch
    {
        CorralTestFailureKind.Deadlock => "deadlock: every task waits and no timer is pending",
        CorralTestFailureKind.Timeout => "the run's real-time limit passed",
        CorralTestFailureKind.SchedulerBlocked => "the scheduler thread is blocked in a synchronous wait",
        _ => "the body failed",
    };

    internal static string Deadlock(TestRun run, TaskTreeSnapshot? tree)
    {
        var text = new StringBuilder();
        text.Append("Deadlock: every task of the test run is waiting, no timer is pending on its clock and no other thread is ")
            .Append("running its code, so nothing can ever wake any of them.");
        AppendState(text, run);
        AppendTree(text, tree);
        text.AppendLine()
            .Append("If a task waits for something outside the run — real I/O, a TimeProvider.System timer (Task.Delay without the ")
            .Append("clock), a thread started with ExecutionContext flow suppressed — give that wait the run's clock, or raise ")
            .Append("CorralTestOptions.AutojumpThreshold so the run stays quiet that long in real time before it calls a deadlock.");
        return text.ToString();
    }

    internal static string TimedOut(TestRun run, TaskTreeSnapshot? tree, TimeSpan timeout)
    {
        var (_, foreign, _) = run.Activity();
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"The test run neither finished nor deadlocked within {timeout} of real time ")
            .Append("(CorralTestOptions.Timeout). ");
        text.Append(
            foreign > 0
                ? string.Create(
                    CultureInfo.InvariantCulture,
                    $"{foreign} thread(s) outside the scheduler were still running the run's code (a Task.Run loop, a thread blocked in a synchronous wait?).")
                : run.Jumps > 0
                    ? "Its clock kept jumping: a timer keeps firing (a periodic timer, a retry loop without an end) while the rest waits."
                    : "Its tasks kept running without ever waiting for all of them at once.");
        AppendState(text, run);
        AppendTree(text, tree);
        return text.ToString();
    }

    internal static string SchedulerBlocked(TestRun run, TaskTreeSnapshot? tree, TimeSpan limit)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"The test run's scheduler thread has been blocked in a synchronous wait for {limit} ")
            .Append("(.Result, .Wait(), GetAwaiter().GetResult(), Thread.Sleep, a contended lock). Every continuation of the run ")
            .Append("runs on that one thread, so what it waits for may never come. Use await instead; the thread was interrupted, ")
            .Append("so the blocked call threw ThreadInterruptedException.");
        AppendState(text, run);
        AppendTree(text, tree);
        return text.ToString();
    }

    internal static string FailedWithSeed(int seed, Exception failure) =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"The test run failed with scheduling seed {seed}; replay the same order with new CorralTestOptions {{ Seed = {seed} }}. ") +
        $"{failure.GetType().Name}: {failure.Message}";

    private static void AppendState(StringBuilder text, TestRun run)
    {
        var (ready, foreign, waiters) = run.Activity();
        text.AppendLine().AppendLine()
            .Append(CultureInfo.InvariantCulture, $"Virtual time: {run.Clock} after {run.Jumps} jump(s); real time: {run.RealElapsed.TotalSeconds:0.###} s; ")
            .Append(CultureInfo.InvariantCulture, $"scheduling: {(run.Seed is { } seed ? $"seed {seed}" : "first in, first out")}; ")
            .Append(CultureInfo.InvariantCulture, $"ready tasks: {ready}; other threads in the run: {foreign}; ")
            .Append(CultureInfo.InvariantCulture, $"armed timers: {run.Clock.ArmedTimerCount}; WaitAllTasksBlockedAsync waiters: {waiters}.");
    }

    private static void AppendTree(StringBuilder text, TaskTreeSnapshot? tree)
    {
        text.AppendLine().AppendLine().AppendLine("What the run's tasks were doing (the task tree):");
        text.Append(tree is null ? "(the run's root scope was not in the tree)" + Environment.NewLine : tree.ToText());
    }
}
