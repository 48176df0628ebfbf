namespace Corral.Analyzers;

/// <summary>What a catch's <c>when</c> filter does with the caller's cancellation.</summary>
internal enum CallerFilterVerdict
{
    /// <summary>The filter cannot be read (it calls a method, reads a field): trusted, never flagged.</summary>
    Unknown,

    /// <summary>False whenever the caller's token is cancelled: the caller's cancellation passes the catch by.</summary>
    LetsThrough,

    /// <summary>
    /// The filter reads the caller's own token or scope (<c>ct.IsCancellationRequested</c>, <c>scope.IsCancellationRequested</c>,
    /// a link with no timeout): whatever it decides about the caller's cancellation, it decides on purpose. Trusted.
    /// </summary>
    Deliberate,

    /// <summary>
    /// True, or possibly true, when the caller's token is cancelled (<c>e is OperationCanceledException or TimeoutException</c>,
    /// <c>timeoutCts.IsCancellationRequested</c> on a source linked to the caller's token, <c>attempt &lt; 3</c>): the
    /// caller's cancellation enters the catch block.
    /// </summary>
    Admits,
}
