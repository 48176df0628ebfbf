using System;
using System.Collections.Generic;
using Microsoft.AspNetCore.Http;

namespace Corral.AspNetCore;

/// <summary>Settings for the request scopes opened by <c>UseCorralRequestScopes</c>.</summary>
/// <remarks>
/// <list type="bullet">
/// <item>All settings are optional; the defaults give each request a scope whose deadline is the earliest that its
/// <c>Corral-Timeout</c>, <c>grpc-timeout</c> and <c>Connect-Timeout-Ms</c> headers announce, on
/// <see cref="System.TimeProvider.System"/>, and an empty 504 when that deadline cuts the request off.</item>
/// <item>The middleware copies the settings when it is added: changing them later does not affect it.</item>
/// <item>Setters reject values out of range with <see cref="ArgumentOutOfRangeException"/>, at once.</item>
/// </list>
/// </remarks>
public sealed class CorralRequestScopeOptions
{
    /// <summary>The backing field of <see cref="MaxTimeout"/>.</summary>
    private TimeSpan? _maxTimeout;

    /// <summary>The backing field of <see cref="DefaultTimeout"/>.</summary>
    private TimeSpan? _defaultTimeout;

    /// <summary>The backing field of <see cref="TimeoutStatusCode"/>.</summary>
    private int _timeoutStatusCode = StatusCodes.Status504GatewayTimeout;

    /// <summary>The backing field of <see cref="CallerDeadlineMargin"/>.</summary>
    private TimeSpan _callerDeadlineMargin = DefaultCallerDeadlineMargin;

    /// <summary>The backing field of <see cref="StopGracePeriod"/>.</summary>
    private TimeSpan? _stopGracePeriod;

    /// <summary>The backing field of <see cref="StoppingStatusCode"/>.</summary>
    private int _stoppingStatusCode = StatusCodes.Status503ServiceUnavailable;

    /// <summary>The default of <see cref="CallerDeadlineMargin"/>: 250 milliseconds.</summary>
    public static readonly TimeSpan DefaultCallerDeadlineMargin = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Gets the headers a request's deadline is read from. Default: <see cref="DeadlineHeader.Corral"/>,
    /// <see cref="DeadlineHeader.Grpc"/>, <see cref="DeadlineHeader.Connect"/>; add <see cref="DeadlineHeader.Envoy"/> behind an
    /// Envoy whose route timeout should bound the work, or clear the list to read none (only <see cref="DefaultTimeout"/> applies).
    /// </summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Every listed header present is read, and the deadline is the <b>earliest</b> they announce: each names a party that
    /// stops waiting then, and the answer is useless after the first of them. The order of the list does not matter.</item>
    /// <item>A malformed value is ignored (the others still count) and logged at debug level.</item>
    /// <item>Values not defined in <see cref="DeadlineHeader"/> make <c>UseCorralRequestScopes</c> throw
    /// <see cref="ArgumentException"/>.</item>
    /// </list>
    /// </remarks>
    public IList<DeadlineHeader> DeadlineHeaders { get; } = new List<DeadlineHeader> { DeadlineHeader.Corral, DeadlineHeader.Grpc, DeadlineHeader.Connect };

    /// <summary>
    /// Gets or sets how close to the deadline its header announced a client's disconnect counts as the caller's deadline passing
    /// rather than the client going away: a caller whose deadline passes cancels its request, and that reaches the server slightly
    /// before the server's own deadline (the server started counting later, by the time the request took to arrive). The scope's
    /// reason is then <c>the caller's deadline passed</c> instead of <c>the client disconnected</c>, and the log says so.
    /// Default: <see cref="DefaultCallerDeadlineMargin"/> (250 ms).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or longer than a minute.</exception>
    public TimeSpan CallerDeadlineMargin
    {
        get => _callerDeadlineMargin;
        set
        {
            if (value < TimeSpan.Zero || value > TimeSpan.FromMinutes(1))
            {
                throw new ArgumentOutOfRangeException(
                    nameof(CallerDeadlineMargin), value, "CallerDeadlineMargin must be between zero and one minute.");
            }

            _callerDeadlineMargin = value;
        }
    }

    /// <summary>
    /// Gets or sets whether the response of a request cut off by its deadline carries a ProblemDetails body
    /// (<c>application/problem+json</c>, through <c>IProblemDetailsService</c> when <c>AddProblemDetails()</c> registered one).
    /// Default: <see langword="false"/> (an empty body).
    /// </summary>
    public bool WriteProblemDetails { get; set; }

    /// <summary>
    /// Gets or sets the longest timeout a request gets, whatever its header says: a larger incoming value (and a larger
    /// <see cref="DefaultTimeout"/>) is cut down to this. Default: none (the header is trusted as it is).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero, negative, or larger than
    /// <see cref="CorralHttpHeaders.MaxTimeoutMilliseconds"/> milliseconds.</exception>
    public TimeSpan? MaxTimeout
    {
        get => _maxTimeout;
        set => _maxTimeout = Validate(value, nameof(MaxTimeout));
    }

