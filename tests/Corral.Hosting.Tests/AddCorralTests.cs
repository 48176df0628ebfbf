using System;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.Hosting.Tests;

/// <summary>AddCorral wires the process-wide watchdog to the host's logging.</summary>
[Collection(nameof(ProcessWideWatchdog))]
public sealed class AddCorralTests : WatchdogRestoringTests
{
    [Fact]
    public async Task AddCorral_HostStarted_WatchdogReportsGoToTheHostLogger()
    {
        var time = new FakeTimeProvider();
        await using var host = TestHost.Create(
            body: null,
            corral: o =>
            {
                o.Watchdog.TimeProvider = time;
                o.Watchdog.GracePeriod = TimeSpan.FromSeconds(2);
            });
        await host.StartAsync();
        Assert.Equal(TimeSpan.FromSeconds(2), Watchdog.Options.GracePeriod);
        Assert.Same(time, Watchdog.Options.TimeProvider);

        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = CancelScope.RunAsync(
            _ => TaskGroup.RunAsync(
                g =>
                {
                    g.Start(_ => release.Task, "ignores-cancel");
                    g.Cancel("test says stop");
                    return Task.CompletedTask;
                },
                new TaskGroupOptions { Name = "plain-group" }),
            new CancelScopeOptions { TimeProvider = time });

        time.Advance(TimeSpan.FromSeconds(2));
        var entry = Assert.Single(host.Logs.Entries, e => e.Category == "Corral.Watchdog" && e.Message.Contains("'ignores-cancel'", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Contains("test says stop", entry.Message, StringComparison.Ordinal);

        release.SetResult();
        await run;
        Assert.Contains(host.Logs.Entries, e => e.Category == "Corral.Watchdog" && e.Level == LogLevel.Information && e.Message.Contains("finished", StringComparison.Ordinal));
        await host.Host.StopAsync();
    }

    [Fact]
    public async Task AddCorral_HostDisposed_PreviousWatchdogSettingsRestored()
    {
        var before = new WatchdogOptions { GracePeriod = TimeSpan.FromSeconds(7) };
        Watchdog.Configure(before);
        var host = TestHost.Create(body: null);
        await host.StartAsync();
        Assert.NotSame(before, Watchdog.Options);
        Assert.NotNull(Watchdog.Options.Logger);

        await host.Host.StopAsync();
        await host.DisposeAsync();

        Assert.Same(before, Watchdog.Options);
    }

    [Fact]
    public async Task AddCorral_SomeoneReconfiguredSince_LeftAlone()
    {
        var host = TestHost.Create(body: null);
        await host.StartAsync();
        var mine = new WatchdogOptions { GracePeriod = TimeSpan.FromSeconds(9) };
        Watchdog.Configure(mine);

        await host.Host.StopAsync();
        await host.DisposeAsync();

        Assert.Same(mine, Watchdog.Options);
    }

    [Fact]
    public async Task AddCorral_WatchdogDisabled_Configured()
    {
        await using var host = TestHost.Create(body: null, corral: o => o.Watchdog.Enabled = false);
        await host.StartAsync();

        Assert.False(Watchdog.Options.Enabled);
        await host.Host.StopAsync();
    }

    [Fact]
    public async Task AddCorral_LoggerSetInOptions_WatchdogUsesItNotTheHosts()
    {
        var own = new CapturingLoggerProvider().CreateLogger("mine");
        await using var host = TestHost.Create(body: null, corral: o => o.Watchdog.Logger = own);
        await host.StartAsync();

        Assert.Same(own, Watchdog.Options.Logger);
        await host.Host.StopAsync();
    }

    [Fact]
    public void AddCorral_CalledTwice_RegistersOnceAndAppliesEveryConfigure()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddCorral(o => o.Watchdog.GracePeriod = TimeSpan.FromSeconds(3));
        services.AddCorral(o => o.Watchdog.MaxReportInterval = TimeSpan.FromSeconds(30));
        services.AddCorral();

        Assert.Single(services, d => d.ServiceType == typeof(IHostedService));
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<CorralHostingOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(3), options.Watchdog.GracePeriod);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Watchdog.MaxReportInterval);
    }

    [Fact]
    public async Task AddCorral_BadGracePeriod_HostStartThrows()
    {
        await using var host = TestHost.Create(body: null, corral: o => o.Watchdog.GracePeriod = TimeSpan.Zero);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(host.StartAsync);
    }

    [Fact]
    public void AddCorral_NullServices_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => CorralServiceCollectionExtensions.AddCorral(null!));
    }

    [Fact]
    public void Defaults_AreDocumentedValues()
    {
        var options = new CorralHostingOptions();
        Assert.True(options.Watchdog.Enabled);
        Assert.Equal(TimeSpan.FromSeconds(5), options.Watchdog.GracePeriod);
        Assert.Equal(TimeSpan.FromMinutes(5), options.Watchdog.MaxReportInterval);
        Assert.Same(TimeProvider.System, options.Watchdog.TimeProvider);
        Assert.Null(options.Watchdog.Logger);
    }
}
