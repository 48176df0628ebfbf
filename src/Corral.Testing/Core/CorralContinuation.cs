using System;

namespace Corral.Testing.Core;

/// <summary>A continuation of Corral's that a run took (<see cref="TestRun.OnCompleted"/>), with the run that runs it.</summary>
internal sealed class CorralContinuation
{
    private readonly TestRun _run;
    private readonly Action _continuation;

    internal CorralContinuation(TestRun run, Action continuation)
    {
        _run = run;
        _continuation = continuation;
    }

    /// <summary>Runs the continuation on the current thread, as a thread-pool thread would (see <see cref="TestRun.RunCorralContinuation"/>).</summary>
    internal void Run() => _run.RunCorralContinuation(_continuation);
}
