using System;
using System.Buffers.Binary;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading.Tasks;
using Google.Protobuf;
using Grpc.Core;

namespace Corral.Grpc.Tests;

/// <summary>
/// A unary gRPC call sent by hand over HTTP/2, so a test can send a grpc-timeout no gRPC client would (grpc-dotnet's client
/// drops grpc-timeout from metadata and writes its own from the deadline).
/// </summary>
internal static class RawGrpc
{
    public static async Task<(StatusCode Status, byte[] Body)> UnaryAsync(TestServer server, string method, IMessage request, string? grpcTimeout)
    {
        var client = server.CreateHttpClient(http2: true);
        var payload = request.ToByteArray();
        var frame = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        using var message = new HttpRequestMessage(HttpMethod.Post, method)
        {
            Content = new ByteArrayContent(frame),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        message.Headers.TryAddWithoutValidation("TE", "trailers");
        if (grpcTimeout is not null)
        {
            message.Headers.TryAddWithoutValidation("grpc-timeout", grpcTimeout);
        }

        using var response = await client.SendAsync(message).WaitAsync(Probes.Patience);
        var body = await response.Content.ReadAsByteArrayAsync();
        var status = response.TrailingHeaders.TryGetValues("grpc-status", out var values)
            || response.Headers.TryGetValues("grpc-status", out values)
            ? (StatusCode)int.Parse(values.First(), CultureInfo.InvariantCulture)
            : throw new InvalidOperationException($"no grpc-status in the response ({response.StatusCode})");
        return (status, body);
    }
}
