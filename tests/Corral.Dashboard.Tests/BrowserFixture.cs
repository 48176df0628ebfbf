using System;
using System.IO;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Microsoft.Playwright;
using Xunit;

namespace Corral.Dashboard.Tests;

/// <summary>
/// One headless Chromium for the browser tests: Debian's <c>chromium</c> package (never Playwright's own download, which
/// cannot reach the internet here), driven by Playwright, with a fresh profile directory.
/// </summary>
/// <remarks>
/// Found at <c>$CORRAL_CHROMIUM</c>, <c>/usr/bin/chromium</c> or <c>/usr/bin/chromium-browser</c>. When none exists the
/// tests are skipped with a message saying how to install it, except under CI (<c>CI=true</c>), where <c>.ci/run</c>
/// installs it: there a missing browser fails the tests.
/// </remarks>
public sealed class BrowserFixture : IAsyncLifetime
{
    /// <summary>The flags every launch needs here: without them the sandbox, the GPU or background connections fail.</summary>
    private static readonly string[] s_flags =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
    ];

    private IPlaywright? _playwright;
    private string? _profile;

    /// <summary>Gets why the browser tests are skipped, or null when they run.</summary>
    public string? SkipReason { get; private set; }

    /// <summary>Gets the browser context (one profile for the collection; each test opens its own page).</summary>
    public IBrowserContext Context { get; private set; } = null!;

    /// <summary>Gets the folder screenshots are saved to.</summary>
    public static string ScreenshotDirectory =>
        Environment.GetEnvironmentVariable("CORRAL_SCREENSHOTS") is { Length: > 0 } dir
            ? dir
            : Path.Combine(Repository.Root ?? Path.GetTempPath(), "artifacts", "screenshots");

    public async Task InitializeAsync()
    {
        // The known trees' stubborn tasks are reported after 200 ms, so the page has a report to highlight at once.
        Watchdog.Configure(new WatchdogOptions { GracePeriod = TimeSpan.FromMilliseconds(200) });
        var chromium = FindChromium();
        if (chromium is null)
        {
            const string Message = "No Chromium found (looked at $CORRAL_CHROMIUM, /usr/bin/chromium, /usr/bin/chromium-browser): install Debian's package with `apt-get install -y chromium` to run the dashboard's browser tests.";
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException(Message + " Under CI the browser tests must run: .ci/run installs it.");
            }

            SkipReason = Message;
            return;
        }

        _playwright = await Playwright.CreateAsync();
        _profile = Directory.CreateTempSubdirectory("corral-chromium-").FullName;
        Context = await _playwright.Chromium.LaunchPersistentContextAsync(_profile, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = s_flags,
            ViewportSize = new ViewportSize { Width = 1400, Height = 860 },
            Timeout = 60_000,
        });
        // Patience for a real browser on a loaded machine, not a bound the tests assert (see Gate.Browser).
        Context.SetDefaultTimeout((float)Gate.Browser.TotalMilliseconds);
        Assertions.SetDefaultExpectTimeout((float)Gate.Browser.TotalMilliseconds);
    }

    public async Task DisposeAsync()
    {
        if (SkipReason is null && _playwright is not null)
        {
            await Context.CloseAsync();
            _playwright.Dispose();
        }

        if (_profile is not null)
        {
            try
            {
                Directory.Delete(_profile, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string? FindChromium()
    {
        foreach (var candidate in new[] { Environment.GetEnvironmentVariable("CORRAL_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser" })
        {
            if (!string.IsNullOrEmpty(candidate) && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

/// <summary>The browser tests share one Chromium and run one at a time: the CI machine has two cores.</summary>
[CollectionDefinition(Name)]
public sealed class BrowserTests : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}
