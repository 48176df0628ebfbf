using System;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;

namespace Corral;

/// <summary>
/// Senders that run as children of a <see cref="TaskGroup"/> and complete their channel when their task ends, whichever way it
/// ends.
/// </summary>
/// <remarks>
/// <code>
/// var channel = Channel.CreateBounded&lt;Result&gt;(16);
/// await TaskGroup.RunAsync(async group =&gt;
/// {
///     using (var sender = new ChannelSender&lt;Result&gt;(channel.Writer))
///     {
///         foreach (var shard in shards)
///         {
///             group.StartSender(sender, (s, ct) =&gt; ScanAsync(shard, s, ct)); // each child gets its own clone
///         }
///     } // the original closes here; the channel completes when the last child ends
///
///     await foreach (var result in channel.Reader.ReceiveAllAsync())
///     {
///         Merge(result);
///     }
/// });
/// </code>
/// </remarks>
public static class TaskGroupChannelExtensions
{
    /// <summary>
    /// Starts <paramref name="work"/> as a child of <paramref name="group"/> with its own clone of <paramref name="sender"/>, and
    /// closes that clone when the child ends.
    /// </summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="group">The group to start the child in.</param>
    /// <param name="sender">An open handle; it is cloned before the child starts, and stays open for the caller to close.</param>
    /// <param name="work">The child; it receives its clone and the group's token.</param>
    /// <param name="name">A name for diagnostics and failures; default <c>task #N</c>.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="sender"/> is closed.</exception>
    /// <exception cref="InvalidOperationException">The group has closed (the clone is closed again at once).</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item>The clone is taken synchronously, so the channel cannot complete between this call and the child's first send.</item>
    /// <item>The clone is closed after the child's task has ended: returned, failed or cancelled. The channel completes when the
    /// last handle closes.</item>
    /// <item>A failure or cancellation of the child is remembered: the channel's completion carries it (failures before cancellations), so a reader
    /// outside the group sees the stream was cut. Inside the group, the failure is the group's (recorded before the channel
    /// completes) and cancels the readers there.</item>
    /// </list>
    /// </remarks>
    public static void StartSender<T>(this TaskGroup group, ChannelSender<T> sender, Func<ChannelSender<T>, CancellationToken, Task> work, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(sender);
        ArgumentNullException.ThrowIfNull(work);
        var run = new SenderRun<T>(sender.Clone(), work);
        Task<bool> task;
        try
        {
            task = group.Start(run.RunAsync, name);
        }
        catch
        {
            run.Clone.Dispose();
            throw;
        }

        _ = run.CloseWhenDoneAsync(task);
    }

    /// <summary>
    /// Starts <paramref name="work"/> as a child of <paramref name="group"/> that owns <paramref name="writer"/>: the channel is
    /// completed when the child ends, whichever way it ends.
    /// </summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="group">The group to start the child in.</param>
    /// <param name="writer">The writer the child owns; nobody else may complete it.</param>
    /// <param name="work">The child; it receives a sender on <paramref name="writer"/> and the group's token.</param>
    /// <param name="name">A name for diagnostics and failures; default <c>task #N</c>.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="InvalidOperationException">The group has closed (the writer is then completed at once).</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item>The single-producer form of <see cref="StartSender{T}(TaskGroup, ChannelSender{T}, Func{ChannelSender{T}, CancellationToken, Task}, string?)"/>:
    /// the child holds the only handle.</item>
    /// <item>A failure or cancellation of the child completes the channel with that exception.</item>
    /// </list>
    /// </remarks>
    public static void StartSender<T>(this TaskGroup group, ChannelWriter<T> writer, Func<ChannelSender<T>, CancellationToken, Task> work, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(work);
        using var sender = new ChannelSender<T>(writer);
        group.StartSender(sender, work, name);
    }

    /// <summary>One sender child: its clone, its work, and how it ended.</summary>
    private sealed class SenderRun<T>
    {
        /// <summary>The child's work.</summary>
        private readonly Func<ChannelSender<T>, CancellationToken, Task> _work;

        /// <summary>The exception the child ended with, kept before the group records it.</summary>
        private Exception? _error;

        internal SenderRun(ChannelSender<T> clone, Func<ChannelSender<T>, CancellationToken, Task> work)
        {
            Clone = clone;
            _work = work;
        }

        /// <summary>Gets the child's own handle.</summary>
        internal ChannelSender<T> Clone { get; }

        internal async Task<bool> RunAsync(CancellationToken cancellationToken)
        {
            try
            {
                await _work(Clone, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (Exception e)
            {
                _error = e;
                throw;
            }
        }

        /// <summary>
        /// Closes the clone once the child's task has ended. Start&lt;T&gt; records a failure before the task completes, so a
        /// reader in the group that rethrows the completion's exception finds it already reported under the child's name.
        /// </summary>
        internal async Task CloseWhenDoneAsync(Task<bool> task)
        {
            await ((Task)task).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            Clone.Close(_error);
        }
    }
}
