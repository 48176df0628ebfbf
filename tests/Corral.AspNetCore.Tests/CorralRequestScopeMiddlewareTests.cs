using System;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.AspNetCore.Tests;

public sealed class CorralRequestScopeMiddlewareTests
{
    /// <summary>What the endpoint saw of its ambient scope.</summary>
    private sealed record Observed(HttpStatusCode Status, DateTimeOffset? Deadline, string? Name, CapturingLoggerProvider Logs);

    /// <summary>Sends one request with the given header value (none when null) to an endpoint that records its scope.</summary>
    private static async Task<Observed> ObserveAsync(CorralRequestScopeOptions? options, string? header, string path = "/observe")
    {
        DateTimeOffset? deadline = null;
        string? name = null;
        await using var app = await TestApp.StartAsync(a =>
        {
            a.UseCorralRequestScopes(options);
            a.Run(context =>
            {
                deadline = CancelScope.CurrentDeadline;
                name = CancelScope.Current?.Name;
                return Task.CompletedTask;
            });
        });
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (header is not null)
        {
            request.Headers.TryAddWithoutValidation(CorralHttpHeaders.Timeout, header);
        }

        using var response = await client.SendAsync(request);
        return new Observed(response.StatusCode, deadline, name, app.Logs);
    }

    [Fact]
    public void UseCorralRequestScopes_NullApp_ThrowsArgumentNullException()
    {
        var e = Assert.Throws<ArgumentNullException>(() => CorralApplicationBuilderExtensions.UseCorralRequestScopes(null!));
        Assert.Equal("app", e.ParamName);
    }

