using System;
using Microsoft.AspNetCore.Http;

namespace Corral.AspNetCore;

/// <summary>Settings for the request scopes opened by <c>UseCorralRequestScopes</c>.</summary>
/// <remarks>
/// <list type="bullet">
/// <item>All settings are optional; the defaults give each request a scope whose deadline comes from the
/// <see cref="CorralHttpHeaders.Timeout"/> header alone, on <see cref="System.TimeProvider.System"/>, and a 504 when that
/// deadline cuts the request off.</item>
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
    /// Gets or sets the clock of the request scopes' deadlines. Default: <see langword="null"/>, meaning
    /// <see cref="System.TimeProvider.System"/>. Tests set a fake clock here.
    /// </summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>Creates a copy, so that later changes to this instance do not reach a running middleware.</summary>
    /// <returns>The copy.</returns>
    internal CorralRequestScopeOptions Clone() => new()
    {
        _maxTimeout = _maxTimeout,
        _defaultTimeout = _defaultTimeout,
        _timeoutStatusCode = _timeoutStatusCode,
        TimeProvider = TimeProvider,
    };

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
