using System;
using System.Threading;

namespace Corral.Hosting;

/// <summary>
/// What <c>AddCorral</c> settles for the whole process when a host starts, and the services read: the exit code a failed
/// service leaves (<see cref="CorralHostingOptions.FailureExitCode"/>). Process-wide, like the watchdog (see ADR 0014).
/// </summary>
internal static class CorralHostingState
{
    /// <summary>The exit code to set when a service fails, or 0 for none. Written by the host's start and its disposal.</summary>
    private static int s_failureExitCode;

    /// <summary>Gets or sets the exit code a failed service leaves; 0 leaves <see cref="Environment.ExitCode"/> alone.</summary>
    internal static int FailureExitCode
    {
        get => Volatile.Read(ref s_failureExitCode);
        set => Volatile.Write(ref s_failureExitCode, value);
    }

    /// <summary>A service failed: set the process's exit code, unless none is configured or something set one already.</summary>
    internal static void OnServiceFailed()
    {
        var code = FailureExitCode;
        if (code != 0 && Environment.ExitCode == 0)
        {
            Environment.ExitCode = code;
        }
    }
}
