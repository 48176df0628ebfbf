using System;
using System.Threading;

namespace Corral;

/// <summary>
/// The <see cref="OperationCanceledException"/> that Corral's checkpoints throw: it carries the
/// <see cref="CancelReason"/> and the scope that was cancelled.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>It is an <see cref="OperationCanceledException"/>, so every existing <c>catch</c> and every .NET API treats it as
/// cancellation.</item>
/// <item>The scope that was cancelled absorbs it when its block ends with it (see <see cref="CancelScope.CancelledCaught"/>);
/// catching it earlier does not use the cancellation up: the next checkpoint throws again.</item>
/// </list>
/// </remarks>
public sealed class ScopeCancelledException : OperationCanceledException
{
    /// <summary>Creates an exception for a scope cancelled for the given reason.</summary>
    /// <param name="reason">Why the scope was cancelled.</param>
    /// <param name="token">The token of the scope at the checkpoint that threw.</param>
    public ScopeCancelledException(CancelReason reason, CancellationToken token)
        : base(FormatMessage(reason), token)
    {
        ArgumentNullException.ThrowIfNull(reason);
        Reason = reason;
    }

    /// <summary>Creates an exception for a scope cancelled for the given reason, wrapping the cancellation a .NET API threw.</summary>
    /// <param name="reason">Why the scope was cancelled.</param>
    /// <param name="innerException">The cancellation as the API threw it (a <see cref="System.Threading.Tasks.TaskCanceledException"/>, say).</param>
    /// <param name="token">The token of the scope.</param>
    public ScopeCancelledException(CancelReason reason, Exception? innerException, CancellationToken token)
        : base(FormatMessage(reason), innerException, token)
    {
        ArgumentNullException.ThrowIfNull(reason);
        Reason = reason;
    }

    /// <summary>Gets why the scope was cancelled.</summary>
    public CancelReason Reason { get; }

    /// <summary>Gets the scope whose cancellation this is: the one that absorbs it when its block ends.</summary>
    public CancelScope Scope => Reason.Scope;

    private static string FormatMessage(CancelReason? reason) =>
        reason is null ? "The operation was cancelled." : $"The operation was cancelled: {reason}.";
}
