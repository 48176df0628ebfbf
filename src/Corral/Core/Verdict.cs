namespace Corral.Core;

/// <summary>What a block does as it ends: the <see cref="Decider"/>'s answer, which every block shape turns into its result.</summary>
internal enum Verdict : byte
{
    /// <summary>The body completed and no cancellation reaches the block from above: the block ends normally.</summary>
    Completed,

    /// <summary>The block's own cancel (<c>Cancel</c>, or a failure in a group) cut the body off: the block absorbs it and
    /// sets <c>CancelledCaught</c>. <c>MoveOn…</c> returns false; shapes with no value to return rethrow it.</summary>
    Absorbed,

    /// <summary>The block's own deadline cut the body off: absorbed as <see cref="Absorbed"/>, and <c>Fail…</c> throws
    /// <see cref="System.TimeoutException"/>.</summary>
    TimedOut,

    /// <summary>An ancestor's cancellation reaches the block: the body's cancellation leaves it carrying the ancestor's reason,
    /// or, when the body completed without a checkpoint, the exit raises it (every block exit is a checkpoint, ADR 0009).</summary>
    Propagates,

    /// <summary>A failure, or a cancellation no cancelled scope owns (someone else's timeout): it passes through unchanged.</summary>
    PassesThrough,
}
