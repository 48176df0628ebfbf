namespace Corral;

/// <summary>Where a <see cref="TaskGroup"/> runs a new child until its first incomplete await.</summary>
public enum ChildStartMode
{
    /// <summary>
    /// On the calling thread, inside <c>Start</c>, like calling an async method directly: the cheapest start, and the order of
    /// starts is the order children first run. A child that computes before its first await delays the caller that long.
    /// </summary>
    Inline = 0,

    /// <summary>On the thread pool, like <c>Task.Run</c>: <c>Start</c> returns at once and children run in parallel from the start.</summary>
    ThreadPool = 1,
}
