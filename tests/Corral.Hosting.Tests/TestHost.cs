using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Xunit;

namespace Corral.Hosting.Tests;

/// <summary>
/// Every test here starts a real host, and hosts configure the process-wide watchdog: the classes run one at a time, and
/// each puts the watchdog's default settings back when it ends.
/// </summary>
[CollectionDefinition(nameof(ProcessWideWatchdog), DisableParallelization = true)]
public sealed class ProcessWideWatchdog
{
}

/// <summary>One log entry.</summary>
internal sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception);

/// <summary>Keeps every log entry of a host, and lets a test wait for one.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();
    private readonly List<(Func<LogEntry, bool> Match, TaskCompletionSource<LogEntry> Done)> _waiters = new();

    public IReadOnlyList<LogEntry> Entries => _entries.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public Task<LogEntry> WaitForAsync(Func<LogEntry, bool> match)
    {
        var done = new TaskCompletionSource<LogEntry>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters)
        {
            var existing = _entries.FirstOrDefault(match);
            if (existing is not null)
            {
                return Task.FromResult(existing);
            }

            _waiters.Add((match, done));
        }

        return done.Task;
    }

    public void Dispose()
    {
    }

    private void Add(LogEntry entry)
    {
        lock (_waiters)
        {
            _entries.Enqueue(entry);
            foreach (var waiter in _waiters.Where(w => w.Match(entry)).ToList())
            {
                _waiters.Remove(waiter);
                waiter.Done.TrySetResult(entry);
            }
        }
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Add(new LogEntry(category, logLevel, eventId, formatter(state, exception), exception));
    }
}

/// <summary>A service whose body the test gives.</summary>
internal sealed class DelegateService(
    ILogger<DelegateService> logger,
    IHostApplicationLifetime lifetime,
    IOptions<HostOptions> hostOptions,
    Func<TaskGroup, CancellationToken, Task> body,
    string name,
    TimeProvider? time) : CorralBackgroundService(logger, lifetime, hostOptions)
{
    protected override string Name => name;

    protected override TimeProvider TimeProvider => time ?? base.TimeProvider;

    internal Task RunCompletion => Completion ?? throw new InvalidOperationException("not started");

    internal TaskGroup? Group { get; private set; }

    protected override Task ExecuteAsync(TaskGroup group, CancellationToken stoppingToken)
    {
        Group = group;
        return body(group, stoppingToken);
    }
}

/// <summary>A real host with one <see cref="DelegateService"/>, its logs captured.</summary>
internal sealed class TestHost : IAsyncDisposable
{
    private TestHost(IHost host, CapturingLoggerProvider logs)
    {
        Host = host;
        Logs = logs;
        Service = host.Services.GetServices<IHostedService>().OfType<DelegateService>().SingleOrDefault();
        Lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
    }

    public IHost Host { get; }

    public CapturingLoggerProvider Logs { get; }

    public DelegateService? Service { get; }

    public IHostApplicationLifetime Lifetime { get; }

    public static TestHost Create(
        Func<TaskGroup, CancellationToken, Task>? body,
        string name = "worker",
        TimeProvider? time = null,
        BackgroundServiceExceptionBehavior behavior = BackgroundServiceExceptionBehavior.StopHost,
        Action<CorralHostingOptions>? corral = null,
        bool addCorral = true,
        TimeSpan? shutdownTimeout = null)
    {
        var logs = new CapturingLoggerProvider();
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        builder.Logging.AddProvider(logs);
        builder.Services.Configure<HostOptions>(o =>
        {
            o.BackgroundServiceExceptionBehavior = behavior;
            o.ShutdownTimeout = shutdownTimeout ?? o.ShutdownTimeout;
        });
        if (addCorral)
        {
            builder.Services.AddCorral(corral);
        }

        if (body is not null)
        {
            builder.Services.AddHostedService(sp => new DelegateService(
                sp.GetRequiredService<ILogger<DelegateService>>(),
                sp.GetRequiredService<IHostApplicationLifetime>(),
                sp.GetRequiredService<IOptions<HostOptions>>(),
                body,
                name,
                time));
        }

        return new TestHost(builder.Build(), logs);
    }

    public Task StartAsync() => Host.StartAsync();

    public IReadOnlyList<LogEntry> Errors => Logs.Entries.Where(e => e.Level >= LogLevel.Error).ToList();

    public async ValueTask DisposeAsync()
    {
        if (Host is IAsyncDisposable asyncDisposable)
        {
            await asyncDisposable.DisposeAsync();
        }
        else
        {
            Host.Dispose();
        }
    }
}

/// <summary>Puts the watchdog's defaults back after a test.</summary>
public abstract class WatchdogRestoringTests : IDisposable
{
    public void Dispose()
    {
        Watchdog.Configure(new WatchdogOptions());
        GC.SuppressFinalize(this);
    }
}
