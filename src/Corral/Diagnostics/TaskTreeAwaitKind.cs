namespace Corral.Diagnostics;

/// <summary>What the innermost frame of a task awaits: the kind of a <see cref="TaskTreeAwait"/>.</summary>
/// <remarks>More kinds may be added; readers should treat a kind they do not know as <see cref="Other"/>.</remarks>
public enum TaskTreeAwaitKind
{
    /// <summary>Nothing better is known: a task, value-task source or awaiter of the type the description names.</summary>
    Other,

    /// <summary><c>CancelScope.SleepAsync</c>; <see cref="TaskTreeAwait.TimeLeft"/> says how long it still sleeps, when known.</summary>
    Sleep,

    /// <summary><c>Task.Delay</c>; <see cref="TaskTreeAwait.TimeLeft"/> says how long it still waits, when known.</summary>
    Delay,

    /// <summary><c>Task.Yield()</c>: the frame is queued to resume.</summary>
    Yield,

    /// <summary>A read from a <c>System.Threading.Channels</c> channel (<c>ReadAsync</c>, <c>WaitToReadAsync</c>, Corral's <c>ReceiveAsync</c>).</summary>
    ChannelRead,

    /// <summary>A write to a channel that is full (<c>WriteAsync</c>, <c>WaitToWriteAsync</c>, Corral's <c>SendAsync</c>).</summary>
    ChannelWrite,

    /// <summary>A Corral <c>CapacityLimiter</c> with no capacity left.</summary>
    CapacityLimiter,

    /// <summary><c>SemaphoreSlim.WaitAsync</c>.</summary>
    Semaphore,

    /// <summary>The task of a <c>TaskCompletionSource</c> (or another task completed by code, not by a method).</summary>
    TaskCompletionSource,

    /// <summary><c>Task.WhenAll</c>.</summary>
    WhenAll,

    /// <summary><c>Task.WhenAny</c>.</summary>
    WhenAny,

    /// <summary>A delegate queued to the thread pool (<c>Task.Run</c> of a synchronous delegate), running or waiting to run.</summary>
    ThreadPoolWork,

    /// <summary>Another task of the tree (the task <c>TaskGroup.Start&lt;T&gt;</c> returned): <see cref="TaskTreeAwait.TargetId"/> is its node.</summary>
    CorralTask,

    /// <summary>A task group opened by the frame: its tasks are its children in the tree; <see cref="TaskTreeAwait.TargetId"/> is its node.</summary>
    TaskGroup,

    /// <summary>A cancel scope opened by the frame: the scope's node carries the rest of the stack; <see cref="TaskTreeAwait.TargetId"/> is its node.</summary>
    Scope,
}
