using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;

namespace Corral.Benchmarks;

/// <summary>
/// A parallel for-each over 10,000 items, at most 4 at once, each item awaiting <see cref="Task.Yield"/>:
/// <see cref="StructuredParallel.ForEachAsync{T}(System.Collections.Generic.IEnumerable{T}, System.Func{T, CancellationToken, Task}, ParallelForEachOptions?)"/>
/// against <see cref="Parallel.ForEachAsync{TSource}(System.Collections.Generic.IEnumerable{TSource}, ParallelOptions, System.Func{TSource, CancellationToken, ValueTask})"/>.
/// </summary>
/// <remarks>Goal (issue 7): at most 1.2x the raw time. On the thread pool: three launches; the report takes their median.</remarks>
[MemoryDiagnoser]
[ThreeLaunches]
public class StructuredForEach
{
    public const int Items = 10_000;
    public const int Parallelism = 4;

    private static readonly int[] s_items = Enumerable.Range(0, Items).ToArray();
    private static readonly ParallelOptions s_rawOptions = new() { MaxDegreeOfParallelism = Parallelism };
    private static readonly ParallelForEachOptions s_options = new() { MaxDegreeOfParallelism = Parallelism };

    [Benchmark(Baseline = true, Description = "Parallel.ForEachAsync (MaxDegreeOfParallelism = 4)")]
    public Task Raw() => Parallel.ForEachAsync(s_items, s_rawOptions, static async (_, _) => await Task.Yield());

    [Benchmark(Description = "StructuredParallel.ForEachAsync (MaxDegreeOfParallelism = 4)")]
    public Task Corral() => StructuredParallel.ForEachAsync(s_items, static async (_, _) => await Task.Yield(), s_options);
}
