using System;
using System.Threading;
using System.Threading.Tasks;

namespace Corral.Testing.Core;

/// <summary>A task waiting in <see cref="CorralTest.WaitAllTasksBlockedAsync(TimeSpan)"/> for the run to go quiet.</summary>
internal sealed class IdleWaiter
{
    internal IdleWaiter(TimeSpan cushion) => Cushion = cushion;

    /// <summary>Gets how long, in real time, the run must have been quiet before this waiter is woken.</summary>
    internal TimeSpan Cushion { get; }

    /// <summary>Gets the task the waiter awaits; its continuation goes back to where it was awaited (never inline).</summary>
    internal TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Gets or sets the registration on the ambient scope's token; disposed when the waiter is woken.</summary>
    internal CancellationTokenRegistration Registration { get; set; }
}
