using System;
using System.Threading.Tasks;

namespace Corral.Tests;

/// <summary>Coordination helpers for the stream, channel and limit tests.</summary>
internal static class Gate
{
    /// <summary>A generous bound so that a broken test fails instead of hanging; never a timing assertion.</summary>
    public static readonly TimeSpan Hang = TimeSpan.FromSeconds(20);

    /// <summary>A signal whose waiters resume asynchronously (never inside the call that sets it).</summary>
    public static TaskCompletionSource New() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A value signal whose waiters resume asynchronously.</summary>
    public static TaskCompletionSource<T> New<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Awaits <paramref name="task"/>, failing the test if it does not complete within <see cref="Hang"/>.</summary>
    public static Task Within(this Task task) => task.WaitAsync(Hang);

    /// <summary>Awaits <paramref name="task"/>, failing the test if it does not complete within <see cref="Hang"/>.</summary>
    public static Task<T> Within<T>(this Task<T> task) => task.WaitAsync(Hang);
}
