using System;
using System.Linq;
using System.Threading;
using Corral.Core;
using Xunit;

namespace Corral.CoyoteTests;

/// <summary>
/// What a race is checked against once its racers have all returned (the tree is quiescent). The invariants themselves live
/// in the core, as debug-only assertions: every locked and CAS region of CancelScope, TaskGroup, the Watchdog, the
/// DeadlineQueue and ProducerFlow asserts its own (AssertInvariants), in every schedule Coyote explores, and
/// <see cref="CancelScope.AssertSettled"/> asserts the ones that hold only once nothing is in flight. A failed assertion
/// fails the schedule (<see cref="DebugAssertions"/>). This class adds only what the tests themselves count.
/// </summary>
internal static class Invariants
{
    /// <summary>The subtree under <paramref name="scope"/> has settled: verdicts, tokens and reasons agree with their inputs,
    /// every unshielded child inherits its parent's cancellation, and no exited scope is linked.</summary>
    public static void Settled(CancelScope scope) => scope.AssertSettled();

    /// <summary>Verdict and a fresh token read agree (black-box, through the public surface), and the subtree has settled.</summary>
    public static void VerdictMatchesToken(CancelScope scope, string what)
    {
        var verdict = scope.IsCancellationRequested;
        Assert.True(verdict == scope.Token.IsCancellationRequested, $"{what}: verdict {verdict} but a fresh token read says {!verdict}");
        scope.AssertSettled();
    }

    /// <summary>Number of deadlines armed on a clock.</summary>
    public static int ArmedDeadlines(TimeProvider clock) => DeadlineQueue.For(clock).Count;

    /// <summary>Counts each exception of a group failure by reference.</summary>
    public static int TimesReported(TaskGroupException e, Exception failure) =>
        e.Failures.Count(f => ReferenceEquals(f.Exception, failure));

    /// <summary>Tasks of a test that are running now; must be 0 when their group returns.</summary>
    public sealed class Running
    {
        private int _count;
        private int _entered;
        private int _left;

        public int Count => Volatile.Read(ref _count);

        public int Entered => Volatile.Read(ref _entered);

        public int Left => Volatile.Read(ref _left);

        public void Enter()
        {
            Interlocked.Increment(ref _count);
            Interlocked.Increment(ref _entered);
        }

        public void Leave()
        {
            Interlocked.Decrement(ref _count);
            Interlocked.Increment(ref _left);
        }
    }
}
