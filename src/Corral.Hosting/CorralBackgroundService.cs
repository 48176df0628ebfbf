// A hosted service whose work is a task group: the generic host's BackgroundService, made structured.
//
// THE LIFECYCLE
//
//   state        entered by                              what runs
//   ----------   -------------------------------------   -------------------------------------------------------------
//   created      the constructor                         nothing
//   running      StartAsync                              the root group '{Name}': ExecuteAsync as its body, its children
//   stopping     StopAsync                               the group, asked to stop (stoppingToken fires, IsStopRequested):
//                                                        it finishes what it holds; checkpoints still pass
//   cancelled    StopGracePeriod ran out (or Dispose)    the group, cancelled "stop requested: the host is stopping; grace
//                                                        of 15 s ran out" ("the service was disposed"); children wind down
//   ended        the group closed (every child ended)    nothing; every failure was logged when it happened
//
//   created --StartAsync--> running --StopAsync--> stopping --grace runs out--> cancelled --group closes--> ended
//                              \                       \---------------- group closes within the grace -------/
//                               \------------- group closes (ExecuteAsync and children done, or a failure) ----/
//
//   At the host's shutdown timeout (StopAsync's token), StopAsync logs the service's part of the task tree (what is
//   still running, and where) and returns; the watchdog goes on naming the tasks that ignore their cancellation.
//
// WHY NOT BackgroundService (ADR 0014): the host treats a BackgroundService specially — it awaits ExecuteTask, logs the
// one exception under its own category and stops the application. A group fails with a TaskGroupException that holds
// every failure with the name of the task that threw it; this class logs each of them, and owns the policy, so deriving
// would log twice or hide the failure from the host. .NET 10 also changed BackgroundService.StartAsync to run all of
// ExecuteAsync on the thread pool; this class behaves the same on every target framework.
//
// RACES. StopAsync and the group's own end can meet: the cases are 1. the group ended before StopAsync (the outcome was
// already handled; StopAsync returns at once), 2. the group ends while StopAsync waits (a failure then is a failure
// during the stop: logged and thrown from StopAsync), 3. StopAsync's token fires first (StopAsync returns; whatever the
// group does later is still logged by the run loop, which never ends unobserved). A failure is logged by the group's
// failure callback the moment it happens, on the failing task's thread; the run loop logs, at the group's end, only the
// failures the callback did not see (a token callback's), so each is logged once.
using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Corral.Hosting;

/// <summary>
/// A hosted service that runs its work as a Corral task group: stopping the host cancels the group with a reason and waits
/// for every task in it, and every failure is logged and, by default, stops the application.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><see cref="StartAsync"/> opens a root <see cref="TaskGroup"/> named <see cref="Name"/> whose body is
/// <see cref="ExecuteAsync"/>, and returns once <see cref="ExecuteAsync"/> reaches its first incomplete await.</item>
/// <item><see cref="StopAsync"/> asks the group to stop (<see cref="TaskGroup.RequestStop"/>, reason <c>"the host is stopping"</c>):
/// <c>stoppingToken</c> fires and <see cref="CancelScope.IsStopRequested"/> turns true, while checkpoints go on passing. If the
/// group has not closed when <see cref="StopGracePeriod"/> has passed, it is cancelled. <see cref="StopAsync"/> returns when every
/// task has ended, or when its token fires (the host's shutdown timeout): it then logs the service's part of the task tree, and
/// the <see cref="Watchdog"/> goes on naming the tasks still running.</item>
/// <item>Every failure is logged with its task's name the moment it happens. A failure stops the
/// application through <see cref="IHostApplicationLifetime.StopApplication"/>, unless
/// <see cref="HostOptions.BackgroundServiceExceptionBehavior"/> is <see cref="BackgroundServiceExceptionBehavior.Ignore"/>,
/// which only logs. A failure that ends the group while <see cref="StopAsync"/> waits is logged and thrown from
/// <see cref="StopAsync"/> as well (unless <c>Ignore</c>), so the host's stop reports it.</item>
/// <item><see cref="ExecuteAsync"/> ending normally ends the service once its children end; the host keeps running.</item>
/// <item>Each instance runs once: a second <see cref="StartAsync"/> throws <see cref="InvalidOperationException"/>.</item>
/// <item>Does not derive from <see cref="BackgroundService"/>; see docs/adr/0014-host-integration.md.</item>
/// </list>
/// </remarks>
public abstract class CorralBackgroundService : IHostedService, IDisposable
{
    /// <summary>The reason given to the group's scope when the host stops.</summary>
    public const string StoppingReason = "the host is stopping";

