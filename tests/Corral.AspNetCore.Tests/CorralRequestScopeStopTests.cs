using System;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.AspNetCore.Tests;

/// <summary>
/// Requests in flight when the server stops (issue 16): each request scope is asked to stop, then cancelled when its grace runs
/// out, and answered 503. Real Kestrel on 127.0.0.1; the grace runs on a fake clock.
/// </summary>
public sealed class CorralRequestScopeStopTests
{
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(30);

    private static TaskCompletionSource<T> NewSignal<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [Fact]
    public async Task UseCorralRequestScopes_ServerStopsWithARequestInFlight_StopRequestedThen503AtTheGrace()
    {
        var time = new FakeTimeProvider();
        var waiting = NewSignal<CancelScope>();
        var stopSeen = NewSignal<bool>();
        var caught = NewSignal<CancelReason?>();
        await using var app = await TestApp.StartAsync(a =>
        {
            a.UseCorralRequestScopes(new CorralRequestScopeOptions { TimeProvider = time, StopGracePeriod = TimeSpan.FromSeconds(5) });
            a.Run(async context =>
            {
                using var onStop = CancelScope.CurrentStoppingToken.Register(() => stopSeen.TrySetResult(CancelScope.CurrentStopRequested));
                waiting.SetResult(CancelScope.Current!);
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
        var sending = client.GetAsync(new Uri("/report", UriKind.Relative));
        var scope = await waiting.Task.WaitAsync(s_patience);

        var stopping = app.StopAsync(); // ApplicationStopping fires
        await stopSeen.Task.WaitAsync(s_patience);
        Assert.True(scope.IsStopRequested);
        Assert.Equal("the server is stopping", scope.StopRequest!.Reason);
        Assert.False(scope.IsCancellationRequested); // asked first
        time.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromTicks(1));
        Assert.False(caught.Task.IsCompleted);
        time.Advance(TimeSpan.FromTicks(1));

        using var response = await sending.WaitAsync(s_patience);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.True(response.Headers.ConnectionClose);
        var reason = await caught.Task;
        Assert.Equal(CancelReasonKind.StopRequested, reason!.Kind);
        Assert.Equal("scope 'GET /report': stop requested: the server is stopping; grace of 5 s ran out", reason.ToString());
        await stopping.WaitAsync(s_patience);
        Assert.Contains(app.Logs.Entries, e => e.EventId.Name == "RequestStoppedByServer");
    }

    [Fact]
    public async Task UseCorralRequestScopes_RequestFinishesWithinTheGrace_ItsOwnResponse()
    {
        var time = new FakeTimeProvider();
        var waiting = NewSignal<bool>();
        await using var app = await TestApp.StartAsync(a =>
        {
            a.UseCorralRequestScopes(new CorralRequestScopeOptions { TimeProvider = time, StopGracePeriod = TimeSpan.FromSeconds(5) });
            a.Run(async context =>
            {
                waiting.SetResult(true);
                try
                {
                    await Task.Delay(Timeout.Infinite, CancelScope.CurrentStoppingToken);
                }
                catch (OperationCanceledException) when (CancelScope.CurrentStopRequested)
                {
                    // Asked to stop: finish the answer in hand.
                }

                await context.Response.WriteAsync("finished in the grace");
            });
        });
        using var client = app.CreateClient();
        var sending = client.GetAsync(new Uri("/", UriKind.Relative));
        await waiting.Task.WaitAsync(s_patience);

        var stopping = app.StopAsync();
        using var response = await sending.WaitAsync(s_patience);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("finished in the grace", await response.Content.ReadAsStringAsync());
        await stopping.WaitAsync(s_patience);
    }

    [Fact]
    public async Task UseCorralRequestScopes_DeadlineFallsInTheGrace_KeepsItsOwn504()
    {
        var time = new FakeTimeProvider();
        var waiting = NewSignal<bool>();
        var caught = NewSignal<CancelReason?>();
        await using var app = await TestApp.StartAsync(a =>
        {
            a.UseCorralRequestScopes(new CorralRequestScopeOptions { TimeProvider = time, StopGracePeriod = TimeSpan.FromSeconds(5) });
            a.Run(async context =>
            {
                waiting.SetResult(true);
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
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add(CorralHttpHeaders.Timeout, "2000");
        var sending = client.SendAsync(request);
        await waiting.Task.WaitAsync(s_patience);

        var stopping = app.StopAsync();
        time.Advance(TimeSpan.FromSeconds(2));
        using var response = await sending.WaitAsync(s_patience);
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal(CancelReasonKind.DeadlineExceeded, (await caught.Task)!.Kind);
        await stopping.WaitAsync(s_patience);
    }

    [Fact]
    public void StopGracePeriodAndStoppingStatusCode_BadValues_Throw()
    {
        var options = new CorralRequestScopeOptions();
        Assert.Throws<ArgumentOutOfRangeException>(() => options.StopGracePeriod = TimeSpan.FromSeconds(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => options.StopGracePeriod = TimeSpan.MaxValue);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.StoppingStatusCode = 200);
        options.StopGracePeriod = Timeout.InfiniteTimeSpan;
        options.StopGracePeriod = TimeSpan.Zero;
        Assert.Equal(503, options.StoppingStatusCode);
    }
}
