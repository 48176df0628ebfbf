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
                clock.Now += TimeSpan.FromSeconds(10); // the deadline has passed by the clock; the scope's timer has not run

                var translating = call.TranslateAsync(Task.FromException<ProbeReply>(DeadlineExceeded()));
                Assert.False(scope.IsCancellationRequested);
                clock.Timers.Advance(TimeSpan.FromSeconds(10)); // now it runs
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

    /// <summary>A clock whose reading (<see cref="Now"/>) moves apart from its timers (<see cref="Timers"/>).</summary>
    private sealed class SplitClock : TimeProvider
    {
        public FakeTimeProvider Timers { get; } = new();

        public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            Timers.CreateTimer(callback, state, dueTime, period);
    }
}