    private static readonly Action<ILogger, string, string, Exception?> s_logTaskFailed = LoggerMessage.Define<string, string>(
        LogLevel.Error, new EventId(1, "TaskFailed"), "Corral service '{Service}': task '{Task}' failed");

    private static readonly Action<ILogger, string, Exception?> s_logStoppingHost = LoggerMessage.Define<string>(
        LogLevel.Critical, new EventId(2, "StoppingHost"), "Corral service '{Service}' failed; stopping the host (HostOptions.BackgroundServiceExceptionBehavior is StopHost)");

    private static readonly Action<ILogger, string, string, string, Exception?> s_logStopTimedOut = LoggerMessage.Define<string, string, string>(
        LogLevel.Warning, new EventId(3, "StopTimedOut"), "Corral service '{Service}': the host stopped waiting before every task ended; still running: {Tasks}\n{Tree}");

    private static readonly Action<ILogger, string, string, Exception?> s_logStopRequested = LoggerMessage.Define<string, string>(
        LogLevel.Information, new EventId(4, "StopRequested"), "Corral service '{Service}': stopping; its tasks have {Grace} to finish before they are cancelled");

    /// <summary>The service's logger: every failure goes here.</summary>
    private readonly ILogger _logger;

    /// <summary>Stops the application on a failure.</summary>
    private readonly IHostApplicationLifetime _lifetime;

    /// <summary>Whether a failure stops the application (<see cref="BackgroundServiceExceptionBehavior.StopHost"/>).</summary>
    private readonly bool _stopHostOnFailure;

    /// <summary>Guards <see cref="_group"/>, <see cref="_run"/>, <see cref="_stopping"/> and <see cref="_disposed"/>.</summary>
    private readonly object _gate = new();

    /// <summary>The root group while it runs; set by the group's body before StartAsync returns.</summary>
    private TaskGroup? _group;

    /// <summary>The run loop: the group plus the handling of its outcome. Never faults.</summary>
    private Task? _run;

    /// <summary>Set when <see cref="StopAsync"/> began: a failure after that is a failure during the stop.</summary>
    private bool _stopping;

    /// <summary>Set by <see cref="Dispose()"/>.</summary>
    private bool _disposed;

    /// <summary>A failure that ended the group after the stop began, for <see cref="StopAsync"/> to throw.</summary>
    private Exception? _stopFailure;

    /// <summary>The failures the group's failure callback logged as they happened (guarded by <see cref="_gate"/>).</summary>
    private readonly HashSet<TaskFailure> _logged = new(ReferenceEqualityComparer.Instance);

    /// <summary>The default of <see cref="StopGracePeriod"/>: half of the host's shutdown timeout.</summary>
    private readonly TimeSpan _defaultStopGracePeriod;

    /// <summary>Initializes the service.</summary>
    /// <param name="logger">Where failures are logged: typically the subclass's <c>ILogger&lt;T&gt;</c>.</param>
    /// <param name="lifetime">The host's lifetime, to stop the application when the service fails.</param>
    /// <param name="hostOptions">The host's options, for <see cref="HostOptions.BackgroundServiceExceptionBehavior"/>; default:
    /// <see cref="BackgroundServiceExceptionBehavior.StopHost"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="logger"/> or <paramref name="lifetime"/> is null.</exception>
    protected CorralBackgroundService(ILogger logger, IHostApplicationLifetime lifetime, IOptions<HostOptions>? hostOptions = null)
    {
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(lifetime);
        _logger = logger;
        _lifetime = lifetime;
        _stopHostOnFailure = (hostOptions?.Value.BackgroundServiceExceptionBehavior ?? BackgroundServiceExceptionBehavior.StopHost)
            == BackgroundServiceExceptionBehavior.StopHost;
        _defaultStopGracePeriod = StopGrace.Default(hostOptions?.Value.ShutdownTimeout);
    }

    /// <summary>
    /// Gets how long the service's tasks may take to finish once the host starts stopping, before they are cancelled. Default:
    /// half of <see cref="HostOptions.ShutdownTimeout"/> (15 s of the default 30 s), leaving the other half for cancelled work to
    /// unwind (shielded cleanup included) before the host stops waiting; <see cref="TimeSpan.Zero"/> cancels at once, as
    /// <see cref="BackgroundService"/> does. An infinite timeout gives an infinite grace.
    /// </summary>
    /// <remarks>Read once, when <see cref="StopAsync"/> begins. A negative value (other than infinite) or
    /// <see cref="TimeSpan.MaxValue"/> makes <see cref="StopAsync"/> throw <see cref="ArgumentOutOfRangeException"/>.</remarks>
    protected virtual TimeSpan StopGracePeriod => _defaultStopGracePeriod;

