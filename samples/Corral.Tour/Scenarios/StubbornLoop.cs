// Scene 4: the article's stubborn loop, which catches cancellation and goes on. It is bounded here (Iterations
// rounds) so the tour ends; unbounded, both versions would spin hot forever: no library can stop code that
// catches everything. What differs is what the loop and its caller can see. A plain token says only "A task was
// canceled." and the loop then returns as if it had finished. Under Corral every checkpoint raises again (level),
// each time with the reason, and once the loop ends, its scope still knows it was cut off: the first checkpoint
// after the loop raises, and MoveOnAfterAsync returns false.
using System;
using System.Threading;
using System.Threading.Tasks;

namespace Corral.Tour.Scenarios;

internal static class StubbornLoop
{
    private const int Iterations = 1000;

    private static readonly TimeSpan s_timeout = TimeSpan.FromMilliseconds(10);

    public static async Task<ScenarioResult> RunAsync()
    {
        var plain = await PlainAsync();
        var (corral, problem) = await CorralAsync();
        return new ScenarioResult(plain, corral, problem);
    }

    private static async Task<string> PlainAsync()
    {
        using var cts = new CancellationTokenSource(s_timeout);
        var caught = 0;
        string? message = null;
        var afterLoop = false;
        for (var i = 0; i < Iterations; i++)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cts.Token);
            }
            catch (OperationCanceledException e)
            {
                caught++; // "cancelled? no thanks"
                message = e.Message;
            }
        }

        afterLoop = true;
        return $"caught {caught} of {Iterations} and went on (\"{message}\"), code after the loop ran={afterLoop}";
    }

    private static async Task<(string Line, string? Problem)> CorralAsync()
    {
        var raised = 0;
        var withReason = 0;
        string? reason = null;
        var afterLoop = false;
        var completed = await CancelScope.MoveOnAfterAsync(s_timeout, async ct =>
        {
            for (var i = 0; i < Iterations; i++)
            {
                try
                {
                    await CancelScope.SleepAsync(TimeSpan.FromSeconds(1));
                }
                catch (OperationCanceledException e)
                {
                    raised++; // "cancelled? no thanks"
                    if (e is ScopeCancelledException sce)
                    {
                        withReason++;
                        reason = sce.Reason.ToString();
                    }
                }
            }

            await CancelScope.CheckpointAsync(); // the scope is still cancelled: this raises, and the scope absorbs it
            afterLoop = true;
        });

        var line = $"raised {raised} of {Iterations} times (\"{reason ?? "no reason"}\" every time), " +
            $"code after the loop ran={afterLoop}, MoveOnAfterAsync completed={completed}";
        string? problem = null;
        if (raised != Iterations)
        {
            problem = $"only {raised} of {Iterations} checkpoints raised: the cancellation was used up (edge, not level)";
        }
        else if (withReason != Iterations || reason is null)
        {
            problem = $"{Iterations - withReason} cancellation(s) carried no reason";
        }
        else if (afterLoop || completed)
        {
            problem = "the scope forgot it was cancelled: the checkpoint after the loop did not raise";
        }

        return (line, problem);
    }
}
