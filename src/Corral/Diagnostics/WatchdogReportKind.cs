namespace Corral.Diagnostics;

/// <summary>What a <see cref="WatchdogReport"/> is about.</summary>
public enum WatchdogReportKind
{
    /// <summary>The task is still running, the grace period (or a later interval) after its scope was cancelled.</summary>
    StillRunning = 0,

    /// <summary>A task reported before has finally ended.</summary>
    FinishedLate = 1,
}
