using System.Threading;
using System.Threading.Tasks;

namespace Corral.Dashboard;

/// <summary>
/// Where a dashboard's trees come from: this process (<see cref="InProcessSource"/>) or another one read by PID (the
/// <c>corral web</c> command's source, in the tool).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>The hub calls <see cref="StartWatching"/> when the first page opens, <see cref="CaptureAsync"/> once per update
/// while any page is open, and <see cref="StopWatching"/> after the last one closed; these calls come from the hub's one
/// loop, in turn, so they never overlap (a page that opens during <see cref="StopWatching"/> gets a new
/// <see cref="StartWatching"/> after it returns).</item>
/// <item>An exception from <see cref="StartWatching"/> or <see cref="StopWatching"/> is logged and ends the open pages'
/// streams (the browsers reconnect); one from <see cref="CaptureAsync"/> becomes the page's error message.</item>
/// <item><see cref="TryCancel"/> may be called from any request thread at any time.</item>
/// </list>
/// </remarks>
internal abstract class DashboardSource
{
    /// <summary>Gets what the page's title names: the process.</summary>
    public abstract string Title { get; }

    /// <summary>Gets a value indicating whether <see cref="TryCancel"/> can act (only in the process itself).</summary>
    public virtual bool CanCancel => false;

    /// <summary>Gets what the chart shows, for its label.</summary>
    public abstract string ChartLabel { get; }

    /// <summary>Called when the first page opens: start whatever a capture needs (a meter listener).</summary>
    public virtual void StartWatching()
    {
    }

    /// <summary>Called when the last page closed: stop everything <see cref="StartWatching"/> started.</summary>
    public virtual void StopWatching()
    {
    }

    /// <summary>Takes the tree now, with the watchdog's reports and the chart's next value.</summary>
    /// <param name="cancellationToken">Ends a slow capture (the app is stopping).</param>
    /// <returns>The capture.</returns>
    /// <exception cref="DashboardSourceException">The tree cannot be had now; the page shows the message and keeps the last tree.</exception>
    public abstract Task<DashboardCapture> CaptureAsync(CancellationToken cancellationToken);

    /// <summary>Cancels a live scope or group by its node id.</summary>
    /// <param name="nodeId">The node's id.</param>
    /// <param name="reason">The reason.</param>
    /// <returns>True when a live scope with that id was cancelled.</returns>
    public virtual bool TryCancel(long nodeId, string reason) => false;
}