    /// <summary>Gets the name of the service's root group, shown in logs, reasons, the task tree and watchdog reports.
    /// Default: the type's name.</summary>
    protected virtual string Name => GetType().Name;

    /// <summary>Gets the clock of the service's root scope (deadlines, watchdog times). Default: <see cref="TimeProvider.System"/>.</summary>
    protected virtual TimeProvider TimeProvider => TimeProvider.System;

    /// <summary>Gets the run loop (tests): completes, never faulted, once the group ended and its outcome was handled.</summary>
    internal Task? Completion
    {
        get
        {
            lock (_gate)
            {
                return _run;
            }
        }
    }

    /// <summary>Starts the service: opens its root group with <see cref="ExecuteAsync"/> as the body.</summary>
    /// <param name="cancellationToken">The host's start token; not passed on (the group is cancelled by <see cref="StopAsync"/>).</param>
    /// <returns>A completed task, once <see cref="ExecuteAsync"/> reached its first incomplete await (or ended).</returns>
    /// <exception cref="InvalidOperationException">The service was started before.</exception>
    /// <exception cref="ObjectDisposedException">The service was disposed.</exception>
    public virtual Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_run is not null)
            {
                throw new InvalidOperationException($"The Corral service '{Name}' was started already; a service runs once.");
            }

            // Claim the slot before running: ExecuteAsync runs inline below, and may even end (and read _run) before it returns.
            _run = Task.CompletedTask;
        }

        var run = RunAsync();
        lock (_gate)
        {
            _run = run;
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops the service: asks its group to stop with the reason <see cref="StoppingReason"/>, cancels it when
    /// <see cref="StopGracePeriod"/> runs out, and waits for every task in it to end.
    /// </summary>
    /// <param name="cancellationToken">The host's shutdown timeout: when it fires, this logs what still runs and returns.</param>
    /// <returns>A task that completes when the group has closed, or when <paramref name="cancellationToken"/> fired.</returns>
    /// <exception cref="Exception">The group failed while this waited (a <see cref="TaskGroupException"/>, already logged), unless
    /// <see cref="BackgroundServiceExceptionBehavior.Ignore"/> is set.</exception>
    public virtual async Task StopAsync(CancellationToken cancellationToken)
    {
        Task? run;
        TaskGroup? group;
        lock (_gate)
        {
            run = _run;
            group = _group;
            _stopping = true;
        }

        if (run is null)
        {
            return; // never started
        }

        if (group is not null && !run.IsCompleted)
        {
            var grace = StopGracePeriod;
            s_logStopRequested(_logger, Name, DescribeGrace(grace), null);
            group.RequestStop(grace, StoppingReason);
        }

        try
        {
            await run.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !run.IsCompleted)
        {
            // The group is still running here (the run loop has not ended), so the stop began with it set.
            s_logStopTimedOut(
                _logger,
                Name,
                group is null ? "(unknown)" : DescribeStillRunning(group),
                group is null ? string.Empty : DescribeTree(group),
                null);
            return;
        }

        Exception? failure;
        lock (_gate)
        {
            failure = _stopFailure;
            _stopFailure = null;
        }

        if (failure is not null && _stopHostOnFailure)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }

    /// <summary>Cancels the group if it still runs (without waiting for it) and releases the service.</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Cancels the group, if it still runs, with the reason "the service was disposed".</summary>
    /// <param name="disposing">Whether called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        TaskGroup? group;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            group = _group;
        }

        group?.Scope.Cancel("the service was disposed");
    }

    /// <summary>
    /// The service's work: the body of its root group. Start children with <paramref name="group"/>; they run until they end
    /// or the host stops.
    /// </summary>
    /// <param name="group">The service's root group.</param>
    /// <param name="stoppingToken">The group's <see cref="CancelScope.StoppingToken"/>, as <see cref="BackgroundService"/>'s: cancelled
    /// when the host starts stopping, when a task of the group fails, or when the group is cancelled. Give it to the calls that
    /// take new work; the work itself gets the group's token (each child's <c>ct</c>, or <see cref="CancelScope.CurrentToken"/>),
    /// which holds until <see cref="StopGracePeriod"/> runs out. A body that ends with the cancellation of this token has stopped
    /// as asked: not a failure.</param>
    /// <returns>A task that completes when the body is done; the group (and the service) ends when every child has ended too.</returns>
    protected abstract Task ExecuteAsync(TaskGroup group, CancellationToken stoppingToken);

    /// <summary>Runs the group and handles its outcome; never faults, so nothing it does goes unobserved.</summary>
    private async Task RunAsync()
    {
        Exception? failure = null;
        try
        {
            await RunGroupAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            failure = e;
        }
        finally
        {
            lock (_gate)
            {
                _group = null;
            }
        }

        if (failure is not null)
        {
            OnFailure(failure);
        }
    }

    private Task RunGroupAsync() => TaskGroup.RunAsync(
        group =>
        {
            lock (_gate)
            {
                _group = group;
                if (_disposed)
                {
                    group.Scope.Cancel("the service was disposed");
                }
            }

            return ExecuteAsync(group, group.Scope.StoppingToken);
        },
        new TaskGroupOptions { Name = Name, TimeProvider = TimeProvider, OnTaskFailed = OnTaskFailed },

        // The task tree names the user's service and its ExecuteAsync, not a line of this file.
        callerFilePath: SpawnSite(GetType()),
        callerLineNumber: 0);

    /// <summary>
    /// The group's spawn site in the task tree and the watchdog's reports: the user's service and its ExecuteAsync
    /// (<c>OrderExporter.ExecuteAsync</c>; a generic service without its arity, <c>Cache.ExecuteAsync</c>), not a line
    /// inside Corral. A site without a line is shown as it is.
    /// </summary>
    internal static string SpawnSite(Type service)
    {
        var name = service.Name;
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        return (tick < 0 ? name : name[..tick]) + "." + nameof(ExecuteAsync);
    }

    /// <summary>Logs a failure the moment it happens (the group's failure callback), before the group cancels the rest.</summary>
    private void OnTaskFailed(TaskFailure failure)
    {
        lock (_gate)
        {
            _logged.Add(failure);
        }

        s_logTaskFailed(_logger, Name, failure.TaskName, failure.Exception);
        CorralHostingState.OnServiceFailed();
    }

    /// <summary>Logs every failure once; stops the application, or keeps the failure for <see cref="StopAsync"/> to throw.</summary>
    private void OnFailure(Exception failure)
    {
        if (failure is TaskGroupException group)
        {
            foreach (var f in group.Failures)
            {
                bool logged;
                lock (_gate)
                {
                    logged = _logged.Contains(f);
                }

                if (!logged)
                {
                    s_logTaskFailed(_logger, Name, f.TaskName, f.Exception);
                }
            }
        }
        else
        {
            s_logTaskFailed(_logger, Name, Name, failure);
        }

        CorralHostingState.OnServiceFailed();

        bool stopping;
        lock (_gate)
        {
            stopping = _stopping;
            if (stopping)
            {
                _stopFailure = failure;
            }
        }

        if (!stopping && _stopHostOnFailure)
        {
            s_logStoppingHost(_logger, Name, null);
            _lifetime.StopApplication();
        }
    }

    /// <summary>The service's part of the task tree, as text (with each task's async stack, where the tree has them).</summary>
    private static string DescribeTree(TaskGroup group)
    {
        var id = group.Scope.Id;
        var snapshot = TaskTree.Capture();
        var found = snapshot.FindAll(node => node.Id == id && node.Kind == TaskTreeNodeKind.TaskGroup);
        return found.Count == 0
            ? "(the group has just closed)"
            : new TaskTreeSnapshot(snapshot.TakenAt, snapshot.ProcessId, [found[0]]).ToText();
    }

    /// <summary>A grace period for the log, as the cancellation's reason writes it (<c>15 s</c>, <c>250 ms</c>), or <c>no limit</c>.</summary>
    private static string DescribeGrace(TimeSpan grace) =>
        grace == Timeout.InfiniteTimeSpan ? "no limit" : StopRequest.FormatGrace(grace);

    /// <summary>Names the tasks of the service's group still running.</summary>
    private static string DescribeStillRunning(TaskGroup group)
    {
        var names = new List<string>();
        foreach (var task in group.LiveTasks())
        {
            names.Add($"'{task.Name}'");
        }

        return names.Count == 0 ? "(unknown: task tracking is off)" : string.Join(", ", names);
    }
}
