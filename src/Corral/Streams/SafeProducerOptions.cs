using System;

namespace Corral;

/// <summary>
/// Settings of a safe producer: the capacity of the channel between producer and consumer, and a name for diagnostics.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>A plain settings bag: read once when an enumeration starts, so changing it later affects only later enumerations.</item>
/// <item>Not thread-safe to mutate while another thread starts an enumeration with it.</item>
/// </list>
/// </remarks>
public sealed class SafeProducerOptions
{
    /// <summary>The default <see cref="Name"/> of a producer task.</summary>
    internal const string DefaultName = "producer";

    private int _capacity;

    /// <summary>
    /// Gets or sets how many items the producer may write ahead of the consumer.
    /// </summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item><c>0</c> (the default, as trio's <c>as_safe_channel</c>): rendezvous. The producer is asked for an item only when the
    /// consumer waits in <c>MoveNextAsync</c>, so it never runs ahead and an early <c>break</c> wastes no work.</item>
    /// <item><c>N &gt; 0</c>: a bounded buffer of <c>N</c> items; the producer is never more than <c>N</c> items ahead. A write
    /// that finds the buffer full waits until the consumer has taken half of it (hysteresis: producer and consumer take turns
    /// once per <c>N</c>/2 items, not once per item). The consumer reports what it took every <c>N</c>/4 items and whenever it
    /// waits, so <c>TryWrite</c> may refuse an item while a few slots are free but not yet reported. Use 64 or more for
    /// throughput.</item>
    /// </list>
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int Capacity
    {
        get => _capacity;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _capacity = value;
        }
    }

    /// <summary>Gets or sets the name of the producer task (in failures, reasons and diagnostics); default <c>"producer"</c>.</summary>
    public string? Name { get; set; }
}
