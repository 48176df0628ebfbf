// Scene 2: two tasks fail. `await Task.WhenAll(...)` rethrows only the first exception; the second one never
// reaches the catch block (it is left on the Task's Exception property, where nobody looks). A TaskGroup throws one
// TaskGroupException that holds both, with the name of the task that threw each.
using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;

namespace Corral.Tour.Scenarios;

internal static class LostExceptions
{
    public static async Task<ScenarioResult> RunAsync()
    {
        var plain = await PlainAsync();
        var (corral, problem) = await CorralAsync();
        return new ScenarioResult(plain, corral, problem);
    }

    private static async Task<string> PlainAsync()
    {
        // Both tasks wait for the same signal, then fail: deterministic, no sleeps.
        var go = new TaskCompletionSource();
        var db = FailWhenAsync(go.Task, new IOException("disk full"));
        var cache = FailWhenAsync(go.Task, new TimeoutException("cache did not answer"));
        var all = Task.WhenAll(db, cache);
        go.SetResult();

        var caught = 0;
        try
        {
            await all;
        }
        catch (Exception)
        {
            caught++;
        }

        // Which of the two it is depends on timing, so the line does not name it.
        return $"the catch got {caught} of 2 failures, the other is dropped";
    }

    private static async Task<(string Line, string? Problem)> CorralAsync()
    {
        var go = new TaskCompletionSource();
        TaskGroupException? thrown = null;
        try
        {
            await TaskGroup.RunAsync(group =>
            {
                group.Start(_ => FailWhenAsync(go.Task, new IOException("disk full")), "db");
                group.Start(_ => FailWhenAsync(go.Task, new TimeoutException("cache did not answer")), "cache");
                go.SetResult();
                return Task.CompletedTask;
            });
        }
        catch (TaskGroupException e)
        {
            thrown = e;
        }

        // Failures come in the order they happened, which depends on timing here: print them by task name.
        var failures = thrown?.Failures
            .OrderBy(f => f.TaskName, StringComparer.Ordinal)
            .Select(f => $"{f.TaskName}: {f.Exception.GetType().Name}") ?? [];
        var line = $"the catch got {thrown?.Failures.Count ?? 0} of 2 failures ({string.Join(", ", failures)})";
        string? problem = null;
        if (thrown is null || thrown.Failures.Count != 2)
        {
            problem = $"expected a TaskGroupException with 2 failures, got {thrown?.Failures.Count ?? 0}";
        }
        else if (!thrown.Contains<IOException>() || !thrown.Contains<TimeoutException>())
        {
            problem = $"a failure is missing: {thrown.Message}";
        }

        return (line, problem);
    }

    private static async Task FailWhenAsync(Task go, Exception failure)
    {
        await go;
        throw failure;
    }
}
