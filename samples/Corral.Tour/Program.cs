// The Corral tour: the scenes of "Cancel Is a Request, Not a Command", each played twice, once with plain .NET
// (Task.WhenAll, CancellationTokenSource) and once with Corral, one line per scene; then four scenes of what Corral
// adds (7: the live task tree, printed under its line; 8: the watchdog naming a stubborn task; 9: a graceful stop;
// 10: where a stuck task is suspended, from its async call stack). The tour checks itself: it exits with 1 when
// Corral's side of a scene did not behave as promised, or a scene did not end in time.
using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Corral.Tour.Scenarios;

namespace Corral.Tour;

internal static class Program
{
    /// <summary>A scene that has not ended by then is reported as failed (and the tour goes on): the tour never hangs.</summary>
    private static readonly TimeSpan s_sceneLimit = TimeSpan.FromSeconds(5);

    private static readonly Scenario[] s_scenarios =
    [
        new(1, "siblings after a failure", SiblingsAfterFailure.RunAsync),
        new(2, "two tasks fail", LostExceptions.RunAsync),
        new(3, "cleanup, then return", CleanupThenReturn.RunAsync),
        new(4, "a stubborn loop", StubbornLoop.RunAsync),
        new(5, "timeout or cancel?", TimeoutVsCancel.RunAsync),
        new(6, "cleanup in finally", ShieldedCleanup.RunAsync),
        new(7, "what is still running?", WhatIsRunning.RunAsync),
        new(8, "who ignores the cancel?", WatchdogNamesIt.RunAsync),
        new(9, "ask first, then cancel", AskThenCancel.RunAsync),
        new(10, "where is it stuck?", WhereIsItStuck.RunAsync),
    ];

    public static async Task<int> Main()
    {
        Console.WriteLine("Corral tour: each scene played with plain .NET, then with Corral.");
        Console.WriteLine();

        var problems = new List<string>();
        foreach (var scenario in s_scenarios)
        {
            var result = await PlayAsync(scenario);
            var verdict = result.Problem is { } problem ? $"   NOT AS PROMISED: {problem}" : string.Empty;
            Console.WriteLine($"{scenario.Number} {scenario.Title,-25} plain: {result.Plain}   corral: {result.Corral}{verdict}");
            if (result.Details is { } details)
            {
                foreach (var line in details.TrimEnd('\n').Split('\n'))
                {
                    Console.WriteLine($"      {line}");
                }
            }
            if (result.Problem is not null)
            {
                problems.Add($"{scenario.Number} ({scenario.Title})");
            }
        }

        Console.WriteLine();
        if (problems.Count == 0)
        {
            Console.WriteLine($"{s_scenarios.Length} of {s_scenarios.Length} scenes: Corral behaved as promised.");
            return 0;
        }

        Console.WriteLine(
            $"{s_scenarios.Length - problems.Count} of {s_scenarios.Length} scenes: Corral behaved as promised; " +
            $"not in {string.Join(", ", problems)}.");
        return 1;
    }

    private static async Task<ScenarioResult> PlayAsync(Scenario scenario)
    {
        try
        {
            using var limit = new CancellationTokenSource();
            var play = scenario.RunAsync();
            var finished = await Task.WhenAny(play, Task.Delay(s_sceneLimit, limit.Token));
            await limit.CancelAsync();
            if (finished != play)
            {
                return new ScenarioResult("?", "?", $"the scene did not end within {s_sceneLimit.TotalSeconds} s");
            }

            return await play;
        }
        catch (Exception e)
        {
            return new ScenarioResult("?", "?", $"the scene threw {e.GetType().Name}: {e.Message}");
        }
    }
}
