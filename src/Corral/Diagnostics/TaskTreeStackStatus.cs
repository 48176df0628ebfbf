namespace Corral.Diagnostics;

/// <summary>What a <see cref="TaskTreeStackTrace"/> could tell about a task when the snapshot was taken.</summary>
public enum TaskTreeStackStatus
{
    /// <summary>The task is suspended: every frame is at an <c>await</c>, and <see cref="TaskTreeStackTrace.Awaiting"/> says what the innermost one waits for.</summary>
    Suspended,

    /// <summary>The innermost frame is running on a thread right now (or about to): its line is not known, and it awaits nothing.</summary>
    Running,

    /// <summary>The frames could not be read (see <see cref="TaskTreeStackTrace.Note"/>): the runtime's shapes were not recognised, or the task moved on.</summary>
    Unavailable,
}
