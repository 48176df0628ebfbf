using System;
using System.Threading;
using System.Threading.Tasks;
using Corral.Grpc.Tests.Protos;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Corral.Grpc.Tests;

/// <summary>The four kinds of gRPC call.</summary>
public enum CallKind
{
    Unary,
    ServerStream,
    ClientStream,
    Duplex,
}

/// <summary>Starts probe servers and makes calls of each kind.</summary>
internal static class Probes
{
    /// <summary>How long a test waits for something that happens at once on a working machine.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public static TheoryData<CallKind> AllKinds => new() { CallKind.Unary, CallKind.ServerStream, CallKind.ClientStream, CallKind.Duplex };

    /// <summary>A server with the probe service behind Corral's interceptor (unless <paramref name="corral"/> is false).</summary>
    public static Task<TestServer> StartAsync(ProbeHandlers handlers, TimeProvider? time = null, bool corral = true, Action<IServiceCollection>? services = null) =>
        TestServer.StartAsync(
            s =>
            {
                var grpc = s.AddGrpc();
                if (corral)
                {
                    grpc.AddCorralScopes(o => o.TimeProvider = time);
                }

                s.AddSingleton(handlers);
                services?.Invoke(s);
            },
            app => app.MapGrpcService<ProbeService>());

    /// <summary>Makes one call of <paramref name="kind"/> and waits for its end; returns its reply text.</summary>
    public static async Task<string> CallAsync(Protos.Probe.ProbeClient client, CallKind kind, CallOptions options = default, string text = "hi")
    {
        switch (kind)
        {
            case CallKind.Unary:
                return (await client.UnaryAsync(new ProbeRequest { Text = text }, options)).Text;
            case CallKind.ServerStream:
            {
                using var call = client.ServerStream(new ProbeRequest { Text = text }, options);
                var last = "";
                while (await call.ResponseStream.MoveNext(CancellationToken.None))
                {
                    last = call.ResponseStream.Current.Text;
                }

                return last;
            }

            case CallKind.ClientStream:
            {
                using var call = client.ClientStream(options);
                return (await call.ResponseAsync).Text;
            }

            default:
            {
                using var call = client.Duplex(options);
                var last = "";
                while (await call.ResponseStream.MoveNext(CancellationToken.None))
                {
                    last = call.ResponseStream.Current.Text;
                }

                return last;
            }
        }
    }

    /// <summary>
    /// One call without a deadline first: grpc-dotnet computes grpc-timeout from the real clock when a call starts, and the
    /// first call of a process spends its JIT between the deadline and that moment; a test that checks an exact header warms
    /// up first.
    /// </summary>
    public static async Task WarmUpAsync(Protos.Probe.ProbeClient client) => await client.UnaryAsync(new ProbeRequest { Text = "warm-up" });

    public static TaskCompletionSource<T> NewSignal<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
