using System;
using System.Diagnostics;
using System.Reflection;
using Microsoft.Coyote.Specifications;

namespace Corral.CoyoteTests;

/// <summary>
/// Turns a failed <see cref="Debug.Assert(bool, string)"/> in Corral (its AssertInvariants and AssertSettled) into a bug of the
/// schedule Coyote is exploring, with its trace, instead of a crash of the test host.
/// </summary>
internal sealed class DebugAssertions : TraceListener
{
    private static readonly object s_gate = new();
    private static bool s_installed;

    /// <summary>Installs the listener once per process, and checks that the Corral under test asserts at all.</summary>
    /// <exception cref="InvalidOperationException">Corral.dll was built without DEBUG: its invariants would not run.</exception>
    public static void Install()
    {
        lock (s_gate)
        {
            if (s_installed)
            {
                return;
            }

            var debuggable = typeof(CancelScope).Assembly.GetCustomAttribute<DebuggableAttribute>();
            if (debuggable is null || !debuggable.IsJITOptimizerDisabled)
            {
                throw new InvalidOperationException(
                    "The Coyote suite needs a Debug build of Corral.dll: its invariants are Debug.Asserts. " +
                    "Corral.CoyoteTests.csproj references Corral in Debug; rebuild it.");
            }

            Trace.Listeners.Clear();
            Trace.Listeners.Add(new DebugAssertions());
            s_installed = true;
        }
    }

    public override void Fail(string? message, string? detailMessage) =>
        Specification.Assert(false, $"Debug.Assert failed in Corral: {message} {detailMessage}{Environment.NewLine}{new StackTrace(1, true)}");

    public override void Write(string? message)
    {
    }

    public override void WriteLine(string? message)
    {
    }
}
