using System;
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Corral.Grpc.Tests.Protos;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.Grpc.Tests;

/// <summary>
/// The race of CorralClientInterceptor's essay: grpc-dotnet's deadline timer fires before the scope's. A clock whose reading
/// is set apart from its timers lets the test put the scope's deadline in the past while its timer has not run yet.
/// </summary>
public sealed class ClientCallRaceTests
{
    private static readonly Method<ProbeRequest, ProbeReply> s_method = new(
        MethodType.Unary, "corral.tests.Probe", "Unary", Marshallers.Create(r => r.ToByteArray(), ProbeRequest.Parser.ParseFrom), Marshallers.Create(r => r.ToByteArray(), ProbeReply.Parser.ParseFrom));

    private static RpcException DeadlineExceeded() => new(new Status(StatusCode.DeadlineExceeded, ""));

    [Fact]
    public async Task TranslateAsync_GrpcDeadlineFiresBeforeTheScopes_WaitsForTheScopeAndTranslates()
    {
        var clock = new SplitClock();
        Exception? seen = null;
        await CancelScope.RunAsync(
            async scope =>
            {
                var context = new ClientInterceptorContext<ProbeRequest, ProbeReply>(s_method, null, default);
                var call = ClientCall.Begin(ref context)!;
                clock.Now += TimeSpan.FromSeconds(9.9); // grpc-dotnet's timer ran 100 ms early by the scope's clock

                var translating = call.TranslateAsync(Task.FromException<ProbeReply>(DeadlineExceeded()));
                Assert.False(scope.IsCancellationRequested);
                clock.Now += TimeSpan.FromSeconds(0.1);
                clock.Timers.Advance(TimeSpan.FromSeconds(10)); // now the scope's runs
                try
                {
                    await translating.WaitAsync(TimeSpan.FromSeconds(30));
                }
                catch (Exception e)
                {
                    seen = e;
                    throw;
                }
            },
            new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(10), TimeProvider = clock });

