using System;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Corral.Dashboard.Tests;

/// <summary>
/// Async call stacks and "awaiting what" (issue 13, schema corral.tasktree/2): a live tree of this process captured by the
/// library and shown by the real in-process source (each frame at the line of its await, which task awaits which), and a
/// hand-built snapshot in the same shape for what a live tree cannot be made to show on demand (a hostile frame, a task
/// running on a thread, a note).
/// </summary>
[Collection(BrowserTests.Name)]
public sealed class StackPageTests
{
    private const string HostileMethod = "<img src=x onerror=\"window.__pwned=1\">";

    /// <summary>node.stack = { status, frames: [{ method, kind, type, file, line, column }], awaiting, note }, as ToJson writes it.</summary>
    private static readonly string s_snapshot = $$"""
        {"schema":"corral.tasktree/2","takenAt":"2026-12-07T10:00:00+00:00","processId":1,"roots":[
          {"id":10,"kind":"taskGroup","name":"orders","site":"Program.cs:20","state":"running","ageMs":5000,"deadline":null,
           "shield":false,"cancelCalled":false,"cancelReason":null,"cancelledForMs":null,"stack":null,"children":[
            {"id":11,"kind":"task","name":"poller","site":"Program.cs:22","state":"running","ageMs":5000,"deadline":null,
             "shield":false,"cancelCalled":false,"cancelReason":null,"cancelledForMs":null,
             "stack":{"status":"suspended","note":null,
               "awaiting":{"kind":"delay","description":"Task.Delay (4.8min left)","timeLeftMs":290000,"targetId":null,"call":"Task.Delay"},
               "frames":[
                 {"method":"Poller.PollOnceAsync","kind":"method","type":"Orders.Poller","file":"/src/Orders/Poller.cs","line":42,"column":13},
                 {"method":"Poller.RunAsync","kind":"method","type":"Orders.Poller","file":"/src/Orders/Poller.cs","line":17,"column":9}]},
             "children":[]},
            {"id":12,"kind":"task","name":"waiter","site":"Program.cs:23","state":"running","ageMs":5000,"deadline":null,
             "shield":false,"cancelCalled":false,"cancelReason":null,"cancelledForMs":null,
             "stack":{"status":"suspended","note":"frames without line numbers: no PDB",
               "awaiting":{"kind":"corralTask","description":"task 'poller'","timeLeftMs":null,"targetId":11,"call":null},
               "frames":[{"method":"{{HostileMethod.Replace("\"", "\\\"", StringComparison.Ordinal)}}","kind":"lambda","type":null,"file":null,"line":null,"column":null}]},
             "children":[]},
            {"id":13,"kind":"task","name":"busy","site":"Program.cs:24","state":"running","ageMs":5000,"deadline":null,
             "shield":false,"cancelCalled":false,"cancelReason":null,"cancelledForMs":null,
             "stack":{"status":"running","note":null,"awaiting":null,"frames":[]},"children":[]}]}]}
        """.Replace("\n", string.Empty, StringComparison.Ordinal);

    private readonly BrowserFixture _browser;

    public StackPageTests(BrowserFixture browser) => _browser = browser;

