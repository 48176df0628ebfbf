// Corral.Benchmarks: every Corral scenario of issue 5 beside the raw .NET way of doing the same work.
//
//   dotnet run -c Release --project bench/Corral.Benchmarks -- --short   the whole suite, short job, then the memory mode
//   dotnet run -c Release --project bench/Corral.Benchmarks -- --short --filter '*Spawn*'
//   dotnet run -c Release --project bench/Corral.Benchmarks -- --memory   only the 1,000,000-children memory measurement
//   dotnet run -c Release --project bench/Corral.Benchmarks -- --sizes    only the object sizes (what a child is made of)
//   dotnet run -c Release --project bench/Corral.Benchmarks -- --dry      every scenario once: a smoke test
//
// Anything else on the command line goes to BenchmarkDotNet (--filter, --list flat, --join ...). Results land in
// BenchmarkDotNet.Artifacts/results (JSON, CSV, Markdown); bench/write-report.py turns them into docs/benchmarks.md.
using System;
using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Running;

namespace Corral.Benchmarks;

internal static class Program
{
    public static int Main(string[] args)
    {
        var rest = new List<string>(args);

        // A child process of the memory mode: measure one variant and print one JSON line.
        var alive = rest.IndexOf("--alive-child");
        if (alive >= 0)
        {
            return AliveMemory.RunChild(rest[alive + 1], int.Parse(rest[alive + 2], System.Globalization.CultureInfo.InvariantCulture));
        }

        if (rest.Remove("--sizes"))
        {
            return Sizes.Run(BenchConfig.ArtifactsPath);
        }

        if (rest.Remove("--memory"))
        {
            return AliveMemory.Run(BenchConfig.ArtifactsPath, rest.Remove("--quick"));
        }

        var isShort = rest.Remove("--short");
        var isDry = rest.Remove("--dry"); // one invocation each: a smoke test that every scenario runs
        var skipMemory = rest.Remove("--no-memory");
        var filtered = rest.Any(a => a.StartsWith("--filter", StringComparison.Ordinal) || a == "-f");
        if (!filtered && !rest.Contains("--list"))
        {
            rest.AddRange(["--filter", "*"]);
        }

        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run([.. rest], BenchConfig.Create(isShort, isDry));
        var failed = summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success));

        // The memory row is measured apart from BenchmarkDotNet: live bytes, not allocated bytes, with a million children parked.
        if (!filtered && !skipMemory && !isDry && !rest.Contains("--list"))
        {
            failed |= AliveMemory.Run(BenchConfig.ArtifactsPath, quick: false) != 0;
            failed |= Sizes.Run(BenchConfig.ArtifactsPath) != 0;
        }

        return failed ? 1 : 0;
    }
}
