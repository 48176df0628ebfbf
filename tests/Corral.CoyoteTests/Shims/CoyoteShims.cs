using System.Runtime.CompilerServices;
using System.Threading.Tasks;

namespace Corral.CoyoteTests.Shims;

/// <summary>
/// Stand-ins the build patches into Corral.dll for the APIs Coyote 1.7.11 does not model (see Patcher/Program.cs).
/// </summary>
public static class CoyoteShims
{
    /// <summary>Replaces <c>task.ConfigureAwait(options)</c>: same continuation context, and no throw under SuppressThrowing.</summary>
    public static ConfiguredTaskAwaitable ConfigureAwait(Task task, ConfigureAwaitOptions options)
    {
        var awaited = (options & ConfigureAwaitOptions.SuppressThrowing) != 0 ? SwallowAsync(task) : task;
        return awaited.ConfigureAwait((options & ConfigureAwaitOptions.ContinueOnCapturedContext) != 0);
    }

    private static async Task SwallowAsync(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // SuppressThrowing: the caller inspects the task's state itself.
        catch
#pragma warning restore CA1031
        {
        }
    }
}