    [Fact]
    public async Task UseCorralRequestScopes_Header_SetsTheDeadlineAndNameTheEndpointSees()
    {
        var time = new FakeTimeProvider();
        var observed = await ObserveAsync(new CorralRequestScopeOptions { TimeProvider = time }, "1500", "/orders/42");

        Assert.Equal(HttpStatusCode.OK, observed.Status);
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromMilliseconds(1500), observed.Deadline);
        Assert.Equal("GET /orders/42", observed.Name);
    }

    [Fact]
    public async Task UseCorralRequestScopes_NoHeaderAndNoDefault_NoDeadline()
    {
        var observed = await ObserveAsync(new CorralRequestScopeOptions { TimeProvider = new FakeTimeProvider() }, header: null);

        Assert.Equal(HttpStatusCode.OK, observed.Status);
        Assert.Null(observed.Deadline);
        Assert.Equal("GET /observe", observed.Name);
    }

    [Fact]
    public async Task UseCorralRequestScopes_NoOptions_RunsTheRequestInAScopeWithoutDeadline()
    {
        var observed = await ObserveAsync(null, header: null);

        Assert.Equal(HttpStatusCode.OK, observed.Status);
        Assert.Null(observed.Deadline);
        Assert.Equal("GET /observe", observed.Name);
    }

    // The rule: the header's timeout, else the default, else none; either cut down to the maximum. (null: not set.)
    [Theory]
    [InlineData(null, 5_000, null, 5_000)] // no header: the default applies
    [InlineData("60000", null, 10_000, 10_000)] // a header above the maximum is capped
    [InlineData("3000", null, 10_000, 3_000)] // a header below the maximum is kept
    [InlineData(null, 30_000, 10_000, 10_000)] // a default above the maximum is capped too
    [InlineData("250", 30_000, null, 250)] // a header wins over the default, even a shorter one
    public async Task UseCorralRequestScopes_HeaderDefaultAndMaxTimeout_DeadlineFollowsTheRule(
        string? header, int? defaultMs, int? maxMs, int expectedMs)
    {
        var time = new FakeTimeProvider();
        var options = new CorralRequestScopeOptions
        {
            TimeProvider = time,
            DefaultTimeout = defaultMs is { } d ? TimeSpan.FromMilliseconds(d) : null,
            MaxTimeout = maxMs is { } m ? TimeSpan.FromMilliseconds(m) : null,
        };

        var observed = await ObserveAsync(options, header);

        Assert.Equal(HttpStatusCode.OK, observed.Status);
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromMilliseconds(expectedMs), observed.Deadline);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-5")]
    [InlineData("+5")]
    [InlineData("1.5")]
    [InlineData("10ms")]
    [InlineData("10, 20")]
    [InlineData("123456789")]
    [InlineData("")]
    public async Task UseCorralRequestScopes_MalformedHeader_IsIgnoredAndLogged(string header)
    {
        var time = new FakeTimeProvider();
        var observed = await ObserveAsync(
            new CorralRequestScopeOptions { TimeProvider = time, DefaultTimeout = TimeSpan.FromSeconds(5) }, header);

        Assert.Equal(HttpStatusCode.OK, observed.Status);
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(5), observed.Deadline);
        var entry = Assert.Single(observed.Logs.Entries, e => e.EventId.Name == "MalformedTimeoutHeader");
        Assert.Equal(LogLevel.Debug, entry.Level);
        Assert.Contains("GET /observe", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseCorralRequestScopes_OptionsChangedAfterwards_KeepsTheSettingsItWasGiven()
    {
        var time = new FakeTimeProvider();
        var options = new CorralRequestScopeOptions { TimeProvider = time, DefaultTimeout = TimeSpan.FromSeconds(5) };
        DateTimeOffset? deadline = null;
        await using var app = await TestApp.StartAsync(a =>
        {
            a.UseCorralRequestScopes(options);
            a.Run(context =>
            {
                deadline = CancelScope.CurrentDeadline;
                return Task.CompletedTask;
            });
        });
        options.DefaultTimeout = TimeSpan.FromSeconds(1);
        using var client = app.CreateClient();

        using var response = await client.GetAsync(new Uri("/", UriKind.Relative));

        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(5), deadline);
    }

    [Fact]
    public async Task UseCorralRequestScopes_WhileTheRequestRuns_RequestAbortedIsTheScopeTokenAndIsRestoredAfter()
    {
        bool inside = false;
        bool restored = false;
        await using var app = await TestApp.StartAsync(a =>
        {
            a.Use(async (context, next) =>
            {
                var before = context.RequestAborted;
                await next(context);
                restored = context.RequestAborted == before;
            });
            a.UseCorralRequestScopes(new CorralRequestScopeOptions { TimeProvider = new FakeTimeProvider() });
            a.Run(context =>
            {
                inside = context.RequestAborted == CancelScope.Current!.Token;
                return Task.CompletedTask;
            });
        });
        using var client = app.CreateClient();

        using var response = await client.GetAsync(new Uri("/", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(inside);
        Assert.True(restored);
    }

    [Fact]
    public async Task UseCorralRequestScopes_DeadlinePassesWhileWaitingOnRequestAborted_Responds504WithTheDeadlineReason()
    {
        var time = new FakeTimeProvider();
        var waiting = TestApp.NewSignal<bool>();
        var caught = TestApp.NewSignal<(Exception Exception, CancelReason? Reason)>();
        await using var app = await TestApp.StartAsync(a =>
        {
            a.UseCorralRequestScopes(new CorralRequestScopeOptions { TimeProvider = time });
            a.Run(async context =>
            {
                waiting.SetResult(true);
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException e)
                {
                    caught.SetResult((e, CancelScope.Current?.CancelReason));
                    throw;
                }
            });
        });
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/slow");
        request.Headers.Add(CorralHttpHeaders.Timeout, "2000");

        var sending = client.SendAsync(request);
        await waiting.Task.WaitAsync(TestApp.Patience);
        time.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.False(caught.Task.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        using var response = await sending.WaitAsync(TestApp.Patience);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        var (exception, reason) = await caught.Task;
        Assert.IsAssignableFrom<OperationCanceledException>(exception);
        Assert.NotNull(reason);
        Assert.Equal(CancelReasonKind.DeadlineExceeded, reason.Kind);
        Assert.Equal("GET /slow", reason.Scope.Name);
    }

    [Fact]
    public async Task UseCorralRequestScopes_DeadlinePassesDuringSleep_RespondsTheConfiguredStatusCode()
    {
        var time = new FakeTimeProvider();
        var waiting = TestApp.NewSignal<bool>();
        var caught = TestApp.NewSignal<ScopeCancelledException>();
        await using var app = await TestApp.StartAsync(a =>
        {
            a.UseCorralRequestScopes(new CorralRequestScopeOptions { TimeProvider = time, TimeoutStatusCode = 503 });
            a.Run(async context =>
            {
                var sleeping = CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);
                waiting.SetResult(true);
                try
                {
                    await sleeping;
                }
                catch (ScopeCancelledException e)
                {
                    caught.SetResult(e);
                    throw;
                }
            });
        });
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/sleep");
        request.Headers.Add(CorralHttpHeaders.Timeout, "100");

        var sending = client.SendAsync(request);
        await waiting.Task.WaitAsync(TestApp.Patience);
        time.Advance(TimeSpan.FromMilliseconds(100));
        using var response = await sending.WaitAsync(TestApp.Patience);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(CancelReasonKind.DeadlineExceeded, (await caught.Task).Reason.Kind);
    }

    [Fact]
    public async Task UseCorralRequestScopes_ZeroHeader_FirstCheckpointThrowsAndResponds504()
    {
        bool reachedAfterCheckpoint = false;
        await using var app = await TestApp.StartAsync(a =>
        {
            a.UseCorralRequestScopes(new CorralRequestScopeOptions { TimeProvider = new FakeTimeProvider() });
            a.Run(async context =>
            {
                await CancelScope.CheckpointAsync();
                reachedAfterCheckpoint = true;
            });
        });
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add(CorralHttpHeaders.Timeout, "0");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.False(reachedAfterCheckpoint);
    }

    [Fact]
    public async Task UseCorralRequestScopes_DeadlinePassesAfterTheResponseStarted_AbortsTheConnection()
    {
        var time = new FakeTimeProvider();
        var waiting = TestApp.NewSignal<bool>();
        await using var app = await TestApp.StartAsync(a =>
        {
            a.UseCorralRequestScopes(new CorralRequestScopeOptions { TimeProvider = time });
            a.Run(async context =>
            {
                await context.Response.WriteAsync("partial", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                waiting.SetResult(true);
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            });
        });
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/stream");
        request.Headers.Add(CorralHttpHeaders.Timeout, "1000");

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TestApp.Patience);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await waiting.Task.WaitAsync(TestApp.Patience);
        time.Advance(TimeSpan.FromSeconds(1));

        await Assert.ThrowsAsync<HttpRequestException>(() => response.Content.ReadAsStringAsync().WaitAsync(TestApp.Patience));
    }

    [Fact]
    public async Task UseCorralRequestScopes_ClientDisconnects_CancelsTheScopeWithTheDisconnectReasonAndIsNot504()
    {
        var time = new FakeTimeProvider();
        var waiting = TestApp.NewSignal<bool>();
        var caught = TestApp.NewSignal<CancelReason?>();
        var status = TestApp.NewSignal<int>();
        await using var app = await TestApp.StartAsync(a =>
        {
            a.Use(async (context, next) =>
            {
                await next(context);
                status.SetResult(context.Response.StatusCode);
            });
            a.UseCorralRequestScopes(new CorralRequestScopeOptions { TimeProvider = time, DefaultTimeout = TimeSpan.FromSeconds(10) });
            a.Run(async context =>
            {
                waiting.SetResult(true);
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    var reason = CancelScope.Current?.CancelReason;

                    // The deadline passing after the disconnect changes nothing: the first reason wins.
                    time.Advance(TimeSpan.FromSeconds(10));
                    caught.SetResult(reason);
                    throw;
                }
            });
        });
        using var client = app.CreateClient();
        using var cts = new CancellationTokenSource();

        var sending = client.GetAsync(new Uri("/slow", UriKind.Relative), cts.Token);
        await waiting.Task.WaitAsync(TestApp.Patience);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);

        var reason = await caught.Task.WaitAsync(TestApp.Patience);
        Assert.NotNull(reason);
        Assert.Equal(CancelReasonKind.Requested, reason.Kind);
        Assert.Equal("the client disconnected", reason.Message);
        Assert.NotEqual(StatusCodes.Status504GatewayTimeout, await status.Task.WaitAsync(TestApp.Patience));
    }

    [Fact]
    public async Task UseCorralRequestScopes_EndpointThrows_ExceptionPassesThroughUnchanged()
    {
        var thrown = new InvalidOperationException("boom");
        var seen = TestApp.NewSignal<Exception>();
        await using var app = await TestApp.StartAsync(a =>
        {
            a.Use(async (context, next) =>
            {
                try
                {
                    await next(context);
                }
                catch (Exception e)
                {
                    seen.SetResult(e);
                    context.Response.StatusCode = 500;
                }
            });
            a.UseCorralRequestScopes(new CorralRequestScopeOptions { TimeProvider = new FakeTimeProvider() });
            a.Run(_ => throw thrown);
        });
        using var client = app.CreateClient();

        using var response = await client.GetAsync(new Uri("/", UriKind.Relative));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Same(thrown, await seen.Task.WaitAsync(TestApp.Patience));
    }

    [Fact]
    public async Task UseCorralRequestScopes_EndpointThrowsAnotherExceptionAfterTheDeadline_ItPassesThroughNot504()
    {
        var time = new FakeTimeProvider();
        var waiting = TestApp.NewSignal<bool>();
        var seen = TestApp.NewSignal<Exception>();
        await using var app = await TestApp.StartAsync(a =>
        {
            a.Use(async (context, next) =>
            {
                try
                {
                    await next(context);
                }
                catch (Exception e)
                {
                    seen.SetResult(e);
                    context.Response.StatusCode = 500;
                }
            });
            a.UseCorralRequestScopes(new CorralRequestScopeOptions { TimeProvider = time });
            a.Run(async context =>
            {
                waiting.SetResult(true);
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    throw new InvalidOperationException("translated");
                }
            });
        });
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add(CorralHttpHeaders.Timeout, "50");

        var sending = client.SendAsync(request);
        await waiting.Task.WaitAsync(TestApp.Patience);
        time.Advance(TimeSpan.FromMilliseconds(50));
        using var response = await sending.WaitAsync(TestApp.Patience);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("translated", Assert.IsType<InvalidOperationException>(await seen.Task).Message);
    }

    [Fact]
    public async Task UseCorralRequestScopes_EndToEnd_ServiceBSeesTheBudgetServiceALeft()
    {
        var time = new FakeTimeProvider();
        DateTimeOffset? deadlineInB = null;
        string? headerInA = null;
        string? headerInB = null;
        DateTimeOffset? deadlineInA = null;
        await using var b = await TestApp.StartAsync(app =>
        {
            app.UseCorralRequestScopes(new CorralRequestScopeOptions { TimeProvider = time });
            app.Run(context =>
            {
                headerInB = context.Request.Headers[CorralHttpHeaders.Timeout].ToString();
                deadlineInB = CancelScope.CurrentDeadline;
                return Task.CompletedTask;
            });
        });
        await using var a = await TestApp.StartAsync(
            app =>
            {
                app.UseCorralRequestScopes(new CorralRequestScopeOptions { TimeProvider = time });
                app.Run(async context =>
                {
                    headerInA = context.Request.Headers[CorralHttpHeaders.Timeout].ToString();
                    deadlineInA = CancelScope.CurrentDeadline;
                    time.Advance(TimeSpan.FromMilliseconds(3250)); // A works for a while before it calls B.
                    var client = context.RequestServices.GetRequiredService<IHttpClientFactory>().CreateClient("b");
                    using var response = await client.GetAsync(new Uri("/work", UriKind.Relative), context.RequestAborted);
                    context.Response.StatusCode = (int)response.StatusCode;
                });
            },
            services => services
                .AddHttpClient("b", client => client.BaseAddress = b.BaseAddress)
                .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { UseProxy = false })
                .AddCorralDeadlines());
        var start = time.GetUtcNow();

        // The caller of A has 10 s, and sends them through the same handler.
        using var caller = a.CreateClient(new CorralDeadlineHandler(new SocketsHttpHandler { UseProxy = false }));
        HttpStatusCode status = 0;
        await CancelScope.RunAsync(
            async scope =>
            {
                using var response = await caller.GetAsync(new Uri("/", UriKind.Relative), scope.Token);
                status = response.StatusCode;
            },
            new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(10), TimeProvider = time });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("10000", headerInA);
        Assert.Equal(start + TimeSpan.FromSeconds(10), deadlineInA);
        Assert.Equal("6750", headerInB);
        Assert.Equal(start + TimeSpan.FromSeconds(10), deadlineInB);
        Assert.Equal(TimeSpan.FromMilliseconds(6750), deadlineInB - time.GetUtcNow());
    }
}
