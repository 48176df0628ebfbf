using System;
using System.IO;
using System.Linq;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Csv;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using Perfolizer.Horology;

namespace Corral.Benchmarks;

/// <summary>The configuration every class runs under: memory diagnoser, JSON/CSV export, and the short job for --short.</summary>
internal static class BenchConfig
{
    /// <summary>Where results go: BenchmarkDotNet.Artifacts at the repository root (gitignored), wherever we are started from.</summary>
    public static string ArtifactsPath { get; } = Path.Combine(FindRepositoryRoot(), "BenchmarkDotNet.Artifacts");

    public static IConfig Create(bool isShort, bool isDry = false)
    {
        // The short job: few iterations, a quarter-second each. Ratios, not absolute times, are the figures on this noisy
        // 2-core machine, so every baseline runs in the same process setup as its Corral twin.
        var job = isDry
            ? Job.Dry.WithId("Dry")
            : isShort
            ? Job.Default.WithId("Short").WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(7)
                .WithIterationTime(TimeInterval.FromMilliseconds(250))
            : Job.Default.WithId("Default");

        return ManualConfig.CreateEmpty()
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddLogger(BenchmarkDotNet.Loggers.ConsoleLogger.Default)
            .AddAnalyser(DefaultConfig.Instance.GetAnalysers().ToArray())
            .AddValidator(DefaultConfig.Instance.GetValidators().ToArray())
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumn(StatisticColumn.Median)
            .AddExporter(JsonExporter.Full, CsvExporter.Default, MarkdownExporter.GitHub)
            .WithSummaryStyle(SummaryStyle.Default.WithRatioStyle(RatioStyle.Value))
            .WithArtifactsPath(ArtifactsPath)
            .WithBuildTimeout(TimeSpan.FromMinutes(15)) // the machine is shared: a build can take minutes
            .WithOptions(ConfigOptions.DisableLogFile);
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Corral.slnx")))
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}

/// <summary>
/// Runs the class in at least three launches (fresh processes): thread-pool scenarios vary from launch to launch, and the
/// report takes the median of the launches.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
internal sealed class ThreeLaunchesAttribute : JobMutatorConfigBaseAttribute
{
    public ThreeLaunchesAttribute()
        : base(Job.Default.WithLaunchCount(3))
    {
    }
}
