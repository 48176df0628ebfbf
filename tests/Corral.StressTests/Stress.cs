using System;
using System.Globalization;
using System.IO;
using Corral.Core;
using Xunit;

namespace Corral.StressTests;

/// <summary>Sizes and switches of the stress suite.</summary>
internal static class Stress
{
    /// <summary>True when <c>CORRAL_STRESS=1</c>: the full sizes run.</summary>
    public static bool Enabled => Environment.GetEnvironmentVariable("CORRAL_STRESS") == "1";

    /// <summary>Minutes of soak, from <c>CORRAL_SOAK_MINUTES</c>; 0 when unset.</summary>
    public static double SoakMinutes =>
        double.TryParse(Environment.GetEnvironmentVariable("CORRAL_SOAK_MINUTES"), NumberStyles.Float, CultureInfo.InvariantCulture, out var m) && m > 0 ? m : 0;

    /// <summary>Appends one line of figures to <c>stress-figures.tsv</c> beside the test assembly.</summary>
    public static void Record(string line)
    {
        try
        {
            File.AppendAllText(Path.Combine(AppContext.BaseDirectory, "stress-figures.tsv"), $"{TimeProvider.System.GetUtcNow():O}\t{line}{Environment.NewLine}");
        }
        catch (IOException)
        {
            // Figures are a convenience.
        }
    }

    /// <summary>Number of deadlines armed on a clock (white-box: the core's internal DeadlineQueue).</summary>
    public static int ArmedDeadlines(TimeProvider clock) => DeadlineQueue.For(clock).Count;
}

/// <summary>
/// A test that runs only with <c>CORRAL_STRESS=1</c> (or always, when <see cref="Short"/>); one blocked by an open core bug
/// (<see cref="KnownCoreBug"/>) is skipped as "core bug: ..." unless <c>CORRAL_RUN_KNOWN_BUGS=1</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class StressFactAttribute : FactAttribute
{
    private string? _knownCoreBug;
    private bool _short;

    public StressFactAttribute()
    {
        Update();
    }

    /// <summary>Gets or sets the open core bug that blocks this test.</summary>
    public string? KnownCoreBug
    {
        get => _knownCoreBug;
        set
        {
            _knownCoreBug = value;
            Update();
        }
    }

    /// <summary>Gets or sets a value indicating whether this is a short variant that runs in CI.</summary>
    public bool Short
    {
        get => _short;
        set
        {
            _short = value;
            Update();
        }
    }

    private void Update()
    {
        Skip = _knownCoreBug is not null && Environment.GetEnvironmentVariable("CORRAL_RUN_KNOWN_BUGS") != "1"
            ? "core bug: " + _knownCoreBug
            : !_short && !Stress.Enabled ? "full-size stress: set CORRAL_STRESS=1 (the Short variant runs in CI)" : null;
    }
}

/// <summary>A test that runs only with <c>CORRAL_SOAK_MINUTES=N</c>.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class SoakFactAttribute : FactAttribute
{
    public SoakFactAttribute()
    {
        if (Stress.SoakMinutes <= 0)
        {
            Skip = "soak: set CORRAL_SOAK_MINUTES=N (the Short variant runs in CI)";
        }
    }
}

/// <summary>
/// Runs a scenario on the thread pool, away from xunit's synchronization context: that context funnels every continuation
/// through a couple of threads (20,000 yields took 16 s instead of 0.1 s), and a scenario that blocks a thread would
/// deadlock it.
/// </summary>
internal static class OffContext
{
    public static System.Threading.Tasks.Task Run(Func<System.Threading.Tasks.Task> scenario) =>
        System.Threading.Tasks.Task.Run(scenario);
}
