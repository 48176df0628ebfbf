using System.Threading;
using System.Threading.Tasks;
using Grpc.Core;

namespace Corral.Grpc;

/// <summary>A response stream whose cancellation becomes the ambient scope's (<see cref="ClientCall"/>).</summary>
/// <typeparam name="T">The message type.</typeparam>
internal sealed class TranslatingStreamReader<T> : IAsyncStreamReader<T>
{
    /// <summary>grpc-dotnet's stream.</summary>
    private readonly IAsyncStreamReader<T> _inner;

    /// <summary>The call the stream belongs to.</summary>
    private readonly ClientCall _call;

    public TranslatingStreamReader(IAsyncStreamReader<T> inner, ClientCall call)
    {
        _inner = inner;
        _call = call;
    }

    /// <inheritdoc/>
    public T Current => _inner.Current;

    /// <inheritdoc/>
    public Task<bool> MoveNext(CancellationToken cancellationToken) => _call.TranslateAsync(_inner.MoveNext(cancellationToken));
}
