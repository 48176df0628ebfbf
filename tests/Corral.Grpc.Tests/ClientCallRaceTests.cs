using System;
using System.Threading;
using System.Threading.Tasks;
using Corral.Grpc.Tests.Protos;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
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
        // grpc-dotnet writes grpc-timeout as Convert.ToInt64((deadline - its now).TotalMilliseconds), to the nearest (then up to
        // three significant figures, which only adds). Whenever it reads its clock after ours, what it sends must not be less
        // than what is left then, or the server's deadline falls before ours.
        var left = TimeSpan.FromTicks(leftTicks);
        var now = new DateTime(2026, 12, 7, 18, 0, 0, DateTimeKind.Utc);
        var deadline = ClientCall.ToCallDeadline(left, now, DateTime.MaxValue)!.Value;
        for (long elapsed = 0; elapsed < Math.Min(leftTicks, 20_000); elapsed += 500)
        {
            long sent = Convert.ToInt64((deadline - now.AddTicks(elapsed)).TotalMilliseconds);
            Assert.True(
                sent * TimeSpan.TicksPerMillisecond >= leftTicks - elapsed,
                $"{left.TotalMilliseconds} ms left, read {elapsed / 10_000.0} ms later: grpc-dotnet sends {sent} ms");
        }

        Assert.True(deadline - now - left <= ClientCall.RoundingAllowance); // and never more than half a millisecond more
    }

    [Fact]
    public void ToCallDeadline_OnePointFourMillisecondsLeft_GrpcDotnetSendsTwo()
    {
        var now = new DateTime(2026, 12, 7, 18, 0, 0, DateTimeKind.Utc);
        var deadline = ClientCall.ToCallDeadline(TimeSpan.FromTicks(14_000), now, DateTime.MaxValue)!.Value;
        Assert.Equal(2, Convert.ToInt64((deadline - now).TotalMilliseconds));
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
