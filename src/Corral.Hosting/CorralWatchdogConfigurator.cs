using System;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Corral.Hosting;

/// <summary>
/// Configures the process-wide <see cref="Watchdog"/> (and the failure exit code) when the host starts (before any hosted service's
/// <see cref="IHostedService.StartAsync"/>), and puts the previous settings back when the host's services are disposed.
/// </summary>
internal sealed class CorralWatchdogConfigurator : IHostedLifecycleService, IDisposable
{
    /// <summary>The watchdog's logger category.</summary>
    internal const string LoggerCategory = "Corral.Watchdog";

    /// <summary>Creates the watchdog's logger.</summary>
    private readonly ILoggerFactory _loggerFactory;

    /// <summary>The settings given to AddCorral.</summary>
    private readonly CorralHostingOptions _options;

    /// <summary>Guards <see cref="_previous"/> and <see cref="_installed"/>.</summary>
    private readonly object _gate = new();

    /// <summary>The watchdog's settings before this host configured it; null until then.</summary>
    private WatchdogOptions? _previous;

    /// <summary>The settings this host gave the watchdog; null until then.</summary>
    private WatchdogOptions? _installed;

    /// <summary>The failure exit code before this host set its own (<see cref="CorralHostingState"/>).</summary>
    private int _previousExitCode;

    public CorralWatchdogConfigurator(ILoggerFactory loggerFactory, IOptions<CorralHostingOptions> options)
    {
        _loggerFactory = loggerFactory;
        _options = options.Value;
    }

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        // A copy: the options instance is shared by the host's services, and Dispose recognizes its own settings by reference.
        var wanted = _options.Watchdog;
        var installed = new WatchdogOptions
        {
            Enabled = wanted.Enabled,
            GracePeriod = wanted.GracePeriod,
            MaxReportInterval = wanted.MaxReportInterval,
            TimeProvider = wanted.TimeProvider,
            Logger = wanted.Logger ?? _loggerFactory.CreateLogger(LoggerCategory),
        };

        lock (_gate)
        {
            var previous = Watchdog.Options;
            Watchdog.Configure(installed);
            _previous = previous;
            _installed = installed;
            _previousExitCode = CorralHostingState.FailureExitCode;
            CorralHostingState.FailureExitCode = _options.FailureExitCode ?? 0;
        }

        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Restores the watchdog's previous settings, unless someone configured it since: the host's logger factory is disposed
    /// right after this, and the watchdog must not keep logging to it. Reports during the host's stop still reach its log.
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_installed is not null && ReferenceEquals(Watchdog.Options, _installed))
            {
                Watchdog.Configure(_previous!);
            }

            if (_installed is not null)
            {
                CorralHostingState.FailureExitCode = _previousExitCode;
            }

            _installed = null;
            _previous = null;
        }
    }
}
