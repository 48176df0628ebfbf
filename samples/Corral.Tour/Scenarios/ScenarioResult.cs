namespace Corral.Tour.Scenarios;

/// <summary>What one scenario printed on each side, and whether Corral kept its promise.</summary>
/// <param name="Plain">What plain .NET did, in a few words.</param>
/// <param name="Corral">What Corral did, in a few words.</param>
/// <param name="Problem">Null when the Corral side behaved as promised; otherwise what went wrong.</param>
internal sealed record ScenarioResult(string Plain, string Corral, string? Problem)
{
    public bool Ok => Problem is null;

    /// <summary>Gets or sets more lines printed under the scene's line (indented), or null.</summary>
    public string? Details { get; init; }
}
