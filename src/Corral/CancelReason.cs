using System;
using System.Diagnostics;

namespace Corral;

/// <summary>
/// Why a scope was cancelled: the source, a human-readable message and, for a failure, the exception.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Immutable and safe to share between threads.</item>
/// <item>A scope cancelled because an ancestor was cancelled reports the ancestor's reason; <see cref="Scope"/> then names
/// the ancestor, so a reader can tell "cancelled here" from "cancelled from above".</item>
/// </list>
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class CancelReason
{
    internal CancelReason(CancelReasonKind kind, string message, CancelScope scope, Exception? exception = null)
    {
        Kind = kind;
        Message = message;
        Scope = scope;
        Exception = exception;
    }

    /// <summary>Gets what set off the cancellation.</summary>
    public CancelReasonKind Kind { get; }

    /// <summary>Gets the message: the text given to <c>Cancel</c>, <c>"deadline exceeded"</c>, or the failing task's name and exception.</summary>
    public string Message { get; }

    /// <summary>Gets the scope whose cancellation this is (the scope <c>Cancel</c> was called on, or whose deadline passed).</summary>
    public CancelScope Scope { get; }

    /// <summary>Gets the exception of the failed task for <see cref="CancelReasonKind.TaskFailed"/>; otherwise <see langword="null"/>.</summary>
    public Exception? Exception { get; }

    /// <summary>Returns the message, prefixed with the name of the scope when it has one.</summary>
    /// <returns>A one-line description such as <c>scope 'fetch': deadline exceeded</c>.</returns>
    public override string ToString() => Scope.Name is { } name ? $"scope '{name}': {Message}" : Message;
}
