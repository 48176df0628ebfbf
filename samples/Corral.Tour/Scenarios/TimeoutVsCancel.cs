// Scene 5: asyncio.timeout() turns its own expiry into TimeoutError while outside cancellation stays
// CancelledError. In plain .NET a timeout (CancelAfter) and an external Cancel() raise the same exception, so a
// catch cannot tell "too slow" from "the caller gave up". Corral's FailAfterAsync throws TimeoutException only
// when its own deadline fired; cancellation from outside stays an OperationCanceledException that carries its reason.
using System;
using System.Threading;
using System.Threading.Tasks;

namespace Corral.Tour.Scenarios;

internal static class TimeoutVsCancel
{
    private static readonly TimeSpan s_shortTimeout = TimeSpan.FromMilliseconds(10);

    private static readonly TimeSpan s_longTimeout = TimeSpan.FromSeconds(30);

    public static async Task<ScenarioResult> RunAsync()
    {
        var plain = await PlainAsync();
        var (corral, problem) = await CorralAsync();
        return new ScenarioResult(plain, corral, problem);
    }

    private static async Task<string> PlainAsync()
    {
        // The usual shape: the caller's token, linked with a timeout of our own.
        using var caller = new CancellationTokenSource();
        using var timedOut = CancellationTokenSource.CreateLinkedTokenSource(caller.Token);
        timedOut.CancelAfter(s_shortTimeout);
        var timeout = await OutcomeAsync(() => Task.Delay(Timeout.Infinite, timedOut.Token));

        using var caller2 = new CancellationTokenSource();
        using var notTimedOut = CancellationTokenSource.CreateLinkedTokenSource(caller2.Token);
        notTimedOut.CancelAfter(s_longTimeout);
        await caller2.CancelAsync(); // "client disconnected"
        var external = await OutcomeAsync(() => Task.Delay(Timeout.Infinite, notTimedOut.Token));

        return $"timeout -> {timeout.GetType().Name}, external cancel -> {external.GetType().Name}";
    }

    private static async Task<(string Line, string? Problem)> CorralAsync()
    {
        var timeout = await OutcomeAsync(() => CancelScope.FailAfterAsync(s_shortTimeout, ct => Task.Delay(Timeout.Infinite, ct)));

        Exception? external = null;
        await CancelScope.RunAsync(
            async request =>
            {
                external = await OutcomeAsync(() => CancelScope.FailAfterAsync(s_longTimeout, ct =>
                {
                    request.Cancel("client disconnected");
                    return Task.Delay(Timeout.Infinite, ct);
                }));
                await CancelScope.CheckpointAsync(); // still cancelled: 'request' absorbs this at its end
            },
            new CancelScopeOptions { Name = "request" });

        var reason = (external as ScopeCancelledException)?.Reason.ToString();
        var line = $"timeout -> {timeout.GetType().Name}, external cancel -> " +
            $"{(external is OperationCanceledException ? nameof(OperationCanceledException) : external?.GetType().Name ?? "nothing")} " +
            $"({reason ?? "no reason"})";
        string? problem = null;
        if (timeout is not TimeoutException)
        {
            problem = $"FailAfterAsync's own deadline gave {timeout.GetType().Name}, not TimeoutException";
        }
        else if (external is not OperationCanceledException)
        {
            problem = $"an external cancel gave {external?.GetType().Name ?? "nothing"}, not OperationCanceledException";
        }
        else if (reason is null || !reason.Contains("client disconnected", StringComparison.Ordinal))
        {
            problem = $"the external cancellation lost its reason: {external.Message}";
        }

        return (line, problem);
    }

    private static async Task<Exception> OutcomeAsync(Func<Task> operation)
    {
        try
        {
            await operation();
            return new InvalidOperationException("completed without being cut off");
        }
        catch (Exception e)
        {
            return e;
        }
    }
}
