// The "1,000,000 children alive at once" row: live memory, which BenchmarkDotNet does not measure (it counts bytes
// allocated per operation). Each variant runs in a fresh process of this program, three times, alternating; the report
// takes the median. A child is parked on one shared TaskCompletionSource, so what is measured is what keeps a waiting
// child alive: its state machine, and whatever the group keeps per child.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;

namespace Corral.Benchmarks;

internal static class AliveMemory
{
    public const int Children = 1_000_000;

    private static readonly string[] s_variants = ["raw", "corral", "corral-untracked"];

    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };

    private static TaskCompletionSource s_gate = new();

    private static readonly Func<CancellationToken, Task> s_parked = ParkedAsync;

    /// <summary>Runs every variant three times in fresh processes and writes the medians to results/AliveMemory.json.</summary>
    public static int Run(string artifactsPath, bool quick)
    {
        var children = quick ? Children / 10 : Children;
        var runs = new Dictionary<string, List<JsonElement>>();
        for (var round = 0; round < 3; round++)
        {
            foreach (var variant in s_variants)
            {
                var start = new ProcessStartInfo(Environment.ProcessPath!)
                {
                    RedirectStandardOutput = true,
                    UseShellExecute = false,
                };
                if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
                {
                    // Launched as `dotnet Corral.Benchmarks.dll` (bench/compare.sh), not through the app host: the child
                    // process needs the assembly too.
                    start.ArgumentList.Add(typeof(AliveMemory).Assembly.Location);
                }

                start.ArgumentList.Add("--alive-child");
                start.ArgumentList.Add(variant);
                start.ArgumentList.Add(children.ToString(CultureInfo.InvariantCulture));
                using var process = Process.Start(start)!;
                var output = process.StandardOutput.ReadToEnd();
                process.WaitForExit();
                if (process.ExitCode != 0)
                {
                    Console.Error.WriteLine($"AliveMemory: variant {variant} failed ({process.ExitCode}): {output}");
                    return 1;
                }

                var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
                Console.WriteLine($"AliveMemory round {round + 1}: {line}");
                if (!runs.TryGetValue(variant, out var list))
                {
                    runs[variant] = list = new();
                }

                list.Add(JsonDocument.Parse(line).RootElement.Clone());
            }
        }

        var result = new Dictionary<string, object>
        {
            ["children"] = children,
            ["runs"] = runs,
        };
        foreach (var (variant, list) in runs)
        {
            result[variant] = new Dictionary<string, double>
            {
                ["liveBytes"] = Median(list.Select(e => e.GetProperty("liveBytes").GetDouble())),
                ["allocatedBytes"] = Median(list.Select(e => e.GetProperty("allocatedBytes").GetDouble())),
                ["spawnMs"] = Median(list.Select(e => e.GetProperty("spawnMs").GetDouble())),
                ["joinMs"] = Median(list.Select(e => e.GetProperty("joinMs").GetDouble())),
            };
        }

        var dir = Path.Combine(artifactsPath, "results");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "AliveMemory.json");
        File.WriteAllText(path, JsonSerializer.Serialize(result, s_indented));
        Console.WriteLine($"AliveMemory: wrote {path}");
        return 0;
    }

    /// <summary>One measurement in this (fresh) process; prints one JSON line.</summary>
    public static int RunChild(string variant, int children)
    {
        TaskTree.TrackingEnabled = variant != "corral-untracked";
        s_gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Warm up both paths on a few children so JIT and first-use allocations are not counted.
        Spawn(variant, 100, out var warm);
        s_gate.SetResult();
        warm.GetAwaiter().GetResult();
        s_gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var before = LiveBytes();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        Spawn(variant, children, out var all);
        var spawnMs = clock.Elapsed.TotalMilliseconds;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var live = LiveBytes() - before;

        clock.Restart();
        s_gate.SetResult();
        all.GetAwaiter().GetResult();
        var joinMs = clock.Elapsed.TotalMilliseconds;

        Console.WriteLine(JsonSerializer.Serialize(new
        {
            variant,
            children,
            liveBytes = live,
            allocatedBytes = allocated,
            spawnMs,
            joinMs,
        }));
        GC.KeepAlive(all);
        return 0;
    }

    private static void Spawn(string variant, int children, out Task all)
    {
        if (variant == "raw")
        {
            var tasks = new Task[children];
            for (var i = 0; i < children; i++)
            {
                tasks[i] = ParkedAsync(default);
            }

            all = Task.WhenAll(tasks);
            return;
        }

        all = TaskGroup.RunAsync(group =>
        {
            for (var i = 0; i < children; i++)
            {
                group.Start(s_parked);
            }

            return Task.CompletedTask;
        });
    }

    private static async Task ParkedAsync(CancellationToken cancellationToken) => await s_gate.Task.ConfigureAwait(false);

    private static long LiveBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