    /// <summary>
    /// Gets or sets the timeout of a request that carries no (well-formed) <see cref="CorralHttpHeaders.Timeout"/> header.
    /// Default: none (such a request has no deadline).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero, negative, or larger than
    /// <see cref="CorralHttpHeaders.MaxTimeoutMilliseconds"/> milliseconds.</exception>
    public TimeSpan? DefaultTimeout
    {
        get => _defaultTimeout;
        set => _defaultTimeout = Validate(value, nameof(DefaultTimeout));
    }

    /// <summary>
    /// Gets or sets the status code of the response when the request's own deadline cut it off before the response
    /// started. Default: 504 (<see cref="StatusCodes.Status504GatewayTimeout"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not between 400 and 599.</exception>
    public int TimeoutStatusCode
    {
        get => _timeoutStatusCode;
        set
        {
            if (value is < 400 or > 599)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(TimeoutStatusCode), value, "TimeoutStatusCode must be an error status code, from 400 to 599.");
            }

            _timeoutStatusCode = value;
        }
    }

    /// <summary>
    /// Gets or sets how long a request in flight may take to finish once the server starts stopping
    /// (<c>IHostApplicationLifetime.ApplicationStopping</c>), before its scope is cancelled. Meanwhile the request's scope is
    /// stopping: <see cref="CancelScope.IsStopRequested"/> and <see cref="CancelScope.StoppingToken"/> say so, and checkpoints pass.
    /// Default: <see langword="null"/>, half of the host's <c>HostOptions.ShutdownTimeout</c> (15 s of the default 30 s), leaving the
    /// other half for the cancelled requests to end before Kestrel stops waiting for them.
    /// </summary>
    /// <remarks>Measured from when the server began stopping: a request that arrives later gets what is left of it.
    /// <see cref="TimeSpan.Zero"/> cancels every request the moment the server starts stopping;
    /// <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> never cancels (Kestrel's own shutdown timeout then decides).</remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative (other than infinite) or <see cref="TimeSpan.MaxValue"/>.</exception>
    public TimeSpan? StopGracePeriod
    {
        get => _stopGracePeriod;
        set
        {
            if (value is { } grace && grace != System.Threading.Timeout.InfiniteTimeSpan && (grace < TimeSpan.Zero || grace == TimeSpan.MaxValue))
            {
                throw new ArgumentOutOfRangeException(
                    nameof(StopGracePeriod), value, "StopGracePeriod must be zero or positive (Timeout.InfiniteTimeSpan for none), not TimeSpan.MaxValue; null for the default.");
            }

            _stopGracePeriod = value;
        }
    }

    /// <summary>
    /// Gets or sets the status code of the response when the server's stop cut the request off (its grace ran out) before the
    /// response started; the response also carries <c>Connection: close</c>. Default: 503
    /// (<see cref="StatusCodes.Status503ServiceUnavailable"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not between 400 and 599.</exception>
    public int StoppingStatusCode
    {
        get => _stoppingStatusCode;
        set
        {
            if (value is < 400 or > 599)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(StoppingStatusCode), value, "StoppingStatusCode must be an error status code, from 400 to 599.");
            }

            _stoppingStatusCode = value;
        }
    }

    /// <summary>
    /// Gets or sets the clock of the request scopes' deadlines. Default: <see langword="null"/>, meaning
    /// <see cref="System.TimeProvider.System"/>. Tests set a fake clock here.
    /// </summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>Creates a copy, so that later changes to this instance do not reach a running middleware.</summary>
    /// <returns>The copy.</returns>
    /// <exception cref="ArgumentException"><see cref="DeadlineHeaders"/> holds a value that is not defined.</exception>
    internal CorralRequestScopeOptions Clone()
    {
        var copy = new CorralRequestScopeOptions
        {
            _maxTimeout = _maxTimeout,
            _defaultTimeout = _defaultTimeout,
            _timeoutStatusCode = _timeoutStatusCode,
            _callerDeadlineMargin = _callerDeadlineMargin,
            _stopGracePeriod = _stopGracePeriod,
            _stoppingStatusCode = _stoppingStatusCode,
            WriteProblemDetails = WriteProblemDetails,
            TimeProvider = TimeProvider,
        };
        copy.DeadlineHeaders.Clear();
        foreach (var header in DeadlineHeaders)
        {
            if (!DeadlineHeaderFormat.IsDefined(header))
            {
                throw new ArgumentException($"DeadlineHeaders holds {(int)header}, which is not a DeadlineHeader.", nameof(DeadlineHeaders));
            }

            if (!copy.DeadlineHeaders.Contains(header))
            {
                copy.DeadlineHeaders.Add(header);
            }
        }

        return copy;
    }

    /// <summary>Checks a timeout setting.</summary>
    /// <param name="value">The value to set.</param>
    /// <param name="name">The setting's name, for the message.</param>
    /// <returns><paramref name="value"/>.</returns>
    private static TimeSpan? Validate(TimeSpan? value, string name)
    {
        if (value is { } timeout
            && (timeout <= TimeSpan.Zero || timeout > TimeSpan.FromMilliseconds(CorralHttpHeaders.MaxTimeoutMilliseconds)))
        {
            throw new ArgumentOutOfRangeException(
                name,
                timeout,
                $"{name} must be positive and at most {CorralHttpHeaders.MaxTimeoutMilliseconds} ms; use null for none.");
        }

        return value;
    }
}
