namespace Corral.Tool;

/// <summary>The tool's exit codes (docs/concepts/introspection.md lists them for users).</summary>
internal static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Ok = 0;

    /// <summary>The command line was wrong.</summary>
    public const int Usage = 1;

    /// <summary>The process did not answer in time: it does not use Corral (or has not loaded it yet), or is too busy.</summary>
    public const int NoAnswer = 2;

    /// <summary>No such process, or a process that does not serve .NET diagnostics.</summary>
    public const int NotReachable = 3;

    /// <summary>The process answered with something this version of the tool cannot read.</summary>
    public const int BadAnswer = 4;
}
