// AmbientScopeCache: the ambient scope for a checkpoint that runs once per item (a safe producer's WriteAsync and
// MoveNextAsync), without an AsyncLocal lookup per item.
//
// The ambient scope lives in one AsyncLocal (Core/Ambient.cs), so it is a function of the ExecutionContext: an
// ExecutionContext is immutable, and setting any AsyncLocal makes a new one. A loop that writes or reads item after item runs
// in one ExecutionContext, so comparing the current context with the one seen last (a thread-static read and a reference
// comparison) tells whether the scope seen last is still the ambient one. The scope's cancellation is read live every time,
// so the checkpoint stays level-triggered: only the lookup is cached, never the answer.
//
// The cache belongs to one enumeration (one for its consumer, one for its writer), not to a thread: it keeps at most one
// ExecutionContext per side alive, for as long as the enumeration lives. (A thread-static cache would keep the last context
// of every thread alive indefinitely; the core rejects that for its own checkpoints.) It relies on the ambient scope being
// a function of the context: Core/Ambient.cs keeps a CancelScope or a TaskRecord in one AsyncLocal, and a TaskRecord's
// Scope never changes.
using System.Threading;

namespace Corral;

/// <summary>Remembers which scope was ambient in the last <see cref="ExecutionContext"/> seen.</summary>
internal sealed class AmbientScopeCache
{
    /// <summary>The context and the scope ambient in it, published together (concurrent writers share one cache).</summary>
    private Entry? _last;

    /// <summary>Gets the ambient scope, as <see cref="CancelScope.Current"/>.</summary>
    internal CancelScope? Current
    {
        get
        {
            // Null when the flow of the context is suppressed: then there is nothing to compare, read the AsyncLocal.
            var context = ExecutionContext.Capture();
            var last = Volatile.Read(ref _last);
            if (context is not null && last is not null && ReferenceEquals(last.Context, context))
            {
                return last.Scope;
            }

            var scope = CancelScope.Current;
            if (context is not null)
            {
                Volatile.Write(ref _last, new Entry(context, scope));
            }

            return scope;
        }
    }

    /// <summary>A context and the scope that is ambient in it.</summary>
    /// <remarks>INVARIANT: <see cref="Scope"/> is what <see cref="CancelScope.Current"/> returns in <see cref="Context"/>.</remarks>
    private sealed class Entry(ExecutionContext context, CancelScope? scope)
    {
        /// <summary>The context.</summary>
        public ExecutionContext Context { get; } = context;

        /// <summary>The scope ambient in <see cref="Context"/>.</summary>
        public CancelScope? Scope { get; } = scope;
    }
}
