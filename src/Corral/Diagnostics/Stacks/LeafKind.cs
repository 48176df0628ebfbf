namespace Corral.Diagnostics.Stacks;

/// <summary>What the runtime's shapes tell about an awaited object that is not an async method.</summary>
internal enum LeafKind
{
    /// <summary>Nothing known.</summary>
    Other,

    /// <summary><c>Task.Delay</c> without a token.</summary>
    Delay,

    /// <summary><c>Task.Delay</c> with a token.</summary>
    DelayWithToken,

    /// <summary><c>SemaphoreSlim.WaitAsync</c>.</summary>
    Semaphore,

    /// <summary><c>Task.WaitAsync</c>: walked through to the task it wraps.</summary>
    WaitAsync,

    /// <summary><c>Task.WhenAll</c>.</summary>
    WhenAll,

    /// <summary><c>Task.WhenAny</c>.</summary>
    WhenAny,

    /// <summary><c>Unwrap</c>, as in <c>Task.Run(async …)</c>.</summary>
    Unwrap,

    /// <summary>An exact <c>Task</c> or <c>Task&lt;T&gt;</c>: a delegate's task, or a promise (TaskCompletionSource).</summary>
    PlainTask,

    /// <summary>A channel read.</summary>
    ChannelRead,

    /// <summary>A channel write.</summary>
    ChannelWrite,

    /// <summary>A channel operation of unknown direction.</summary>
    Channel,
}
