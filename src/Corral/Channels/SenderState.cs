using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Channels;

namespace Corral;

/// <summary>What every clone of a <see cref="ChannelSender{T}"/> shares.</summary>
/// <typeparam name="T">The item type.</typeparam>
internal sealed class SenderState<T>
{
    internal SenderState(ChannelWriter<T> writer) => Writer = writer;

    /// <summary>Guards <see cref="OpenHandles"/>, <see cref="FirstError"/> and every handle's closed flag.</summary>
    internal object Gate { get; } = new();

    /// <summary>The writer all handles send to.</summary>
    internal ChannelWriter<T> Writer { get; }

    /// <summary>Open handles. INVARIANT: never negative; the writer is completed when it reaches 0, and it never rises again.</summary>
    internal int OpenHandles { get; set; } = 1;

    /// <summary>The first failure a handle was closed with (a cancellation only while none failed); the completion carries it.</summary>
    internal Exception? FirstError { get; set; }

    [Conditional("DEBUG")]
    internal void AssertInvariants()
    {
        Debug.Assert(Monitor.IsEntered(Gate), "invariants are checked under the lock");
        Debug.Assert(OpenHandles >= 0, "never more closes than handles");
    }
}
