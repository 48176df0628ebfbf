using System;
using System.Threading;
using System.Threading.Tasks;
using Corral.Grpc.Tests.Protos;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.Grpc.Tests;

/// <summary>The client interceptor on a plain channel, against a real server whose clock is the same fake clock.</summary>
public sealed class ClientInterceptorTests
{
    private static Protos.Probe.ProbeClient CorralClient(TestServer server, bool throwOperationCanceled = false) =>
        new(server.CreateChannel(throwOperationCanceled).Intercept(new CorralClientInterceptor()));

    private static ProbeHandlers ObservingHandlers()
    {
        var handlers = new ProbeHandlers();
        handlers.All(context =>
        {
            handlers.Observe(context);
            return Task.CompletedTask;
        });
        return handlers;
    }

    /// <summary>Handlers that signal when a call arrives, then wait until it is cancelled.</summary>
    private static ProbeHandlers HangingHandlers(TaskCompletionSource<bool> arrived)
    {
        var handlers = new ProbeHandlers();
        handlers.All(async context =>
        {
            arrived.TrySetResult(true);
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        });
        return handlers;
    }

    [Theory]
    [MemberData(nameof(Probes.AllKinds), MemberType = typeof(Probes))]
    public async Task Call_AmbientDeadline_ServerGetsWhatIsLeft(CallKind kind)
    {
        var time = new FakeTimeProvider();
        var handlers = ObservingHandlers();
        await using var server = await Probes.StartAsync(handlers, time);
        var client = CorralClient(server);
        await Probes.WarmUpAsync(client);
        var start = time.GetUtcNow();

        await CancelScope.RunAsync(
            async _ =>
            {
                time.Advance(TimeSpan.FromSeconds(25));
                await Probes.CallAsync(client, kind);
            },
            new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(100), TimeProvider = time });

