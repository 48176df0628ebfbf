using System;
using System.Globalization;
using System.IO;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Microsoft.Coyote;
using Microsoft.Coyote.SystematicTesting;
using Xunit;
using Xunit.Abstractions;

namespace Corral.CoyoteTests;

/// <summary>
/// Runs one race under Coyote's systematic scheduler, in process, over the rewritten Corral.dll.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>CI: <see cref="CiIterations"/> schedules per race (at least 1,000). <c>CORRAL_STRESS=1</c>: <see cref="StressIterations"/>;
/// <c>CORRAL_COYOTE_ITERATIONS=N</c> sets any number.</item>
/// <item>Interleaving points: locks, Interlocked and plain field accesses of the rewritten code. Volatile reads and writes are
/// not (2026-12-07): a rewritten Volatile.Read paused a continuation Coyote does not control (a child's end, run by the real
/// thread pool, through either of its two routes: the shared context-flowing one and the bound delegate), Coyote interrupted
/// it at the end of the iteration, and the unhandled ThreadInterruptedException crashed the test host in 3 of 4 clean CI runs
/// (CoreBugTests.StartAsync_StartedAsTheChildEnds_…).</item>
/// <item>How a continuation escapes (read from Coyote 1.7.11): its rewritten <c>ConfigureAwait(false)</c> awaiter keeps a
/// continuation under control only by capturing the context, which it does when the awaiter is created on a thread whose
/// SynchronizationContext is Coyote's. An awaiter created anywhere else registers a plain continuation, and when the task
/// completes on a controlled thread the runtime may not inline it there (a thread with a SynchronizationContext is no place
/// to inline), so it queues it to the real thread pool. Which registration of the StartAsync race is made off Coyote's
/// context is not yet found; turn Volatile interleavings back on once it is.</item>
/// <item>Corral is the Debug build: its AssertInvariants run in every locked and CAS region of every schedule, and a failed one
/// is a bug of that schedule (<see cref="DebugAssertions"/>).</item>
/// <item>The seed is fixed (<c>CORRAL_COYOTE_SEED</c> overrides it), so a CI failure replays the same schedules.</item>
/// <item>Each run appends its figures to <c>coyote-figures.tsv</c> in the output folder; docs/reliability.md quotes them.</item>
/// </list>
/// </remarks>
internal static class Explore
{
    public const int CiIterations = 1_000;

    public const int StressIterations = 100_000;

    public static bool Stress => Environment.GetEnvironmentVariable("CORRAL_STRESS") == "1";

    public static int Iterations =>
        int.TryParse(Environment.GetEnvironmentVariable("CORRAL_COYOTE_ITERATIONS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : Stress ? StressIterations : CiIterations;

    private static uint Seed =>
        uint.TryParse(Environment.GetEnvironmentVariable("CORRAL_COYOTE_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : 20_251_124u;

    /// <summary>Explores <paramref name="test"/> and fails with Coyote's bug report and a reproducible trace if any schedule breaks it.</summary>
    public static void Run(ITestOutputHelper output, Func<Task> test, int? iterations = null, [CallerMemberName] string name = "")
    {
        // The watchdog checks on a real timer of TimeProvider.System (once a test has cancelled a group), on a thread Coyote
        // does not control. Coyote's rewritten locks do not exclude such a thread from the controlled ones, so its check
        // raced the tests' groups on the watchdog's own set and crashed the test host (a NullReferenceException in
        // Watchdog.CheckNow aborted the run after 6 of 15 tests). No race explored here involves the watchdog: off.
        Watchdog.Configure(new WatchdogOptions { Enabled = false });

        // Corral's invariants are debug assertions in every locked and CAS region: a failed one fails this schedule.
        DebugAssertions.Install();
        var n = iterations ?? Iterations;
        var configuration = Configuration.Create()
            .WithTestingIterations((uint)n)
            .WithRandomGeneratorSeed(Seed)
            .WithPrioritizationStrategy(isFair: false, priorityChangeBound: 10)
            .WithMaxSchedulingSteps(20_000)
            .WithLockAccessRaceCheckingEnabled(true)
            .WithAtomicOperationRaceCheckingEnabled(true)
            .WithVolatileOperationRaceCheckingEnabled(false)
            .WithMemoryAccessRaceCheckingEnabled(true)
            .WithPotentialDeadlocksReportedAsBugs(true)
            .WithTelemetryEnabled(false);
        var started = TimeProvider.System.GetTimestamp();
        using var engine = TestingEngine.Create(configuration, test);
        engine.Run();
        var report = engine.TestReport;
        var elapsed = TimeProvider.System.GetElapsedTime(started);
        var schedules = report.NumOfExploredFairPaths + report.NumOfExploredUnfairPaths;
        var line = string.Create(
            CultureInfo.InvariantCulture,
            $"{name}\t{schedules}\t{report.NumOfFoundBugs}\t{report.MaxExploredUnfairSteps}\t{report.MaxControlledOperations}\t{elapsed.TotalSeconds:F1}");
        output.WriteLine($"schedules={schedules} bugs={report.NumOfFoundBugs} maxSteps={report.MaxExploredUnfairSteps} maxOps={report.MaxControlledOperations} {elapsed.TotalSeconds:F1}s");
        try
        {
            File.AppendAllText(Path.Combine(AppContext.BaseDirectory, "coyote-figures.tsv"), line + Environment.NewLine);
        }
        catch (IOException)
        {
            // Figures are a convenience; never fail a test over them.
        }

        if (report.NumOfFoundBugs > 0)
        {
            var bugs = string.Join(Environment.NewLine, report.BugReports);
            output.WriteLine(bugs);
            output.WriteLine(engine.ReproducibleTrace);
            Assert.Fail($"Coyote found a bug in {name} after {schedules} schedules:{Environment.NewLine}{bugs}");
        }

        Assert.True(schedules >= Math.Min(n, 1), $"Coyote explored no schedule for {name}");
    }
}
