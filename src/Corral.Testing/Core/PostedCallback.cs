using System.Threading;

namespace Corral.Testing.Core;

/// <summary>A callback posted to <see cref="RunSynchronizationContext"/>, carried as the state of the task that runs it (so
/// the loop can tell a posted callback's failure, which nobody else will see, from a task's own).</summary>
internal sealed class PostedCallback
{
    private readonly SendOrPostCallback _callback;
    private readonly object? _state;

    internal PostedCallback(SendOrPostCallback callback, object? state)
    {
        _callback = callback;
        _state = state;
    }

    /// <summary>The task body that runs a posted callback.</summary>
    internal static void Invoke(object? posted) => ((PostedCallback)posted!).Invoke();

    private void Invoke() => _callback(_state);
}