        Assert.Equal("75S", handlers.Observed!.GrpcTimeout);
        Assert.Equal(start + TimeSpan.FromSeconds(100), handlers.Observed.Deadline);
    }

    [Theory]
    [InlineData(10, "10S")] // the call's own deadline is earlier: kept
    [InlineData(500, "100S")] // the call's own deadline is later: the ambient one wins
    public async Task Call_OwnDeadline_TheEarlierOfTheTwoIsSent(int ownSeconds, string expected)
    {
        var time = new FakeTimeProvider();
        var handlers = ObservingHandlers();
        await using var server = await Probes.StartAsync(handlers, time);
        var client = CorralClient(server);
        await Probes.WarmUpAsync(client);

        await CancelScope.RunAsync(
            async _ => await client.UnaryAsync(new ProbeRequest(), deadline: DateTime.UtcNow.AddSeconds(ownSeconds)),
            new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(100), TimeProvider = time });

        Assert.Equal(expected, handlers.Observed!.GrpcTimeout);
    }

    [Fact]
    public async Task Call_OutsideAnyScope_PassesThroughUntouched()
    {
        var handlers = ObservingHandlers();
        await using var server = await Probes.StartAsync(handlers, new FakeTimeProvider());
        var client = CorralClient(server);

        Assert.Null(CancelScope.Current);
        await client.UnaryAsync(new ProbeRequest());

        Assert.Equal("", handlers.Observed!.GrpcTimeout);
        Assert.Null(handlers.Observed.Deadline);
    }

    [Theory]
    [MemberData(nameof(Probes.AllKinds), MemberType = typeof(Probes))]
    public async Task Call_ScopeCancelled_CallEndsAsTheScopesCancellationAndTheScopeAbsorbsIt(CallKind kind)
    {
        var arrived = Probes.NewSignal<bool>();
        await using var server = await Probes.StartAsync(HangingHandlers(arrived), new FakeTimeProvider());
        var client = CorralClient(server);
        Exception? seen = null;
        CancelScope? outer = null;

        await CancelScope.RunAsync(async scope =>
        {
            outer = scope;
            var calling = Probes.CallAsync(client, kind);
            await arrived.Task.WaitAsync(Probes.Patience);
            scope.Cancel("the order was withdrawn");
            try
            {
                await calling.WaitAsync(Probes.Patience);
            }
            catch (Exception e)
            {
                seen = e;
                throw;
            }
        });

        Assert.True(outer!.CancelledCaught);
        var cancelled = Assert.IsType<ScopeCancelledException>(seen);
        Assert.Equal("the order was withdrawn", cancelled.Reason.Message);
        Assert.Equal(StatusCode.Cancelled, Assert.IsType<RpcException>(cancelled.InnerException).StatusCode);
    }

    [Fact]
    public async Task Call_MoveOnAfterDeadlinePasses_ReturnsFalse()
    {
        var time = new FakeTimeProvider();
        var arrived = Probes.NewSignal<bool>();
        await using var server = await Probes.StartAsync(HangingHandlers(arrived), time);
        var client = CorralClient(server);
        Task<bool>? moving = null;

        await CancelScope.RunAsync(
            async _ =>
            {
                moving = CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(100), async _ =>
                {
                    await client.UnaryAsync(new ProbeRequest(), cancellationToken: CancellationToken.None);
                });
                await arrived.Task.WaitAsync(Probes.Patience);
                time.Advance(TimeSpan.FromSeconds(100));
                Assert.False(await moving.WaitAsync(Probes.Patience));
            },
            new CancelScopeOptions { TimeProvider = time });

        Assert.True(moving!.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Call_FailAfterDeadlinePasses_ThrowsTimeoutException()
    {
        var time = new FakeTimeProvider();
        var arrived = Probes.NewSignal<bool>();
        await using var server = await Probes.StartAsync(HangingHandlers(arrived), time);
        var client = CorralClient(server);

        await CancelScope.RunAsync(
            async _ =>
            {
                var failing = CancelScope.FailAfterAsync(
                    TimeSpan.FromSeconds(5),
                    async _ =>
                    {
                        await client.UnaryAsync(new ProbeRequest(), cancellationToken: CancellationToken.None);
                    },
                    "quote");
                await arrived.Task.WaitAsync(Probes.Patience);
                time.Advance(TimeSpan.FromSeconds(5));
                var e = await Assert.ThrowsAsync<TimeoutException>(() => failing.WaitAsync(Probes.Patience));
                Assert.Contains("quote", e.Message, StringComparison.Ordinal);
            },
            new CancelScopeOptions { TimeProvider = time });
    }

    [Fact]
    public async Task Call_TaskGroupCancelled_CancelledCallsAreNotFailures()
    {
        var arrived = new CountdownEvent(3);
        var handlers = new ProbeHandlers
        {
            Unary = async (_, context) =>
            {
                arrived.Signal();
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
                return new ProbeReply();
            },
        };
        await using var server = await Probes.StartAsync(handlers, new FakeTimeProvider());
        var client = CorralClient(server);

        await TaskGroup.RunAsync(async group =>
        {
            for (var i = 0; i < 3; i++)
            {
                group.Start(
                    async _ =>
                    {
                        await client.UnaryAsync(new ProbeRequest(), cancellationToken: CancellationToken.None);
                    },
                    $"quote-{i}");
            }

            await Task.Run(() => arrived.Wait(Probes.Patience));
            group.Cancel("enough quotes");
        });
    }

    [Fact]
    public async Task Call_OwnToken_KeptAndTheScopesCancelDoesNotCancelIt()
    {
        var arrived = Probes.NewSignal<bool>();
        var release = Probes.NewSignal<bool>();
        var handlers = new ProbeHandlers
        {
            Unary = async (_, context) =>
            {
                arrived.TrySetResult(true);
                await release.Task;
                return new ProbeReply { Text = "done" };
            },
        };
        await using var server = await Probes.StartAsync(handlers, new FakeTimeProvider());
        var client = CorralClient(server);
        using var own = new CancellationTokenSource();
        string? reply = null;

        await CancelScope.RunAsync(async scope =>
        {
            var calling = client.UnaryAsync(new ProbeRequest(), cancellationToken: own.Token).ResponseAsync;
            await arrived.Task.WaitAsync(Probes.Patience);
            scope.Cancel("ignored by a call with its own token");
            release.SetResult(true);
            reply = (await calling.WaitAsync(Probes.Patience)).Text;
        });

        Assert.Equal("done", reply);
    }

    [Fact]
    public async Task Call_ServerAnswersCancelledWhileTheScopeIsNot_RpcExceptionPassesThrough()
    {
        var handlers = new ProbeHandlers { Unary = (_, _) => throw new RpcException(new Status(StatusCode.Cancelled, "the server gave up")) };
        await using var server = await Probes.StartAsync(handlers, new FakeTimeProvider());
        var client = CorralClient(server);

        await CancelScope.RunAsync(async _ =>
        {
            var e = await Assert.ThrowsAsync<RpcException>(async () => await client.UnaryAsync(new ProbeRequest()));
            Assert.Equal("the server gave up", e.Status.Detail);
        });
    }

    [Fact]
    public async Task Call_ThrowOperationCanceledOnCancellation_StillTheScopesCancellation()
    {
        var arrived = Probes.NewSignal<bool>();
        await using var server = await Probes.StartAsync(HangingHandlers(arrived), new FakeTimeProvider());
        var client = CorralClient(server, throwOperationCanceled: true);
        Exception? seen = null;

        await CancelScope.RunAsync(async scope =>
        {
            var calling = client.UnaryAsync(new ProbeRequest()).ResponseAsync;
            await arrived.Task.WaitAsync(Probes.Patience);
            scope.Cancel("stop");
            try
            {
                await calling.WaitAsync(Probes.Patience);
            }
            catch (Exception e)
            {
                seen = e;
                throw;
            }
        });

        Assert.Equal("stop", Assert.IsType<ScopeCancelledException>(seen).Reason.Message);
    }

    [Fact]
    public async Task BlockingCall_ScopeCancelled_ThrowsTheScopesCancellation()
    {
        var arrived = Probes.NewSignal<bool>();
        await using var server = await Probes.StartAsync(HangingHandlers(arrived), new FakeTimeProvider());
        var client = CorralClient(server);
        Exception? seen = null;

        await CancelScope.RunAsync(async scope =>
        {
            var calling = Task.Run(() => client.Unary(new ProbeRequest())); // the ambient scope flows into Task.Run
            await arrived.Task.WaitAsync(Probes.Patience);
            scope.Cancel("stop blocking");
            try
            {
                await calling.WaitAsync(Probes.Patience);
            }
            catch (Exception e)
            {
                seen = e;
                throw;
            }
        });

        Assert.Equal("stop blocking", Assert.IsType<ScopeCancelledException>(seen).Reason.Message);
    }

    [Fact]
    public async Task Call_AmbientDeadlineAlreadyPassed_NeverReachesTheServerAndTheScopeAbsorbs()
    {
        var time = new FakeTimeProvider();
        var calls = 0;
        var handlers = new ProbeHandlers
        {
            Unary = (_, _) =>
            {
                Interlocked.Increment(ref calls);
                return Task.FromResult(new ProbeReply());
            },
        };
        await using var server = await Probes.StartAsync(handlers, time);
        var client = CorralClient(server);
        bool completed = true;

        await CancelScope.RunAsync(
            async _ => completed = await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), async _ =>
            {
                time.Advance(TimeSpan.FromSeconds(2));
                await client.UnaryAsync(new ProbeRequest(), cancellationToken: CancellationToken.None);
            }),
            new CancelScopeOptions { TimeProvider = time });

        Assert.False(completed);
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task Call_DeadlineFarInTheFuture_SentAsGrpcsLargestValue()
    {
        var time = new FakeTimeProvider();
        var handlers = ObservingHandlers();
        await using var server = await Probes.StartAsync(handlers, time);
        var client = CorralClient(server);
        await Probes.WarmUpAsync(client);

        await CancelScope.RunAsync(
            async _ => await client.UnaryAsync(new ProbeRequest()),
            new CancelScopeOptions { Timeout = TimeSpan.FromDays(3650), TimeProvider = time });

        Assert.Equal("99999999S", handlers.Observed!.GrpcTimeout);
    }
}
