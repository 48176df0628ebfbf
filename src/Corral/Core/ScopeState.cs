namespace Corral.Core;

/// <summary>Where a <see cref="CancelScope"/> is in its life; it only moves forward.</summary>
internal enum ScopeState
{
    /// <summary>Constructed, not yet in the tree: nothing can reach it.</summary>
    Created = 0,

    /// <summary>Linked into the tree (<c>Open</c>): its block runs, cancellation reaches it, its deadline may be armed.</summary>
    Open = 1,

    /// <summary>Its block ended (<c>Unlink</c>): out of the tree and the deadline queue; nothing changes it any more.</summary>
    Exited = 2,
}