        var cancelled = Assert.IsType<ScopeCancelledException>(seen);
        Assert.Equal(CancelReasonKind.DeadlineExceeded, cancelled.Reason.Kind);
        Assert.IsType<RpcException>(cancelled.InnerException);
    }

    [Fact]
    public async Task TranslateAsync_ScopesDeadlinePassedButItsTimerRunsLate_TranslatesAtOnce()
    {
        // A busy machine: the scope's clock is past its deadline, its timer has not run (and here never will), and the call
        // ended DEADLINE_EXCEEDED. Waiting RaceTolerance for the timer and then passing the RpcException through would make a
        // MoveOnAfterAsync throw; the scope is told its deadline is due instead.
        var clock = new SplitClock();
        Exception? seen = null;
        bool completed = true;
        await CancelScope.RunAsync(
            async _ => completed = await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(10), async _ =>
            {
                var context = new ClientInterceptorContext<ProbeRequest, ProbeReply>(s_method, null, default);
                var call = ClientCall.Begin(ref context)!;
                clock.Now += TimeSpan.FromSeconds(10);
                try
                {
                    // Translated before TranslateAsync returns; the bound only turns the old wait into a failure.
                    await call.TranslateAsync(Task.FromException<ProbeReply>(DeadlineExceeded())).WaitAsync(CorralClientInterceptor.RaceTolerance / 2, TimeProvider.System, CancellationToken.None);
                }
                catch (Exception e)
                {
                    seen = e;
                    throw;
                }
            }),
            new CancelScopeOptions { TimeProvider = clock });

        Assert.False(completed);
        var cancelled = Assert.IsType<ScopeCancelledException>(seen);
        Assert.Equal(CancelReasonKind.DeadlineExceeded, cancelled.Reason.Kind);
        Assert.IsType<RpcException>(cancelled.InnerException);
    }

    [Theory]
    [InlineData(14_000L)] // 1.4 ms
    [InlineData(3_000L)] // 0.3 ms
    [InlineData(2_496_000L)] // 249.6 ms
    [InlineData(12_344_000L)] // 1,234.4 ms
    [InlineData(1_000_000_000L)] // 100 s exactly
    public void ToCallDeadline_TimeLeftWithAFraction_GrpcDotnetNeverSendsLessThanIsLeft(long leftTicks)
    {
        // grpc-dotnet (2.85, GrpcCall.CreateHttpRequestMessage) writes grpc-timeout as (deadline - its now).Ticks /
        // TimeSpan.TicksPerMillisecond: whole milliseconds rounded DOWN (then up to three significant figures, which only adds).
        // Whenever it reads its clock after ours, what it sends must not be less than what is left then, or the server's deadline
        // falls before ours. Steps of 100 ticks (10 µs) over the first 2 ms: every fraction of a millisecond is met.
        var left = TimeSpan.FromTicks(leftTicks);
        var now = new DateTime(2026, 12, 7, 18, 0, 0, DateTimeKind.Utc);
        var deadline = ClientCall.ToCallDeadline(left, now, DateTime.MaxValue)!.Value;
        for (long elapsed = 0; elapsed < Math.Min(leftTicks, 20_000); elapsed += 100)
        {
            long sent = GrpcDotnetSends(deadline - now.AddTicks(elapsed));
            Assert.True(
                sent * TimeSpan.TicksPerMillisecond >= leftTicks - elapsed,
                $"{left.TotalMilliseconds} ms left, read {elapsed / 10_000.0} ms later: grpc-dotnet sends {sent} ms");
        }

        Assert.True(deadline - now - left <= ClientCall.RoundingAllowance); // and never a whole millisecond more
    }

    [Fact]
    public void ToCallDeadline_OnePointFourMillisecondsLeft_GrpcDotnetSendsTwo()
    {
        var now = new DateTime(2026, 12, 7, 18, 0, 0, DateTimeKind.Utc);
        var deadline = ClientCall.ToCallDeadline(TimeSpan.FromTicks(14_000), now, DateTime.MaxValue)!.Value;
        Assert.Equal(2, GrpcDotnetSends(deadline - now));
    }

    [Fact]
    public void ToCallDeadline_ExactBudget_GrpcDotnetSendsItExactly()
    {
        // The allowance is a tick short of a millisecond: a budget of whole milliseconds read at once crosses unchanged.
        var now = new DateTime(2026, 12, 7, 18, 0, 0, DateTimeKind.Utc);
        var deadline = ClientCall.ToCallDeadline(TimeSpan.FromMilliseconds(250), now, DateTime.MaxValue)!.Value;
        Assert.Equal(250, GrpcDotnetSends(deadline - now));
    }

    /// <summary>The milliseconds grpc-dotnet (2.85) writes for a timeout, before its rounding to three significant figures.</summary>
    private static long GrpcDotnetSends(TimeSpan timeout) => timeout.Ticks / TimeSpan.TicksPerMillisecond;

    [Theory]
    [InlineData(1_000_100L)] // 100.01 ms
    [InlineData(1_003_000L)] // 100.3 ms
    [InlineData(1_004_500L)] // 100.45 ms
    [InlineData(1_004_900L)] // 100.49 ms
    [InlineData(1_009_000L)] // 100.9 ms
    public async Task Call_TimeLeftWithAFraction_RealGrpcDotnetSendsNoLessThanIsLeft(long leftTicks)
    {
        // The model above, checked against grpc-dotnet itself: the scope's time left is exact (a fake clock nobody advances);
        // only grpc-dotnet's own reading of the system clock moves, by at most the time from before the call to the moment the
        // request reaches the handler. What it sends must cover what is left less that time. (With half a millisecond of
        // allowance it sent 100m for 100.45 ms left, read some microseconds later.) A slow machine only widens the slack.
        var time = new FakeTimeProvider();
        var capture = new TimeoutCapture();
        using var channel = GrpcChannel.ForAddress("http://corral.invalid", new GrpcChannelOptions { HttpHandler = capture });
        var client = new Protos.Probe.ProbeClient(channel.Intercept(new CorralClientInterceptor()));
        long started = 0;
        for (int call = 0; call < 2; call++) // the first warms up: JIT and the channel's first call out of the span measured
        {
            await CancelScope.RunAsync(
                async _ =>
                {
                    started = TimeProvider.System.GetTimestamp();
                    await CallIgnoringTheAnswerAsync(client);
                },
                new CancelScopeOptions { Timeout = TimeSpan.FromTicks(leftTicks), TimeProvider = time });
        }

        var slack = TimeProvider.System.GetElapsedTime(started, capture.At);
        Assert.Matches("^[0-9]+m$", capture.Header); // under a second: whole milliseconds
        var sent = TimeSpan.FromMilliseconds(long.Parse(capture.Header![..^1], CultureInfo.InvariantCulture));
        Assert.True(
            sent >= TimeSpan.FromTicks(leftTicks) - slack,
            $"{leftTicks / 10_000.0} ms left, read at most {slack.TotalMilliseconds:F3} ms later: grpc-dotnet sent {capture.Header}");
    }

    private static async Task CallIgnoringTheAnswerAsync(Protos.Probe.ProbeClient client)
    {
        try
        {
            await client.UnaryAsync(new ProbeRequest());
        }
        catch (RpcException)
        {
            // The handler answers 503: only the request's header matters here.
        }
    }

    /// <summary>Keeps the <c>grpc-timeout</c> of the last request and when it was sent; answers 503 without a network.</summary>
    private sealed class TimeoutCapture : HttpMessageHandler
    {
        public string? Header { get; private set; }

        public long At { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            At = TimeProvider.System.GetTimestamp();
            Header = request.Headers.TryGetValues("grpc-timeout", out var values) ? string.Join(",", values) : null;
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { Version = HttpVersion.Version20 });
        }
    }

    [Fact]
    public void ToCallDeadline_OwnDeadlineEarlierOrWithinTheAllowance_KeepsTheCallsOwn()
    {
        var now = new DateTime(2026, 12, 7, 18, 0, 0, DateTimeKind.Utc);
        var left = TimeSpan.FromSeconds(1);
        Assert.Null(ClientCall.ToCallDeadline(left, now, now + left - TimeSpan.FromTicks(1))); // the call's own is earlier
        var own = now + left + TimeSpan.FromTicks(1_000); // 0.1 ms later: the ambient applies, capped at the call's own
        Assert.Equal(own, ClientCall.ToCallDeadline(left, now, own));
        Assert.Equal(now, ClientCall.ToCallDeadline(-left, now, DateTime.MaxValue)); // passed: now, grpc-dotnet fails at once
        Assert.Equal(DateTime.MaxValue, ClientCall.ToCallDeadline(TimeSpan.MaxValue, now, DateTime.MaxValue));
    }

    [Fact]
    public async Task TranslateAsync_GrpcDeadlineFiresWhileTheScopesIsFarOff_PassesThroughAtOnce()
    {
        // A scope on a fake clock nobody advanced: grpc-dotnet's timer fired on real time, the scope's deadline is not due.
        var time = new FakeTimeProvider();
        await CancelScope.RunAsync(
            async _ =>
            {
                var context = new ClientInterceptorContext<ProbeRequest, ProbeReply>(s_method, null, default);
                var call = ClientCall.Begin(ref context)!;
                var e = await Assert.ThrowsAsync<RpcException>(() => call.TranslateAsync(Task.FromException<ProbeReply>(DeadlineExceeded())));
                Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
            },
            new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(10), TimeProvider = time });
    }

    [Fact]
    public void Begin_OutsideAnyScope_ReturnsNullAndLeavesTheOptions()
    {
        var context = new ClientInterceptorContext<ProbeRequest, ProbeReply>(s_method, null, default);
        Assert.Null(ClientCall.Begin(ref context));
        Assert.Null(context.Options.Deadline);
        Assert.False(context.Options.CancellationToken.CanBeCanceled);
    }
}
