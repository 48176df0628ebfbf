using System;
using System.Threading.Tasks;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Corral.Dashboard.Tests;

/// <summary>
/// Async call stacks and "awaiting what" (issue 13, schema corral.tasktree/2): rendered from a hand-built snapshot in the
/// documented shape, so the page is tested whatever the library in this build captures.
/// </summary>
[Collection(BrowserTests.Name)]
public sealed class StackPageTests
{
    private const string HostileMethod = "<img src=x onerror=\"window.__pwned=1\">";

    /// <summary>node.stack = { status, frames: [{ method, kind, type, file, line, column }], awaiting, note }.</summary>
    private static readonly string s_snapshot = $$"""
        {"schema":"corral.tasktree/2","takenAt":"2026-12-07T10:00:00+00:00","processId":1,"roots":[
          {"id":10,"kind":"taskGroup","name":"orders","site":"Program.cs:20","state":"running","ageMs":5000,"deadline":null,
           "shield":false,"cancelCalled":false,"cancelReason":null,"cancelledForMs":null,"stack":null,"children":[
            {"id":11,"kind":"task","name":"poller","site":"Program.cs:22","state":"running","ageMs":5000,"deadline":null,
             "shield":false,"cancelCalled":false,"cancelReason":null,"cancelledForMs":null,
             "stack":{"status":"suspended","note":null,
               "awaiting":{"kind":"delay","description":"Task.Delay(00:05:00)","timeLeftMs":290000,"targetId":null,"call":"Task.Delay(TimeSpan.FromMinutes(5), ct)"},
               "frames":[
                 {"method":"PollOnceAsync","kind":"method","type":"Orders.Poller","file":"Poller.cs","line":42,"column":13},
                 {"method":"RunAsync","kind":"method","type":"Orders.Poller","file":"Poller.cs","line":17,"column":9}]},
             "children":[]},
            {"id":12,"kind":"task","name":"waiter","site":"Program.cs:23","state":"running","ageMs":5000,"deadline":null,
             "shield":false,"cancelCalled":false,"cancelReason":null,"cancelledForMs":null,
             "stack":{"status":"suspended","note":"frames without line numbers: no PDB",
               "awaiting":{"kind":"task","description":"the task 'poller'","timeLeftMs":null,"targetId":11,"call":null},
               "frames":[{"method":"{{HostileMethod.Replace("\"", "\\\"", StringComparison.Ordinal)}}","kind":"lambda","type":null,"file":null,"line":null,"column":null}]},
             "children":[]},
            {"id":13,"kind":"task","name":"busy","site":"Program.cs:24","state":"running","ageMs":5000,"deadline":null,
             "shield":false,"cancelCalled":false,"cancelReason":null,"cancelledForMs":null,
             "stack":{"status":"running","note":null,"awaiting":null,"frames":[]},"children":[]}]}]}
        """.Replace("\n", string.Empty, StringComparison.Ordinal);

    private readonly BrowserFixture _browser;

    public StackPageTests(BrowserFixture browser) => _browser = browser;

    [SkippableFact]
    public async Task Page_SnapshotWithStacks_ShowsAwaitingInTheRowAndFramesInTheDetails()
    {
        Skip.If(_browser.SkipReason is not null, _browser.SkipReason);
        await using var app = await DashboardApp.StartAsync(source: new FixedSource(s_snapshot));
        var page = await _browser.Context.NewPageAsync();
        await page.GotoAsync(app.DashboardAddress.ToString());

        var poller = Row(page, "poller");
        await Expect(poller.Locator(".awaiting")).ToHaveTextAsync("awaits Task.Delay(00:05:00) (4m50s left when taken)");
        await poller.Locator(".name").ClickAsync();
        await Expect(page.Locator("#details-awaiting-text")).ToContainTextAsync("call: Task.Delay(TimeSpan.FromMinutes(5), ct)");
        await Expect(page.Locator("#details-frames-list li")).ToHaveTextAsync(["Orders.Poller.PollOnceAsync at Poller.cs:42:13", "Orders.Poller.RunAsync at Poller.cs:17:9"]);

        // What a task awaits can be another node: the link selects it.
        await Row(page, "waiter").Locator(".name").ClickAsync();
        await Expect(page.Locator("#details-frames-list li")).ToHaveTextAsync([HostileMethod]); // a frame is text too
        await Expect(page.Locator("#details-frames-note")).ToHaveTextAsync("frames without line numbers: no PDB");
        await page.Locator("#details-awaiting-text button.link").ClickAsync();
        await Expect(page.Locator("#details-title")).ToHaveTextAsync("task poller");

        await Row(page, "busy").Locator(".name").ClickAsync();
        await Expect(page.Locator("#details-frames-note")).ToHaveTextAsync("running now: a running task has no stack to read");
        Assert.Equal(0, await page.Locator("#details img").CountAsync());
        Assert.Equal("undefined", await page.EvaluateAsync<string>("typeof window.__pwned"));
        await page.CloseAsync();
    }

    private static ILocator Row(IPage page, string name) =>
        page.Locator(".row:not([hidden])").Filter(new() { Has = page.Locator(".name").GetByText(name, new() { Exact = true }) });
}
