using System.Threading.Tasks;
using Grpc.Core;

namespace Corral.Grpc;

/// <summary>A request stream whose cancellation becomes the ambient scope's (<see cref="ClientCall"/>).</summary>
/// <typeparam name="T">The message type.</typeparam>
internal sealed class TranslatingStreamWriter<T> : IClientStreamWriter<T>
{
    /// <summary>grpc-dotnet's stream.</summary>
    private readonly IClientStreamWriter<T> _inner;

    /// <summary>The call the stream belongs to.</summary>
    private readonly ClientCall _call;

    public TranslatingStreamWriter(IClientStreamWriter<T> inner, ClientCall call)
    {
        _inner = inner;
        _call = call;
    }

    /// <inheritdoc/>
    public WriteOptions? WriteOptions
    {
        get => _inner.WriteOptions;
        set => _inner.WriteOptions = value;
    }

    /// <inheritdoc/>
    public Task WriteAsync(T message) => _call.TranslateAsync(_inner.WriteAsync(message));

    /// <inheritdoc/>
    public Task CompleteAsync() => _call.TranslateAsync(_inner.CompleteAsync());
}
