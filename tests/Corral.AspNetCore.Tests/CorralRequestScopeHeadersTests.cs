using System;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.AspNetCore.Tests;

/// <summary>The headers others already send (ADR 0017): which are read, how they combine, and what a cut-off request says.</summary>
public sealed class CorralRequestScopeHeadersTests
{
    private static async Task<(DateTimeOffset? Deadline, CapturingLoggerProvider Logs)> ObserveAsync(
        CorralRequestScopeOptions options, params (string Name, string Value)[] headers)
    {
        DateTimeOffset? deadline = null;
        await using var app = await TestApp.StartAsync(a =>
        {
            a.UseCorralRequestScopes(options);
            a.Run(_ =>
            {
                deadline = CancelScope.CurrentDeadline;
                return Task.CompletedTask;
            });
        });
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/observe");
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (deadline, app.Logs);
    }

    [Theory]
    [InlineData("Corral-Timeout", "1500", 1500)]
    [InlineData("grpc-timeout", "1500m", 1500)]
    [InlineData("grpc-timeout", "2S", 2000)]
    [InlineData("Connect-Timeout-Ms", "1500", 1500)]
    public async Task UseCorralRequestScopes_EachDefaultHeader_SetsTheDeadline(string name, string value, int expectedMs)
    {
        var time = new FakeTimeProvider();
        var (deadline, _) = await ObserveAsync(new CorralRequestScopeOptions { TimeProvider = time }, (name, value));

        Assert.Equal(time.GetUtcNow() + TimeSpan.FromMilliseconds(expectedMs), deadline);
    }

    [Fact]
    public async Task UseCorralRequestScopes_EnvoyHeaderByDefault_IsNotRead()
    {
        var (deadline, _) = await ObserveAsync(
            new CorralRequestScopeOptions { TimeProvider = new FakeTimeProvider() }, ("x-envoy-expected-rq-timeout-ms", "15000"));

        Assert.Null(deadline);
    }

