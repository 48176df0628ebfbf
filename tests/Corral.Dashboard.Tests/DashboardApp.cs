using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Corral.Dashboard.Tests;

/// <summary>
/// A real Kestrel app on 127.0.0.1 (a port the system picks) with the dashboard mapped at <c>/corral</c>; started and
/// stopped by one test.
/// </summary>
/// <remarks>
/// Two test-only headers, read by middleware before the dashboard: <c>X-Test-Remote</c> replaces the connection's remote
/// address (Kestrel here only ever sees 127.0.0.1, and the dashboard must refuse other addresses), and
/// <c>X-Test-User</c> signs the request in as that user (the <see cref="TestAuthHandler"/>).
/// </remarks>
internal sealed class DashboardApp : IAsyncDisposable
{
    /// <summary>The policy the tests name: an authenticated user called alice.</summary>
    public const string AdminPolicy = "corral-admins";

    private readonly WebApplication _app;

    private DashboardApp(WebApplication app, Uri baseAddress, LogSink logs)
    {
        _app = app;
        BaseAddress = baseAddress;
        Logs = logs;
    }

    public Uri BaseAddress { get; }

    public Uri DashboardAddress => new(BaseAddress, "/corral/");

    public LogSink Logs { get; }

    public static async Task<DashboardApp> StartAsync(CorralDashboardOptions? options = null, bool auth = false, bool antiforgery = false, DashboardSource? source = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var logs = new LogSink();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddProvider(logs);
        if (auth)
        {
            builder.Services.AddAuthentication(TestAuthHandler.Name).AddScheme<AuthenticationSchemeOptions, TestAuthHandler>(TestAuthHandler.Name, null);
            builder.Services.AddAuthorization(o => o.AddPolicy(AdminPolicy, p => p.RequireAuthenticatedUser().RequireUserName("alice")));
        }

        if (antiforgery)
        {
            builder.Services.AddAntiforgery();
        }

        var app = builder.Build();
        app.Use((context, next) =>
        {
            if (context.Request.Headers.TryGetValue("X-Test-Remote", out var remote))
            {
                context.Connection.RemoteIpAddress = IPAddress.Parse(remote.ToString());
            }

            return next(context);
        });
        if (auth)
        {
            app.UseAuthentication();
            app.UseAuthorization();
        }

        if (source is null)
        {
            app.MapCorralDashboard("/corral", options);
        }
        else
        {
            DashboardEndpoints.Map(app, "/corral", options ?? new CorralDashboardOptions(), source); // a hand-built tree
        }
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new DashboardApp(app, new Uri(address), logs);
    }

    /// <summary>A client for this app that ignores any proxy of the environment and follows no redirect.</summary>
    public HttpClient CreateClient(bool cookies = false) =>
        new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = cookies })
        {
            BaseAddress = BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Signs a request in as the user named in its <c>X-Test-User</c> header.</summary>
internal sealed class TestAuthHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string Name = "test";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue("X-Test-User", out var user) || string.IsNullOrEmpty(user))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, user.ToString())], Name);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Name)));
    }
}

/// <summary>One log entry.</summary>
internal sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message);

/// <summary>Keeps every log entry of an app.</summary>
internal sealed class LogSink : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => _entries.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogSink owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._entries.Enqueue(new LogEntry(category, logLevel, eventId, formatter(state, exception)));
    }
}
