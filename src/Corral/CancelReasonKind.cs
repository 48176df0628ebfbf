namespace Corral;

/// <summary>
/// What set off a cancellation: the source that <see cref="CancelReason"/> reports.
/// </summary>
public enum CancelReasonKind
{
    /// <summary><see cref="CancelScope.Cancel(string?)"/> or <see cref="TaskGroup.Cancel(string?)"/> was called.</summary>
    Requested = 0,

    /// <summary>The scope's deadline passed.</summary>
    DeadlineExceeded = 1,

    /// <summary>A task in a <see cref="TaskGroup"/> (a child or the group's body) failed, so the group cancelled the rest.</summary>
    TaskFailed = 2,

    /// <summary>A stop was requested (<see cref="CancelScope.RequestStop(System.TimeSpan, string?)"/>) and its grace period ran out
    /// before the block ended.</summary>
    StopRequested = 3,
}