    [Fact]
    public async Task UseCorralRequestScopes_EnvoyHeaderOptedIn_SetsTheDeadline()
    {
        var time = new FakeTimeProvider();
        var options = new CorralRequestScopeOptions { TimeProvider = time };
        options.DeadlineHeaders.Add(DeadlineHeader.Envoy);

        var (deadline, _) = await ObserveAsync(options, ("x-envoy-expected-rq-timeout-ms", "15000"));

        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(15), deadline);
    }

    [Fact]
    public async Task UseCorralRequestScopes_SeveralHeaders_TheEarliestDeadlineWins()
    {
        var time = new FakeTimeProvider();
        var options = new CorralRequestScopeOptions { TimeProvider = time };
        options.DeadlineHeaders.Add(DeadlineHeader.Envoy);

        var (deadline, _) = await ObserveAsync(
            options,
            ("Corral-Timeout", "9000"),
            ("grpc-timeout", "8S"),
            ("Connect-Timeout-Ms", "7000"),
            ("x-envoy-expected-rq-timeout-ms", "6000"));

        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(6), deadline);
    }

    [Fact]
    public async Task UseCorralRequestScopes_OneHeaderMalformed_TheOthersStillCountAndItIsLogged()
    {
        var time = new FakeTimeProvider();
        var (deadline, logs) = await ObserveAsync(
            new CorralRequestScopeOptions { TimeProvider = time }, ("grpc-timeout", "5x"), ("Connect-Timeout-Ms", "4000"));

        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(4), deadline);
        var entry = Assert.Single(logs.Entries, e => e.EventId.Name == "MalformedTimeoutHeader");
        Assert.Equal(LogLevel.Debug, entry.Level);
        Assert.Contains("grpc-timeout header '5x'", entry.Message, StringComparison.Ordinal);
        Assert.Contains("a unit (H, M, S, m, u, n)", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseCorralRequestScopes_DeadlineHeadersCleared_ReadsNoneAndTheDefaultApplies()
    {
        var time = new FakeTimeProvider();
        var options = new CorralRequestScopeOptions { TimeProvider = time, DefaultTimeout = TimeSpan.FromSeconds(30) };
        options.DeadlineHeaders.Clear();

        var (deadline, _) = await ObserveAsync(options, ("Corral-Timeout", "1000"), ("grpc-timeout", "1S"));

        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(30), deadline);
    }

    [Fact]
    public async Task UseCorralRequestScopes_GrpcTimeoutBeyondMaxTimeout_IsCapped()
    {
        var time = new FakeTimeProvider();
        var (deadline, _) = await ObserveAsync(
            new CorralRequestScopeOptions { TimeProvider = time, MaxTimeout = TimeSpan.FromSeconds(10) }, ("grpc-timeout", "99999999H"));

        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(10), deadline);
    }

    [Fact]
    public void UseCorralRequestScopes_UndefinedHeaderInTheList_ThrowsArgumentException()
    {
        var options = new CorralRequestScopeOptions();
        options.DeadlineHeaders.Add((DeadlineHeader)42);
        var app = WebApplication.CreateSlimBuilder().Build();

        var e = Assert.Throws<ArgumentException>(() => app.UseCorralRequestScopes(options));
        Assert.Equal("DeadlineHeaders", e.ParamName);
    }

    [Fact]
    public async Task UseCorralRequestScopes_ClientDisconnectsAtTheDeadlineItsHeaderAnnounced_ReasonIsTheCallersDeadline()
    {
        var time = new FakeTimeProvider();
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var caught = new TaskCompletionSource<CancelReason?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(a =>
        {
            a.UseCorralRequestScopes(new CorralRequestScopeOptions { TimeProvider = time });
            a.Run(async context =>
            {
                waiting.SetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    caught.SetResult(CancelScope.Current?.CancelReason);
                    throw;
                }
            });
        });
        using var client = app.CreateClient();
        using var cts = new CancellationTokenSource();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/downstream");
        request.Headers.Add(CorralHttpHeaders.Timeout, "10000");

        var sending = client.SendAsync(request, cts.Token);
        await waiting.Task.WaitAsync(TestApp.Patience);
        time.Advance(TimeSpan.FromMilliseconds(9_900)); // the caller's deadline passed; its request took 100 ms to arrive
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);

        var reason = await caught.Task.WaitAsync(TestApp.Patience);
        Assert.Equal("the caller's deadline passed", reason!.Message);
        var entry = Assert.Single(app.Logs.Entries, e => e.EventId.Name == "CallerDeadlinePassed");
        Assert.Equal(LogLevel.Information, entry.Level);
        Assert.Contains("GET /downstream", entry.Message, StringComparison.Ordinal);
        Assert.Contains("100 ms before the deadline", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseCorralRequestScopes_ClientDisconnectsLongBeforeTheDeadline_ReasonIsTheDisconnect()
    {
        var time = new FakeTimeProvider();
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var caught = new TaskCompletionSource<CancelReason?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(a =>
        {
            a.UseCorralRequestScopes(new CorralRequestScopeOptions { TimeProvider = time });
            a.Run(async context =>
            {
                waiting.SetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    caught.SetResult(CancelScope.Current?.CancelReason);
                    throw;
                }
            });
        });
        using var client = app.CreateClient();
        using var cts = new CancellationTokenSource();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/downstream");
        request.Headers.Add(CorralHttpHeaders.Timeout, "10000");

        var sending = client.SendAsync(request, cts.Token);
        await waiting.Task.WaitAsync(TestApp.Patience);
        time.Advance(TimeSpan.FromMilliseconds(9_700)); // 300 ms left: outside the 250 ms margin
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);

        Assert.Equal("the client disconnected", (await caught.Task.WaitAsync(TestApp.Patience))!.Message);
        Assert.Contains(app.Logs.Entries, e => e.EventId.Name == "ClientDisconnected" && e.Level == LogLevel.Debug);
    }

    [Fact]
    public async Task UseCorralRequestScopes_WriteProblemDetails_504CarriesAProblemDetailsBody()
    {
        await using var app = await TestApp.StartAsync(a =>
        {
            a.UseCorralRequestScopes(new CorralRequestScopeOptions { TimeProvider = new FakeTimeProvider(), WriteProblemDetails = true });
            a.Run(async _ => await CancelScope.CheckpointAsync());
        });
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add(CorralHttpHeaders.Timeout, "0");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(504, body.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("The request's deadline passed before it completed.", body.RootElement.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task UseCorralRequestScopes_ProblemDetailsOff_504HasAnEmptyBody()
    {
        await using var app = await TestApp.StartAsync(a =>
        {
            a.UseCorralRequestScopes(new CorralRequestScopeOptions { TimeProvider = new FakeTimeProvider() });
            a.Run(async _ => await CancelScope.CheckpointAsync());
        });
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add(CorralHttpHeaders.Timeout, "0");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }
}
