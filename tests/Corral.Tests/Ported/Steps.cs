using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace Corral.Tests;

/// <summary>
/// Pins the order of steps across tasks, like kotlinx.coroutines' <c>expect(n)</c> / <c>finish(n)</c>, plus the small
/// helpers the ported trio/anyio tests share.
/// </summary>
/// <remarks>
/// A step reached out of order, or a step marked <see cref="Never"/>, is recorded rather than thrown: an assertion thrown
/// inside a group child would surface as a group failure and blur the message. <see cref="Finish"/> asserts it all.
/// </remarks>
internal sealed class Steps
{
    private readonly object _gate = new();
    private readonly List<string> _errors = new();
    private int _last;

    /// <summary>Marks step <paramref name="step"/>; it must be the next one.</summary>
    public void Expect(int step)
    {
        lock (_gate)
        {
            _last++;
            if (_last != step)
            {
                _errors.Add($"reached step {step} where step {_last} was expected");
                _last = step;
            }
        }
    }

    /// <summary>Marks a point that must never be reached.</summary>
    public void Never(string what)
    {
        lock (_gate)
        {
            _errors.Add($"reached a point that must not be reached: {what}");
        }
    }

    /// <summary>Marks the last step and asserts that every step came in order and no forbidden point was reached.</summary>
    public void Finish(int step)
    {
        Expect(step);
        lock (_gate)
        {
            Assert.Empty(_errors);
        }
    }

    /// <summary>A signal whose waiters resume asynchronously (never inside the call that sets it).</summary>
    public static TaskCompletionSource Signal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>trio's <c>sleep_forever</c> on a token.</summary>
    public static Task SleepForever(CancellationToken ct) => Task.Delay(Timeout.Infinite, ct);

    /// <summary>Asserts that the ambient scope's next checkpoint throws, and returns the exception.</summary>
    public static Task<ScopeCancelledException> CheckpointThrows() =>
        Assert.ThrowsAsync<ScopeCancelledException>(() => CancelScope.CheckpointAsync().AsTask());
}
