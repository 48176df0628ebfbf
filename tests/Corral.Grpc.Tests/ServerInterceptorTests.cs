using System;
using System.Threading;
using System.Threading.Tasks;
using Corral.Grpc.Tests.Protos;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.Grpc.Tests;

/// <summary>The server interceptor end to end: real Kestrel, clients generated from probe.proto, the server's clock faked.</summary>
public sealed class ServerInterceptorTests
{
    [Theory]
    [MemberData(nameof(Probes.AllKinds), MemberType = typeof(Probes))]
    public async Task Handler_CallWithDeadline_RunsInAScopeNamedAfterTheMethodWithTheCallsBudget(CallKind kind)
    {
        var time = new FakeTimeProvider();
        var handlers = new ProbeHandlers();
        handlers.All(context =>
        {
            handlers.Observe(context);
            return Task.CompletedTask;
        });
        await using var server = await Probes.StartAsync(handlers, time);
        var client = new Protos.Probe.ProbeClient(server.CreateChannel());
        await Probes.WarmUpAsync(client);

        // 100 s encodes exactly ("100S") through grpc-dotnet's rounding up to three significant figures.
        await Probes.CallAsync(client, kind, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(100)));

        var observed = handlers.Observed!;
        Assert.Equal($"/corral.tests.Probe/{kind}", observed.Name);
        Assert.Equal("100S", observed.GrpcTimeout);
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(100), observed.Deadline);
        Assert.True(observed.TokenIsScopeToken);
    }

    [Fact]
    public async Task Handler_CallWithoutDeadline_ScopeWithoutDeadline()
    {
        var handlers = new ProbeHandlers();
        handlers.All(context =>
        {
            handlers.Observe(context);
            return Task.CompletedTask;
        });
        await using var server = await Probes.StartAsync(handlers, new FakeTimeProvider());
        var client = new Protos.Probe.ProbeClient(server.CreateChannel());

        await Probes.CallAsync(client, CallKind.Unary);

        Assert.Equal("/corral.tests.Probe/Unary", handlers.Observed!.Name);
        Assert.Null(handlers.Observed.Deadline);
        Assert.True(handlers.Observed.TokenIsScopeToken);
    }

    [Theory]
    [MemberData(nameof(Probes.AllKinds), MemberType = typeof(Probes))]
    public async Task Handler_CutOffByItsDeadline_EndsWithDeadlineExceeded(CallKind kind)
    {
        var time = new FakeTimeProvider();
        var waiting = Probes.NewSignal<bool>();
        var caught = Probes.NewSignal<CancelReason?>();
        var handlers = new ProbeHandlers();
        handlers.All(async context =>
        {
            handlers.Observe(context);
            waiting.TrySetResult(true);
            try
            {
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                caught.TrySetResult(CancelScope.Current?.CancelReason);
                throw;
            }
        });
        await using var server = await Probes.StartAsync(handlers, time);
        var client = new Protos.Probe.ProbeClient(server.CreateChannel());

        var calling = Probes.CallAsync(client, kind, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(100)));
        await waiting.Task.WaitAsync(Probes.Patience);
        var left = handlers.Observed!.Deadline!.Value - time.GetUtcNow(); // what grpc-timeout gave the scope, on its clock
        time.Advance(left - TimeSpan.FromMilliseconds(1));
        Assert.False(caught.Task.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));

        var e = await Assert.ThrowsAsync<RpcException>(() => calling.WaitAsync(Probes.Patience));
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        var reason = await caught.Task.WaitAsync(Probes.Patience);
        Assert.Equal(CancelReasonKind.DeadlineExceeded, reason!.Kind);
        Assert.Contains(server.Logs.Entries, l => l.EventId.Name == "CallDeadlineExceeded" && l.Message.Contains($"/corral.tests.Probe/{kind}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Handler_SwallowsTheCancellationAndReturns_StillDeadlineExceeded()
    {
        var time = new FakeTimeProvider();
        var waiting = Probes.NewSignal<bool>();
        var handlers = new ProbeHandlers
        {
            Unary = async (request, context) =>
            {
                waiting.TrySetResult(true);
                try
                {
                    await CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);
                }
                catch (OperationCanceledException)
                {
                    // Swallowed: the handler answers anyway.
                }

                return new ProbeReply { Text = "late answer" };
            },
        };
        await using var server = await Probes.StartAsync(handlers, time);
        var client = new Protos.Probe.ProbeClient(server.CreateChannel());

        var calling = client.UnaryAsync(new ProbeRequest(), deadline: DateTime.UtcNow.AddSeconds(100)).ResponseAsync;
        await waiting.Task.WaitAsync(Probes.Patience);
        time.Advance(TimeSpan.FromSeconds(100));

        var e = await Assert.ThrowsAsync<RpcException>(() => calling.WaitAsync(Probes.Patience));
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
    }

    [Fact]
    public async Task Handler_FailsAnotherWayAfterItsDeadline_StillDeadlineExceeded()
    {
        var time = new FakeTimeProvider();
        var waiting = Probes.NewSignal<bool>();
        var handlers = new ProbeHandlers
        {
            Unary = async (request, context) =>
            {
                waiting.TrySetResult(true);
                try
                {
                    await Task.Delay(Timeout.Infinite, context.CancellationToken);
                }
                catch (OperationCanceledException)
                {
                    // What a hop sees when the next hop's deadline fired first: some other failure.
                    throw new InvalidOperationException("inventory answered 504");
                }

                return new ProbeReply();
            },
        };
        await using var server = await Probes.StartAsync(handlers, time);
        var client = new Protos.Probe.ProbeClient(server.CreateChannel());

        var calling = client.UnaryAsync(new ProbeRequest(), deadline: DateTime.UtcNow.AddSeconds(100)).ResponseAsync;
        await waiting.Task.WaitAsync(Probes.Patience);
        time.Advance(TimeSpan.FromSeconds(100));

        var e = await Assert.ThrowsAsync<RpcException>(() => calling.WaitAsync(Probes.Patience));
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
    }

    [Fact]
    public async Task Handler_ClientCancels_ScopeCancelledWithTheClientReason()
    {
        var time = new FakeTimeProvider();
        var waiting = Probes.NewSignal<bool>();
        var caught = Probes.NewSignal<CancelReason?>();
        var handlers = new ProbeHandlers
        {
            Unary = async (request, context) =>
            {
                waiting.TrySetResult(true);
                try
                {
                    await CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);
                }
                catch (OperationCanceledException)
                {
                    caught.TrySetResult(CancelScope.Current?.CancelReason);
                    throw;
                }

                return new ProbeReply();
            },
        };
        await using var server = await Probes.StartAsync(handlers, time);
        var client = new Protos.Probe.ProbeClient(server.CreateChannel());
        using var cts = new CancellationTokenSource();

        var calling = client.UnaryAsync(new ProbeRequest(), deadline: DateTime.UtcNow.AddSeconds(100), cancellationToken: cts.Token).ResponseAsync;
        await waiting.Task.WaitAsync(Probes.Patience);
        await cts.CancelAsync();

        var e = await Assert.ThrowsAsync<RpcException>(() => calling.WaitAsync(Probes.Patience));
        Assert.Equal(StatusCode.Cancelled, e.StatusCode);
        var reason = await caught.Task.WaitAsync(Probes.Patience);
        Assert.Equal(CancelReasonKind.Requested, reason!.Kind);
        Assert.Equal("the client cancelled the call", reason.Message);
    }

    [Fact]
    public async Task Handler_ClientCancelsAtItsDeadline_ReasonIsTheCallersDeadline()
    {
        // The server's deadline is 100 s on its (fake) clock; the client cancels when 100 ms of it are left, as a caller
        // whose own deadline passed does: the request reached the server a little after the caller started counting.
        var time = new FakeTimeProvider();
        var deadline = Probes.NewSignal<DateTimeOffset>();
        var caught = Probes.NewSignal<CancelReason?>();
        var handlers = new ProbeHandlers
        {
            Unary = async (request, context) =>
            {
                deadline.TrySetResult(CancelScope.CurrentDeadline!.Value);
                try
                {
                    await Task.Delay(Timeout.Infinite, context.CancellationToken);
                }
                catch (OperationCanceledException)
                {
                    caught.TrySetResult(CancelScope.Current?.CancelReason);
                    throw;
                }

                return new ProbeReply();
            },
        };
        await using var server = await Probes.StartAsync(handlers, time);
        var client = new Protos.Probe.ProbeClient(server.CreateChannel());
        using var cts = new CancellationTokenSource();

        var calling = client.UnaryAsync(new ProbeRequest(), deadline: DateTime.UtcNow.AddSeconds(100), cancellationToken: cts.Token).ResponseAsync;
        var due = await deadline.Task.WaitAsync(Probes.Patience);
        time.Advance(due - time.GetUtcNow() - TimeSpan.FromMilliseconds(100));
        await cts.CancelAsync();

        await Assert.ThrowsAsync<RpcException>(() => calling.WaitAsync(Probes.Patience));
        var reason = await caught.Task.WaitAsync(Probes.Patience);
        Assert.Equal("the caller's deadline passed", reason!.Message);
        var entry = Assert.Single(server.Logs.Entries, l => l.EventId.Name == "CallerDeadlinePassed");
        Assert.Contains("100 ms before the deadline", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Handler_ThrowsRpcException_StatusPassesThrough()
    {
        var handlers = new ProbeHandlers { Unary = (_, _) => throw new RpcException(new Status(StatusCode.NotFound, "no such sku")) };
        await using var server = await Probes.StartAsync(handlers, new FakeTimeProvider());
        var client = new Protos.Probe.ProbeClient(server.CreateChannel());

        var e = await Assert.ThrowsAsync<RpcException>(() => Probes.CallAsync(client, CallKind.Unary, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(100))));

        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Equal("no such sku", e.Status.Detail);
    }

    [Fact]
    public async Task Handler_ThrowsAnotherException_UnknownAsGrpcDotnetMapsIt()
    {
        var handlers = new ProbeHandlers { Unary = (_, _) => throw new InvalidOperationException("boom") };
        await using var server = await Probes.StartAsync(handlers, new FakeTimeProvider());
        var client = new Protos.Probe.ProbeClient(server.CreateChannel());

        var e = await Assert.ThrowsAsync<RpcException>(() => Probes.CallAsync(client, CallKind.Unary));

        Assert.Equal(StatusCode.Unknown, e.StatusCode);
        Assert.Equal("Exception was thrown by handler.", e.Status.Detail);
    }

    [Fact]
    public async Task Handler_CancellationNoCorralScopeCaused_UnknownAsGrpcDotnetMapsIt()
    {
        var handlers = new ProbeHandlers
        {
            Unary = async (_, _) =>
            {
                using var own = new CancellationTokenSource();
                await own.CancelAsync();
                await Task.Delay(Timeout.Infinite, own.Token); // someone else's timeout, not the call's
                return new ProbeReply();
            },
        };
        await using var server = await Probes.StartAsync(handlers, new FakeTimeProvider());
        var client = new Protos.Probe.ProbeClient(server.CreateChannel());

        var e = await Assert.ThrowsAsync<RpcException>(() => Probes.CallAsync(client, CallKind.Unary, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(100))));

        Assert.Equal(StatusCode.Unknown, e.StatusCode);
    }

    [Fact]
    public async Task Handler_CancelsItsOwnCallScope_CancelledWithTheReason()
    {
        var handlers = new ProbeHandlers
        {
            Unary = async (_, _) =>
            {
                CancelScope.Current!.Cancel("inventory said stop");
                await CancelScope.CheckpointAsync();
                return new ProbeReply();
            },
        };
        await using var server = await Probes.StartAsync(handlers, new FakeTimeProvider());
        var client = new Protos.Probe.ProbeClient(server.CreateChannel());

        var e = await Assert.ThrowsAsync<RpcException>(() => Probes.CallAsync(client, CallKind.Unary));

        Assert.Equal(StatusCode.Cancelled, e.StatusCode);
        Assert.Equal("inventory said stop", e.Status.Detail);
    }

    [Fact]
    public async Task Handler_DeadlineFarInTheFuture_CappedAtGrpcsLimitAndTheCallSucceeds()
    {
        var time = new FakeTimeProvider();
        var handlers = new ProbeHandlers();
        handlers.All(context =>
        {
            handlers.Observe(context);
            return Task.CompletedTask;
        });
        await using var server = await Probes.StartAsync(handlers, time);
        var client = new Protos.Probe.ProbeClient(server.CreateChannel());
        await Probes.WarmUpAsync(client);

        var reply = await Probes.CallAsync(client, CallKind.Unary, new CallOptions(deadline: DateTime.UtcNow.AddYears(50)), "far");

        Assert.Equal("far", reply);
        Assert.Equal("99999999S", handlers.Observed!.GrpcTimeout);
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(99_999_999), handlers.Observed.Deadline);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("5")]
    [InlineData("5x")]
    [InlineData("123456789m")]
    [InlineData("-5m")]
    [InlineData("5 m")]
    public async Task Handler_MalformedGrpcTimeout_IgnoredAndLogged(string header)
    {
        var handlers = new ProbeHandlers();
        handlers.All(context =>
        {
            handlers.Observe(context);
            return Task.CompletedTask;
        });
        await using var server = await Probes.StartAsync(handlers, new FakeTimeProvider());

        var (status, _) = await RawGrpc.UnaryAsync(server, "/corral.tests.Probe/Unary", new ProbeRequest { Text = "x" }, header);

        Assert.Equal(StatusCode.OK, status);
        Assert.Null(handlers.Observed!.Deadline);
        var entry = Assert.Single(server.Logs.Entries, l => l.EventId.Name == "MalformedTimeoutHeader" && l.Category.StartsWith("Corral", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Debug, entry.Level);
        Assert.Contains(header, entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Handler_ZeroGrpcTimeout_DeadlineAlreadyPassedFirstCheckpointThrows()
    {
        var reached = false;
        var handlers = new ProbeHandlers
        {
            Unary = async (_, _) =>
            {
                await CancelScope.CheckpointAsync();
                reached = true;
                return new ProbeReply();
            },
        };
        await using var server = await Probes.StartAsync(handlers, new FakeTimeProvider());

        // grpc-dotnet itself reads "0m" as no deadline; Corral reads it as none left (ADR 0017).
        var (status, _) = await RawGrpc.UnaryAsync(server, "/corral.tests.Probe/Unary", new ProbeRequest(), "0m");

        Assert.Equal(StatusCode.DeadlineExceeded, status);
        Assert.False(reached);
    }

    [Fact]
    public async Task AddCorralScopes_AnotherInterceptorAddedFirst_CorralRunsOutermost()
    {
        var handlers = new ProbeHandlers();
        await using var server = await Probes.StartAsync(
            handlers,
            new FakeTimeProvider(),
            services: s => s.AddGrpc(o => o.Interceptors.Add<ObservingInterceptor>()).AddCorralScopes().AddCorralScopes());
        var client = new Protos.Probe.ProbeClient(server.CreateChannel());

        await Probes.CallAsync(client, CallKind.Unary, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(100)));

        var options = server.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<global::Grpc.AspNetCore.Server.GrpcServiceOptions>>().Value;
        Assert.Equal(typeof(CorralServerInterceptor), options.Interceptors[0].Type);
        Assert.Single(options.Interceptors, i => i.Type == typeof(CorralServerInterceptor));
        Assert.Equal("/corral.tests.Probe/Unary", ObservingInterceptor.LastScopeName);
    }

    /// <summary>An interceptor registered before Corral's: it must still run inside the call's scope.</summary>
    private sealed class ObservingInterceptor : global::Grpc.Core.Interceptors.Interceptor
    {
        public static string? LastScopeName { get; private set; }

        public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
            TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        {
            LastScopeName = CancelScope.Current?.Name;
            return continuation(request, context);
        }
    }
}
