using System.Globalization;

namespace Corral.Services;

/// <summary>What a hop has left of its caller's budget, on arrival.</summary>
internal static class Budget
{
    /// <summary>"{hop}: N ms left", or "{hop}: no deadline".</summary>
    public static string Describe(string hop) => CancelScope.Current is { EffectiveDeadline: { } deadline } scope
        ? string.Create(CultureInfo.InvariantCulture, $"{hop}: {(deadline - scope.TimeProvider.GetUtcNow()).TotalMilliseconds:F0} ms left")
        : $"{hop}: no deadline";
}
