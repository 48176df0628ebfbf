using System;
using System.Net;
using Microsoft.AspNetCore.Http;

namespace Corral.Dashboard;

/// <summary>Who may see the dashboard by default: requests from this machine, addressed to this machine.</summary>
internal static class DashboardAccess
{
    /// <summary>
    /// Whether a request comes from a loopback address and names a loopback host.
    /// </summary>
    /// <param name="context">The request.</param>
    /// <returns>True for a local request.</returns>
    /// <remarks>
    /// The <c>Host</c> check stops DNS rebinding: a page on a hostile site whose name the attacker re-points to 127.0.0.1
    /// sends loopback requests with the attacker's host name, and would otherwise read the tree as same-origin. A
    /// request without a remote address (an in-memory test server, a Unix socket) is not local: refuse what cannot be
    /// shown to be local. Behind a reverse proxy the remote address is the proxy's unless the app uses
    /// <c>UseForwardedHeaders</c> first.
    /// </remarks>
    public static bool IsLocal(HttpContext context)
    {
        var remote = context.Connection.RemoteIpAddress;
        if (remote is null)
        {
            return false;
        }

        if (remote.IsIPv4MappedToIPv6)
        {
            remote = remote.MapToIPv4();
        }

        return IPAddress.IsLoopback(remote) && IsLoopbackHost(context.Request.Host.Host);
    }

    /// <summary>Whether a host name (without port) names this machine's loopback interface.</summary>
    /// <param name="host">The host, as in the <c>Host</c> header without the port.</param>
    /// <returns>True for <c>localhost</c>, <c>*.localhost</c> and loopback addresses.</returns>
    public static bool IsLoopbackHost(string? host)
    {
        if (string.IsNullOrEmpty(host))
        {
            return false;
        }

        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
            || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var bare = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        return IPAddress.TryParse(bare, out var address) && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
    }
}
