using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;

namespace Corral.Benchmarks;

/// <summary>
/// Consume 1,000,000 ints with <c>await foreach</c>: from a safe producer (a task of its own group writing into a bounded
/// channel of capacity 64) against a raw <c>async IAsyncEnumerable</c> iterator yielding the same items.
/// </summary>
/// <remarks>
/// Goal (issue 7): at most 1.5x the raw iterator's time per item with capacity 64. The producer runs on the thread pool
/// beside the consumer: three launches; the report takes their median. Beside it, for reference in the same run: the same
/// items in chunks of <see cref="ChunkSize"/> (the way to hand over small items fast: docs/concepts/streams.md,
/// "Throughput"), and the BCL's own producer/consumer over a bounded and an unbounded channel (a writer task and
/// <c>ReadAllAsync</c>), which show what a hand-over between two threads costs before Corral adds anything
/// (docs/adr/0007-safe-producers.md, "Speed").
/// </remarks>
[MemoryDiagnoser]
[ThreeLaunches]
[SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "The scenario's name: a stream of items, not a System.IO.Stream.")]
public class SafeProducerStream
{
    public const int Items = 1_000_000;

    public const int Capacity = 64;

    public const int ChunkSize = 256;

    private static readonly SafeProducerOptions s_options = new() { Capacity = Capacity };

    private static readonly SafeProducerOptions s_chunkOptions = new() { Capacity = 1 };

    [Benchmark(Baseline = true, Description = "raw async IAsyncEnumerable<int> iterator")]
    public async Task<long> Raw()
    {
        long sum = 0;
        await foreach (var item in RawIteratorAsync())
        {
            sum += item;
        }

        return sum;
    }

    [Benchmark(Description = "SafeProducer.ProduceAsync<int> (Capacity = 64)")]
    public async Task<long> Corral()
    {
        long sum = 0;
        await foreach (var item in SafeProducer.ProduceAsync<int>(
            static async (writer, ct) =>
            {
                for (var i = 0; i < Items; i++)
                {
                    await writer.WriteAsync(i, ct);
                }
            },
            s_options))
        {
            sum += item;
        }

        return sum;
    }

    [Benchmark(Description = "SafeProducer.ProduceAsync<int[]>: chunks of 256 items (Capacity = 1 chunk)")]
    public async Task<long> CorralChunks()
    {
        long sum = 0;
        await foreach (var chunk in SafeProducer.ProduceAsync<int[]>(
            static async (writer, ct) =>
            {
                var chunk = new int[ChunkSize];
                var count = 0;
                for (var i = 0; i < Items; i++)
                {
                    chunk[count++] = i;
                    if (count == ChunkSize)
                    {
                        // The consumer owns a chunk once it is written: a new array for the next one.
                        await writer.WriteAsync(chunk, ct);
                        chunk = new int[ChunkSize];
                        count = 0;
                    }
                }

                if (count > 0)
                {
                    await writer.WriteAsync(chunk[..count], ct);
                }
            },
            s_chunkOptions))
        {
            foreach (var item in chunk)
            {
                sum += item;
            }
        }

        return sum;
    }

    [Benchmark(Description = "BCL bounded channel (capacity 64): writer task, ReadAllAsync")]
    public Task<long> BclBounded() =>
        ThroughChannelAsync(Channel.CreateBounded<int>(new BoundedChannelOptions(Capacity) { SingleReader = true, SingleWriter = true }));

    [Benchmark(Description = "BCL unbounded channel: writer task, ReadAllAsync")]
    public Task<long> BclUnbounded() =>
        ThroughChannelAsync(Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true }));

    private static async Task<long> ThroughChannelAsync(Channel<int> channel)
    {
        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < Items; i++)
            {
                await channel.Writer.WriteAsync(i);
            }

            channel.Writer.Complete();
        });

        long sum = 0;
        await foreach (var item in channel.Reader.ReadAllAsync())
        {
            sum += item;
        }

        await producer;
        return sum;
    }

    private static async IAsyncEnumerable<int> RawIteratorAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (var i = 0; i < Items; i++)
        {
            yield return i;
        }

        await Task.CompletedTask;
    }
}
