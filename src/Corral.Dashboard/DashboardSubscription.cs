using System;
using System.Threading.Channels;

namespace Corral.Dashboard;

/// <summary>One open page: the frame waiting for it (at most one; a newer frame replaces an unsent one).</summary>
/// <remarks>Thread-safe: the hub offers from its loop while the page's request reads.</remarks>
internal sealed class DashboardSubscription : IDisposable
{
    /// <summary>The hub to leave on dispose.</summary>
    private readonly DashboardHub _hub;

    /// <summary>At most one frame: a slow page skips frames rather than queue them.</summary>
    private readonly Channel<ReadOnlyMemory<byte>> _frames = Channel.CreateBounded<ReadOnlyMemory<byte>>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropOldest,
        SingleReader = true,
        SingleWriter = false,
    });

    /// <summary>Initializes a subscription to <paramref name="hub"/>.</summary>
    /// <param name="hub">The hub.</param>
    internal DashboardSubscription(DashboardHub hub) => _hub = hub;

    /// <summary>Gets the frames for this page.</summary>
    public ChannelReader<ReadOnlyMemory<byte>> Frames => _frames.Reader;

    /// <summary>Leaves the hub; the last page to leave ends its loop.</summary>
    public void Dispose()
    {
        _frames.Writer.TryComplete();
        _hub.Unsubscribe(this);
    }

    /// <summary>Ends the page's stream from the hub's side (its loop failed): the page's reader sees the frames end.</summary>
    internal void End() => _frames.Writer.TryComplete();

    /// <summary>Offers a frame; replaces one not yet sent.</summary>
    internal void Offer(ReadOnlyMemory<byte> frame) => _frames.Writer.TryWrite(frame);
}
