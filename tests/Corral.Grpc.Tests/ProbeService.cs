using System;
using System.Threading.Tasks;
using Corral.Grpc.Tests.Protos;
using Grpc.Core;

namespace Corral.Grpc.Tests;

/// <summary>What each method of the probe service does, and what its handlers saw; set by the test, one per server.</summary>
internal sealed class ProbeHandlers
{
    public Func<ProbeRequest, ServerCallContext, Task<ProbeReply>> Unary { get; set; } =
        (request, _) => Task.FromResult(new ProbeReply { Text = request.Text });

    public Func<ProbeRequest, IServerStreamWriter<ProbeReply>, ServerCallContext, Task> ServerStream { get; set; } =
        (request, writer, _) => writer.WriteAsync(new ProbeReply { Text = request.Text });

    public Func<IAsyncStreamReader<ProbeRequest>, ServerCallContext, Task<ProbeReply>> ClientStream { get; set; } =
        async (reader, context) =>
        {
            var count = 0;
            while (await reader.MoveNext(context.CancellationToken))
            {
                count++;
            }

            return new ProbeReply { Text = count.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        };

    public Func<IAsyncStreamReader<ProbeRequest>, IServerStreamWriter<ProbeReply>, ServerCallContext, Task> Duplex { get; set; } =
        async (reader, writer, context) =>
        {
            while (await reader.MoveNext(context.CancellationToken))
            {
                await writer.WriteAsync(new ProbeReply { Text = reader.Current.Text }, context.CancellationToken);
            }
        };

    /// <summary>Every handler below: records the ambient scope, then runs <paramref name="body"/> (for all four kinds of call).</summary>
    public void All(Func<ServerCallContext, Task> body)
    {
        Unary = async (request, context) =>
        {
            await body(context);
            return new ProbeReply { Text = request.Text };
        };
        ServerStream = async (request, writer, context) =>
        {
            await body(context);
            await writer.WriteAsync(new ProbeReply { Text = request.Text });
        };
        ClientStream = async (reader, context) =>
        {
            await body(context);
            return new ProbeReply();
        };
        Duplex = (reader, writer, context) => body(context);
    }

    /// <summary>What a handler saw of its scope, set by <see cref="Observe"/>.</summary>
    public ObservedScope? Observed { get; private set; }

    /// <summary>Records the ambient scope as a handler sees it.</summary>
    public void Observe(ServerCallContext context) => Observed = new ObservedScope(
        CancelScope.Current?.Name,
        CancelScope.CurrentDeadline,
        context.CancellationToken == CancelScope.CurrentToken && CancelScope.Current is not null,
        context.GetHttpContext().Request.Headers["grpc-timeout"].ToString());
}

/// <summary>What a handler saw: the scope's name and deadline, whether the context's token is the scope's, and the header.</summary>
internal sealed record ObservedScope(string? Name, DateTimeOffset? Deadline, bool TokenIsScopeToken, string GrpcTimeout);

/// <summary>The probe service: every method defers to <see cref="ProbeHandlers"/>.</summary>
internal sealed class ProbeService(ProbeHandlers handlers) : Probe.ProbeBase
{
    public override Task<ProbeReply> Unary(ProbeRequest request, ServerCallContext context) => handlers.Unary(request, context);

    public override Task ServerStream(ProbeRequest request, IServerStreamWriter<ProbeReply> responseStream, ServerCallContext context) =>
        handlers.ServerStream(request, responseStream, context);

    public override Task<ProbeReply> ClientStream(IAsyncStreamReader<ProbeRequest> requestStream, ServerCallContext context) =>
        handlers.ClientStream(requestStream, context);

    public override Task Duplex(IAsyncStreamReader<ProbeRequest> requestStream, IServerStreamWriter<ProbeReply> responseStream, ServerCallContext context) =>
        handlers.Duplex(requestStream, responseStream, context);
}
