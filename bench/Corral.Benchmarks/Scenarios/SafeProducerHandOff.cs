using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;

namespace Corral.Benchmarks;

/// <summary>
/// The floor under <see cref="SafeProducerStream"/>: one item handed from a safe producer's writer to its enumerator with no
/// thread switch at all (64 writes, then 64 <c>MoveNextAsync</c>, on the benchmark's thread), beside the same through the
/// BCL channel the safe producer uses, and a raw iterator.
/// </summary>
/// <remarks>No goal of its own: it shows what a hand-over costs before any thread-pool hop (docs/adr/0007-safe-producers.md,
/// "Speed").</remarks>
[MemoryDiagnoser]
public class SafeProducerHandOff
{
    public const int Batch = 64;
    public const int Items = Batch * 1_000;

    private readonly Channel<int> _channel = System.Threading.Channels.Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true });

    private IAsyncEnumerator<int> _items = null!;
    private ChannelWriter<int> _writer = null!;

    [GlobalSetup]
    public void Open()
    {
        // The producer hands its writer out and waits; the benchmark drives the writer itself.
        var writer = new TaskCompletionSource<ChannelWriter<int>>(TaskCreationOptions.RunContinuationsAsynchronously);
        _items = SafeProducer.ProduceAsync<int>(
            async (w, ct) =>
            {
                writer.SetResult(w);
                await Task.Delay(Timeout.Infinite, ct);
            },
            new SafeProducerOptions { Capacity = Batch }).GetAsyncEnumerator();
        _writer = writer.Task.GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Close() => _items.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true, OperationsPerInvoke = Items, Description = "raw async IAsyncEnumerable<int> iterator")]
    public async Task<long> Raw()
    {
        long sum = 0;
        await foreach (var item in RawIteratorAsync())
        {
            sum += item;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Items, Description = "BCL unbounded single-reader channel: 64 TryWrite, 64 TryRead")]
    public long Channel()
    {
        var writer = _channel.Writer;
        var reader = _channel.Reader;
        long sum = 0;
        for (var batch = 0; batch < Items / Batch; batch++)
        {
            for (var i = 0; i < Batch; i++)
            {
                writer.TryWrite(i);
            }

            for (var i = 0; i < Batch; i++)
            {
                reader.TryRead(out var item);
                sum += item;
            }
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Items, Description = "safe producer's writer and enumerator: 64 WriteAsync, 64 MoveNextAsync")]
    public long Corral()
    {
        long sum = 0;
        for (var batch = 0; batch < Items / Batch; batch++)
        {
            for (var i = 0; i < Batch; i++)
            {
                if (!_writer.WriteAsync(i).IsCompletedSuccessfully)
                {
                    throw new InvalidOperationException("a write with room did not complete at once");
                }
            }

            for (var i = 0; i < Batch; i++)
            {
                if (!_items.MoveNextAsync().IsCompletedSuccessfully)
                {
                    throw new InvalidOperationException("a MoveNextAsync with an item buffered did not complete at once");
                }

                sum += _items.Current;
            }
        }

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
