using System.Collections.Generic;
using System.Threading.Tasks;

namespace Corral.Testing.Core;

/// <summary>
/// The run's <see cref="TaskScheduler"/>: every task queued to it runs on the run's scheduler thread, in the run's order.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Inside a run it is <see cref="TaskScheduler.Current"/> everywhere (posted callbacks run as its tasks too), so
/// <c>Task.Factory.StartNew</c> and <c>ContinueWith</c> without a scheduler stay on the run's thread.</item>
/// <item>Inlining is allowed only on the scheduler thread.</item>
/// </list>
/// </remarks>
internal sealed class RunTaskScheduler : TaskScheduler
{
    private readonly TestRun _run;

    internal RunTaskScheduler(TestRun run) => _run = run;

    /// <inheritdoc />
    public override int MaximumConcurrencyLevel => 1;

    /// <summary>Runs a task queued here (the loop, or the thread pool after the run ended).</summary>
    internal bool Execute(Task task) => TryExecuteTask(task);

    /// <inheritdoc />
    protected override void QueueTask(Task task) => _run.Enqueue(task);

    /// <inheritdoc />
    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
        _run.IsSchedulerThread && TryExecuteTask(task);

    /// <inheritdoc />
    protected override IEnumerable<Task>? GetScheduledTasks() => null;
}
