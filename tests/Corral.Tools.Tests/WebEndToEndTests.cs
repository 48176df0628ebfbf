using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Corral.Tool;
using Xunit;

namespace Corral.Tools.Tests;

/// <summary><c>corral web PID</c> against samples/Corral.TreeDemo: the real command, the page, and the pushed tree.</summary>
[Collection(ProcessTests.Name)]
public sealed class WebEndToEndTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(45);

    private readonly TreeDemoFixture _fixture;

    public WebEndToEndTests(TreeDemoFixture fixture) => _fixture = fixture;

    [Fact]
    public async Task CorralWeb_TreeDemo_ServesThePageAndPushesTheTreeWithTheStubbornTaskHighlighted()
    {
        await using var web = ChildProcess.Start(
            ChildProcess.ToolDll, "web", _fixture.Demo.Id.ToString(CultureInfo.InvariantCulture), "--port", "0", "--interval", "0.5", "--grace", "0.1", "--timeout", "20");
        try
        {
            var line = await web.ReadLineAsync(s_limit);
            Assert.True(line is not null, "corral web printed nothing; stderr: " + web.StandardError);
            Assert.StartsWith($"corral web: the live tree of process {_fixture.Demo.Id} (Corral.TreeDemo) at http://127.0.0.1:", line, StringComparison.Ordinal);
            var url = new Uri(line.Split(" at ")[1].Split(' ')[0]);
            using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = url, Timeout = s_limit };

            using var page = await client.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
            Assert.Contains("dashboard.js", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            using var events = await client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal("text/event-stream", events.Content.Headers.ContentType?.MediaType);
            using var reader = new StreamReader(await events.Content.ReadAsStreamAsync());
            using var first = await ReadFrameAsync(reader);
            using var second = await ReadFrameAsync(reader);

            var frame = first.RootElement;
            Assert.Equal($"process {_fixture.Demo.Id} (Corral.TreeDemo)", frame.GetProperty("title").GetString());
            Assert.False(frame.GetProperty("canCancel").GetBoolean()); // corral web is read-only
            var snapshot = Corral.Diagnostics.TaskTreeSnapshot.FromJson(frame.GetProperty("snapshot").GetRawText());
            Assert.Equal(_fixture.Demo.Id, snapshot.ProcessId);
            var stubborn = Assert.Single(snapshot.FindAll(n => n.Name == "stubborn-loop"));
            Assert.Equal(Corral.Diagnostics.TaskTreeNodeState.Cancelling, stubborn.State);
            var report = Assert.Single(frame.GetProperty("watchdog").EnumerateArray());
            Assert.Equal("stubborn-loop", report.GetProperty("taskName").GetString());
            Assert.Equal("drain", report.GetProperty("group").GetString());
            Assert.Equal("grace", report.GetProperty("source").GetString());
            Assert.True(second.RootElement.GetProperty("seq").GetInt64() > frame.GetProperty("seq").GetInt64()); // pushed again, no new request
        }
        finally
        {
            web.Kill();
        }
    }

    [Fact]
    public async Task RunAsync_WebTargetExits_EndsWithExitCodeThree()
    {
        var demo = await ChildProcess.StartTreeDemoAsync();
        var id = demo.Id;
        using var output = new LineSignal();
        var run = Program.RunAsync(["web", id.ToString(CultureInfo.InvariantCulture), "--timeout", "20"], output, TextWriter.Null, interactive: false, CancellationToken.None);
        await output.FirstLine.WaitAsync(s_limit);

        await demo.DisposeAsync(); // closes its standard input: the demo winds down and exits
        var exitCode = await run.WaitAsync(s_limit);

        Assert.Equal(ExitCodes.NotReachable, exitCode);
        Assert.Contains($"process {id} has exited", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_WebCtrlC_EndsWithZero()
    {
        using var stop = new CancellationTokenSource();
        using var output = new LineSignal();
        var run = Program.RunAsync(["web", _fixture.Demo.Id.ToString(CultureInfo.InvariantCulture), "--timeout", "20"], output, TextWriter.Null, interactive: false, stop.Token);
        await output.FirstLine.WaitAsync(s_limit);

        stop.Cancel();

        Assert.Equal(ExitCodes.Ok, await run.WaitAsync(s_limit));
    }

    private static async Task<JsonDocument> ReadFrameAsync(StreamReader reader)
    {
        using var limit = new CancellationTokenSource(s_limit);
        while (true)
        {
            var line = await reader.ReadLineAsync(limit.Token) ?? throw new EndOfStreamException("the event stream ended");
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                return JsonDocument.Parse(line["data: ".Length..]);
            }
        }
    }

    /// <summary>A writer that signals its first line.</summary>
    private sealed class LineSignal : StringWriter
    {
        private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task FirstLine => _first.Task;

        public override Task WriteLineAsync(string? value)
        {
            lock (this)
            {
                base.WriteLine(value);
            }

            _first.TrySetResult();
            return Task.CompletedTask;
        }

        public override string ToString()
        {
            lock (this)
            {
                return base.ToString();
            }
        }
    }
}
