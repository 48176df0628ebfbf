using System;

namespace Corral.Tool;

/// <summary>A failure the tool reports in one sentence, with the exit code it ends with.</summary>
internal sealed class CorralToolException : Exception
{
    public CorralToolException()
    {
    }

    public CorralToolException(string message)
        : base(message)
    {
    }

    public CorralToolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public CorralToolException(int exitCode, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ExitCode = exitCode;
    }

    /// <summary>Gets the process exit code that goes with the failure (see <see cref="ExitCodes"/>).</summary>
    public int ExitCode { get; } = ExitCodes.Usage;
}
