using System;

namespace Corral;

/// <summary>Settings of <see cref="StructuredParallel"/>'s loops: the degree of parallelism, a shared limiter, a name.</summary>
/// <remarks>
/// <list type="bullet">
/// <item>A plain settings bag, read once when a loop starts.</item>
/// </list>
/// </remarks>
public sealed class ParallelForEachOptions
{
    private int _maxDegreeOfParallelism = Environment.ProcessorCount;

    /// <summary>Gets or sets how many items may be processed at once; default <see cref="Environment.ProcessorCount"/>.</summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item>The loop runs this many worker tasks (fewer when the source is a collection with fewer items).</item>
    /// <item>Unlike <c>ParallelOptions</c>, there is no "unlimited" (-1): a structured loop owns every task it runs.</item>
    /// </list>
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int MaxDegreeOfParallelism
    {
        get => _maxDegreeOfParallelism;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _maxDegreeOfParallelism = value;
        }
    }

    /// <summary>
    /// Gets or sets a limiter every item's body also borrows a token from, to share one limit between several loops or other
    /// code; default none.
    /// </summary>
    public CapacityLimiter? Limiter { get; set; }

    /// <summary>Gets or sets the name of the loop's task group (in failures and diagnostics); default <c>"ForEachAsync"</c>.</summary>
    public string? Name { get; set; }
}
