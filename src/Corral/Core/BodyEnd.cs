namespace Corral.Core;

/// <summary>How the body of a block ended, as the <see cref="Decider"/> sees it.</summary>
internal enum BodyEnd : byte
{
    /// <summary>The body returned normally (for a group: the body and every child, and no task ended cancelled).</summary>
    Completed,

    /// <summary>The body ended with an <see cref="System.OperationCanceledException"/> (for a group: the body, or a child, ended
    /// with the group's cancellation, and nothing failed).</summary>
    Cancelled,

    /// <summary>The body ended with any other exception (for a group: something failed).</summary>
    Failed,
}
