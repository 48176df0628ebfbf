using System;
using System.Diagnostics;
using System.Globalization;
using System.Threading;

namespace Corral;

/// <summary>
/// A request to a scope to stop: finish what it holds and take no new work, before its grace period runs out and the scope is
/// cancelled. Made by <see cref="CancelScope.RequestStop(TimeSpan, string?)"/>.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Immutable and safe to share between threads.</item>
/// <item>A scope that is stopping because an ancestor was asked reports the ancestor's request; <see cref="Scope"/> then names the
/// ancestor.</item>
/// </list>
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class StopRequest
{
    /// <summary>The reason of a request made without one.</summary>
    internal const string DefaultReason = "stop requested";

    internal StopRequest(string reason, CancelScope scope, TimeSpan gracePeriod, long cancelAtTicks)
    {
        Reason = reason;
        Scope = scope;
        GracePeriod = gracePeriod;
        CancelAtTicks = cancelAtTicks;
    }

    /// <summary>Gets why the stop was requested: the text given to <c>RequestStop</c>, or <c>"stop requested"</c>.</summary>
    public string Reason { get; }

    /// <summary>Gets the scope the stop was requested of.</summary>
    public CancelScope Scope { get; }

    /// <summary>Gets the grace period the request gave; <see cref="Timeout.InfiniteTimeSpan"/> when it never cancels.</summary>
    public TimeSpan GracePeriod { get; }

    /// <summary>
    /// Gets the instant, on <see cref="Scope"/>'s <see cref="CancelScope.TimeProvider"/>, at which the scope is cancelled if its block
    /// has not ended; <see langword="null"/> when the grace period is infinite.
    /// </summary>
    public DateTimeOffset? CancelAt => CancelAtTicks == CancelScope.NoDeadline ? null : new DateTimeOffset(CancelAtTicks, TimeSpan.Zero);

    /// <summary>Gets <see cref="CancelAt"/> in UTC ticks, or <see cref="CancelScope.NoDeadline"/>.</summary>
    internal long CancelAtTicks { get; }

    /// <summary>Returns the reason and the grace, prefixed with the name of the scope when it has one.</summary>
    /// <returns>A one-line description such as <c>scope 'worker': stop requested (the host is stopping), grace 5 s</c>, or
    /// <c>stop requested, grace 5 s</c> for a request made without a reason.</returns>
    public override string ToString()
    {
        var text = Reason == DefaultReason
            ? string.Create(CultureInfo.InvariantCulture, $"stop requested, grace {FormatGrace(GracePeriod)}")
            : string.Create(CultureInfo.InvariantCulture, $"stop requested ({Reason}), grace {FormatGrace(GracePeriod)}");
        return Scope.Name is { } name ? $"scope '{name}': {text}" : text;
    }

    /// <summary>The message of the cancellation that follows when the grace period runs out.</summary>
    internal string GraceRanOutMessage() => Reason == DefaultReason
        ? string.Create(CultureInfo.InvariantCulture, $"stop requested; grace of {FormatGrace(GracePeriod)} ran out")
        : string.Create(CultureInfo.InvariantCulture, $"stop requested: {Reason}; grace of {FormatGrace(GracePeriod)} ran out");

    /// <summary>A grace period as people write it: <c>5 s</c>, <c>2.5 s</c>, <c>250 ms</c>, <c>infinite</c>.</summary>
    internal static string FormatGrace(TimeSpan grace) =>
        grace == Timeout.InfiniteTimeSpan ? "infinite"
        : grace < TimeSpan.FromSeconds(1) ? string.Create(CultureInfo.InvariantCulture, $"{grace.TotalMilliseconds:0.###} ms")
        : string.Create(CultureInfo.InvariantCulture, $"{grace.TotalSeconds:0.###} s");
}
