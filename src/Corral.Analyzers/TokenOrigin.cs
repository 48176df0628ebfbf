namespace Corral.Analyzers;

/// <summary>
/// Where the cancellation of a token, a token source or a Corral scope comes from, as far as the code in one method
/// shows it. The rules read exception filters with it: "is this filter false whenever the caller's token is cancelled?"
/// </summary>
internal enum TokenOrigin
{
    /// <summary>Nothing is known (a field, a property, the result of a call): the rules trust a filter that reads it.</summary>
    Unknown,

    /// <summary>
    /// The caller's cancellation itself: a <c>CancellationToken</c> parameter, a Corral scope's <c>Token</c>,
    /// <c>CancelScope.CurrentToken</c>, a <c>CancelScope</c> or <c>TaskGroup</c>. A filter that reads it decides about the
    /// caller's cancellation on purpose.
    /// </summary>
    Caller,

    /// <summary>
    /// A local source made by <c>CancellationTokenSource.CreateLinkedTokenSource</c> and given no timeout: it is
    /// cancelled exactly when a token it links is, so reading it is reading the caller's cancellation.
    /// </summary>
    Linked,

    /// <summary>
    /// A linked local source given a timeout (<c>CancelAfter</c>): cancelled by its timeout <em>and</em> by every token
    /// it links. A filter that reads it as "timed out" also reads the caller's cancellation as a timeout.
    /// </summary>
    LinkedTimeout,

    /// <summary>
    /// A local source the method made with <c>new</c>, linked to nothing: only its own timeout or <c>Cancel</c>
    /// cancels it, so it is not cancelled when the caller's token is.
    /// </summary>
    Own,
}
