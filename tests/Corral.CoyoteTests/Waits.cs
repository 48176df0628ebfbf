using System.Threading;
using System.Threading.Tasks;

namespace Corral.CoyoteTests;

/// <summary>Waiting primitives Coyote controls.</summary>
internal static class Waits
{
    /// <summary>
    /// Completes (cancelled) only once <paramref name="token"/> is cancelled. Not <c>Task.Delay(Infinite, token)</c>: Coyote
    /// models a delay as a yield that may complete at once, which would turn "waits for cancellation" into "finishes".
    /// </summary>
    public static async Task UntilCancelledAsync(CancellationToken token)
    {
        var cancelled = new TaskCompletionSource();
        using (token.Register(static s => ((TaskCompletionSource)s!).TrySetResult(), cancelled))
        {
            await cancelled.Task;
        }

        token.ThrowIfCancellationRequested();
    }
}
