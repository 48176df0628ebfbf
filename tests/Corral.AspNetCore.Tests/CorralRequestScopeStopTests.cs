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
    /// <summary>
    /// Starts an application whose one endpoint runs <see cref="WaitingEndpoint.HandleAsync"/> in request scopes on
    /// <paramref name="time"/>, with a grace of five seconds.
    /// </summary>
    private static Task<TestApp> StartAsync(FakeTimeProvider time, WaitingEndpoint endpoint) => TestApp.StartAsync(a =>
    {
        a.UseCorralRequestScopes(new CorralRequestScopeOptions { TimeProvider = time, StopGracePeriod = TimeSpan.FromSeconds(5) });
        a.Run(endpoint.HandleAsync);
    });

    [Fact]
    public async Task UseCorralRequestScopes_ServerStopsWithARequestInFlight_StopRequestedThen503AtTheGrace()
    {
        var time = new FakeTimeProvider();
        var endpoint = new WaitingEndpoint();
        await using var app = await StartAsync(time, endpoint);
        using var client = app.CreateClient();
        var sending = client.GetAsync(new Uri("/report", UriKind.Relative));
        var scope = await endpoint.Running.Task.WaitAsync(TestApp.Patience);

        var stopping = app.StopAsync(); // ApplicationStopping fires
        await endpoint.StopSeen.Task.WaitAsync(TestApp.Patience);
        Assert.True(scope.IsStopRequested);
        Assert.Equal("the server is stopping", scope.StopRequest!.Reason);
        Assert.False(scope.IsCancellationRequested); // asked first
        time.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromTicks(1));
        Assert.False(endpoint.Cancelled.Task.IsCompleted);
        time.Advance(TimeSpan.FromTicks(1));

        using var response = await sending.WaitAsync(TestApp.Patience);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.True(response.Headers.ConnectionClose);
        var reason = await endpoint.Cancelled.Task;
        Assert.Equal(CancelReasonKind.StopRequested, reason!.Kind);
        Assert.Equal("scope 'GET /report': stop requested: the server is stopping; grace of 5 s ran out", reason.ToString());
        await stopping.WaitAsync(TestApp.Patience);
        Assert.Contains(app.Logs.Entries, e => e.EventId.Name == "RequestStoppedByServer");
    }

    [Fact]
    public async Task UseCorralRequestScopes_RequestArrivesAfterTheStopBeganWithNoneInFlight_GetsWhatIsLeftOfTheGrace()
    {
        // ApplicationStopping fires with no request in flight; the server goes on serving (nothing stops Kestrel here, as
        // during its drain). A request three seconds later gets the two seconds left of the five, not five of its own.
        var time = new FakeTimeProvider();
        var endpoint = new WaitingEndpoint();
        await using var app = await StartAsync(time, endpoint);
        app.Lifetime.StopApplication();
        time.Advance(TimeSpan.FromSeconds(3));

        using var client = app.CreateClient();
        var sending = client.GetAsync(new Uri("/late", UriKind.Relative));
        var scope = await endpoint.Running.Task.WaitAsync(TestApp.Patience);
        Assert.True(scope.IsStopRequested); // asked at once
        Assert.Equal(TimeSpan.FromSeconds(2), scope.StopRequest!.GracePeriod);
        time.Advance(TimeSpan.FromSeconds(2) - TimeSpan.FromTicks(1));
        Assert.False(endpoint.Cancelled.Task.IsCompleted);
        time.Advance(TimeSpan.FromTicks(1));

        using var response = await sending.WaitAsync(TestApp.Patience);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("scope 'GET /late': stop requested: the server is stopping; grace of 2 s ran out", (await endpoint.Cancelled.Task)!.ToString());
    }

    [Fact]
    public async Task UseCorralRequestScopes_RequestFinishesWithinTheGrace_ItsOwnResponse()
    {
        var time = new FakeTimeProvider();
        var waiting = TestApp.NewSignal<bool>();
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
        await waiting.Task.WaitAsync(TestApp.Patience);

        var stopping = app.StopAsync();
        using var response = await sending.WaitAsync(TestApp.Patience);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("finished in the grace", await response.Content.ReadAsStringAsync());
        await stopping.WaitAsync(TestApp.Patience);
    }

    [Fact]
    public async Task UseCorralRequestScopes_DeadlineFallsInTheGrace_KeepsItsOwn504()
    {
        var time = new FakeTimeProvider();
        var endpoint = new WaitingEndpoint();
        await using var app = await StartAsync(time, endpoint);
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add(CorralHttpHeaders.Timeout, "2000");
        var sending = client.SendAsync(request);
        await endpoint.Running.Task.WaitAsync(TestApp.Patience);

        var stopping = app.StopAsync();
        time.Advance(TimeSpan.FromSeconds(2));
        using var response = await sending.WaitAsync(TestApp.Patience);
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal(CancelReasonKind.DeadlineExceeded, (await endpoint.Cancelled.Task)!.Kind);
        await stopping.WaitAsync(TestApp.Patience);
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

    /// <summary>
    /// An endpoint that hands over its scope, then waits until its request is cancelled and records why; it also records
    /// whether its scope was stopping when its stopping token fired.
    /// </summary>
    private sealed class WaitingEndpoint
    {
        public TaskCompletionSource<CancelScope> Running { get; } = TestApp.NewSignal<CancelScope>();

        public TaskCompletionSource<bool> StopSeen { get; } = TestApp.NewSignal<bool>();

        public TaskCompletionSource<CancelReason?> Cancelled { get; } = TestApp.NewSignal<CancelReason?>();

        public async Task HandleAsync(HttpContext context)
        {
            using var onStop = CancelScope.CurrentStoppingToken.Register(() => StopSeen.TrySetResult(CancelScope.CurrentStopRequested));
            Running.SetResult(CancelScope.Current!);
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                Cancelled.SetResult(CancelScope.Current?.CancelReason);
                throw;
            }
        }
    }
}