    [SkippableFact]
    public async Task Page_LiveTree_ShowsEachFrameAtTheLineOfItsAwaitAndWhichTaskAwaitsWhich()
    {
        Skip.If(_browser.SkipReason is not null, _browser.SkipReason);
        var id = Guid.NewGuid().ToString("N")[..8];
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = TaskGroup.RunAsync(
            async g =>
            {
                g.Start(ct => PollAsync(ct), "poller-" + id);
                var loader = g.Start(_ => LoadAsync(stop.Task), "loader-" + id);
                g.Start(
                    async _ =>
                    {
                        await loader; // @await:waiter
                    },
                    "waiter-" + id);
                ready.SetResult();
                await stop.Task;
                g.Cancel("test over");
            },
            new TaskGroupOptions { Name = "stacks-" + id });
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
        try
        {
            // What the library captured, as the page gets it: the frames the page must show, in this build (Debug or Release).
            var live = CaptureSuspended(id);
            var marks = Repository.AwaitMarks(); // this file's: the lines its frames must show
            await using var app = await DashboardApp.StartAsync(); // the real in-process source: TaskTree.Capture
            var page = await _browser.Context.NewPageAsync();
            await page.GotoAsync(app.DashboardAddress.ToString());

            var poller = Row(page, "poller-" + id);
            await Expect(poller.Locator(".awaiting")).ToHaveTextAsync(new Regex(@"^awaits Task\.Delay \("));
            await poller.Locator(".name").ClickAsync();
            await Expect(page.Locator("#details-frames-list li")).ToHaveTextAsync(
            [
                $"StackPageTests.PollOnceAsync (StackPageTests.cs:{marks["poll-once"]})",
                $"StackPageTests.PollAsync (StackPageTests.cs:{marks["poll"]})",
            ]);
            Assert.Equal(
                live.Single(n => n.Name == "poller-" + id).Stack!.Frames.Select(f => f.ToString()).ToArray(),
                (await page.Locator("#details-frames-list li").AllTextContentsAsync()).ToArray());
            Assert.EndsWith(
                $"StackPageTests.cs:{marks["poll-once"]}:{live.Single(n => n.Name == "poller-" + id).Stack!.Frames[0].Column}",
                await page.Locator("#details-frames-list li").First.GetAttributeAsync("title"),
                StringComparison.Ordinal);
            await Expect(page.Locator("#details-awaiting-text")).ToContainTextAsync("call: Task.Delay");

            // Which task awaits which: the waiter awaits the loader's Start<T> task, and the link selects the loader.
            await Row(page, "waiter-" + id).Locator(".name").ClickAsync();
            await Expect(page.Locator("#details-frames-list li")).ToHaveTextAsync([$"lambda in StackPageTests.Page_LiveTree_ShowsEachFrameAtTheLineOfItsAwaitAndWhichTaskAwaitsWhich (StackPageTests.cs:{marks["waiter"]})"]);
            await Expect(page.Locator("#details-awaiting-text")).ToContainTextAsync($"task 'loader-{id}'");
            await page.Locator("#details-awaiting-text button.link").ClickAsync();
            await Expect(page.Locator("#details-title")).ToHaveTextAsync($"task loader-{id}");
            await page.CloseAsync();
        }
        finally
        {
            stop.TrySetResult();
            await run.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [SkippableFact]
    public async Task Page_HandBuiltSnapshotWithStacks_ShowsAwaitingInTheRowAndFramesInTheDetails()
    {
        Skip.If(_browser.SkipReason is not null, _browser.SkipReason);
        await using var app = await DashboardApp.StartAsync(source: new FixedSource(s_snapshot));
        var page = await _browser.Context.NewPageAsync();
        await page.GotoAsync(app.DashboardAddress.ToString());

        var poller = Row(page, "poller");
        await Expect(poller.Locator(".awaiting")).ToHaveTextAsync("awaits Task.Delay (4.8min left)");
        await poller.Locator(".name").ClickAsync();
        await Expect(page.Locator("#details-awaiting-text")).ToContainTextAsync("call: Task.Delay");
        await Expect(page.Locator("#details-frames-list li")).ToHaveTextAsync(["Poller.PollOnceAsync (Poller.cs:42)", "Poller.RunAsync (Poller.cs:17)"]);
        Assert.Equal("Orders.Poller\n/src/Orders/Poller.cs:42:13", await page.Locator("#details-frames-list li").First.GetAttributeAsync("title"));

        // What a task awaits can be another node: the link selects it.
        await Row(page, "waiter").Locator(".name").ClickAsync();
        await Expect(page.Locator("#details-frames-list li")).ToHaveTextAsync([$"lambda in {HostileMethod} (line unknown)"]); // a frame is text too
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

    private static async Task PollAsync(CancellationToken cancellationToken)
    {
        await PollOnceAsync(cancellationToken); // @await:poll
    }

    private static async Task PollOnceAsync(CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromMinutes(10), cancellationToken); // @await:poll-once
    }

    private static async Task<int> LoadAsync(Task until)
    {
        await until;
        return 42;
    }

    /// <summary>The test's three tasks as the library captures them now: suspended at their awaits, since children start
    /// inline and each of them awaits before its Start returns (ADR 0004).</summary>
    private static TaskTreeNode[] CaptureSuspended(string id)
    {
        var group = TaskTree.Capture().FindAll(n => n.Name == "stacks-" + id).Single();
        var tasks = group.Children.Where(c => c.Name is { } name && name.EndsWith("-" + id, StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, tasks.Length);
        Assert.All(tasks, t => Assert.Equal(TaskTreeStackStatus.Suspended, t.Stack?.Status));
        return tasks;
    }
}
