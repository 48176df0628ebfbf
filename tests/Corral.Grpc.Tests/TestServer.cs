using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Corral.Grpc.Tests;

/// <summary>A real Kestrel server on 127.0.0.1 with a port the system picks, started and stopped by one test.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<IDisposable> _owned = [];

    private TestServer(WebApplication app, Uri baseAddress, CapturingLoggerProvider logs)
    {
        _app = app;
        BaseAddress = baseAddress;
        Logs = logs;
    }

    public Uri BaseAddress { get; }

    public CapturingLoggerProvider Logs { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Builds, configures and starts an application; HTTP/2 only (gRPC) unless <paramref name="http1"/>.</summary>
    public static async Task<TestServer> StartAsync(
        Action<IServiceCollection> services, Action<WebApplication> configure, bool http1 = false, LogLevel minimumLevel = LogLevel.Debug)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(
            IPAddress.Loopback, 0, l => l.Protocols = http1 ? HttpProtocols.Http1AndHttp2 : HttpProtocols.Http2));
        var logs = new CapturingLoggerProvider();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(minimumLevel);
        builder.Logging.AddProvider(logs);
        services(builder.Services);
        var app = builder.Build();
        configure(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new TestServer(app, new Uri(address), logs);
    }

    /// <summary>A channel to this server that ignores any proxy of the environment; disposed with the server.</summary>
    public GrpcChannel CreateChannel(bool throwOperationCanceled = false)
    {
        var channel = GrpcChannel.ForAddress(BaseAddress, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { UseProxy = false, EnableMultipleHttp2Connections = true },
            ThrowOperationCanceledOnCancellation = throwOperationCanceled,
        });
        _owned.Add(channel);
        return channel;
    }

    /// <summary>A plain HTTP client for this server (HTTP/2 without TLS when asked).</summary>
    public HttpClient CreateHttpClient(bool http2 = false, HttpMessageHandler? handler = null)
    {
        var client = new HttpClient(handler ?? new SocketsHttpHandler { UseProxy = false }) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(1) };
        if (http2)
        {
            client.DefaultRequestVersion = HttpVersion.Version20;
            client.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }

        _owned.Add(client);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>One log entry, with the exception it carried (its type, message and stack), if any.</summary>
internal sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message, string? Exception = null)
{
    public override string ToString() => $"{Level} {Category}[{EventId.Id}] {Message}{(Exception is null ? string.Empty : " " + Exception)}";
}

/// <summary>Keeps every log entry of an application.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => _entries.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._entries.Enqueue(new LogEntry(category, logLevel, eventId, formatter(state, exception), exception?.ToString()));
    }
}
