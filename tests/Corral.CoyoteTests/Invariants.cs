using System;
using System.Linq;
using System.Reflection;
using System.Threading;
using Xunit;

namespace Corral.CoyoteTests;

/// <summary>The invariants every race is checked against, once its racers have all returned (the tree is quiescent).</summary>
internal static class Invariants
{
    private static readonly FieldInfo s_firstChild =
        typeof(CancelScope).GetField("_firstChild", BindingFlags.NonPublic | BindingFlags.Instance)
        ?? throw new InvalidOperationException("CancelScope._firstChild not found: update Invariants.LiveChildren");

    private static readonly FieldInfo s_nextSibling =
        typeof(CancelScope).GetField("_nextSibling", BindingFlags.NonPublic | BindingFlags.Instance)
        ?? throw new InvalidOperationException("CancelScope._nextSibling not found: update Invariants.LiveChildren");

    /// <summary>Verdict and token agree, and a cancelled scope names a reason.</summary>
    public static void VerdictMatchesToken(CancelScope scope, string what)
    {
        var verdict = scope.IsCancellationRequested;
        Assert.True(verdict == scope.Token.IsCancellationRequested, $"{what}: verdict {verdict} but a fresh token read says {!verdict}");
        Assert.True(verdict == (scope.CancelReason is not null), $"{what}: verdict {verdict} but CancelReason is {scope.CancelReason?.ToString() ?? "null"}");
    }

    /// <summary>A scope nested (unshielded) in a cancelled one is cancelled with the same reason.</summary>
    public static void Inherits(CancelScope child, CancelScope parent, string what)
    {
        if (child.Shield || child.CancelCalled)
        {
            return;
        }

        Assert.True(child.IsCancellationRequested == parent.IsCancellationRequested, $"{what}: child verdict {child.IsCancellationRequested}, parent {parent.IsCancellationRequested}");
        Assert.True(ReferenceEquals(child.CancelReason, parent.CancelReason), $"{what}: child reason '{child.CancelReason}' differs from parent's '{parent.CancelReason}'");
    }

    /// <summary>The scopes still linked under <paramref name="scope"/> in the cancel tree (white-box: a closed scope must never be left there).</summary>
    public static CancelScope[] LiveChildren(CancelScope scope)
    {
        var result = new System.Collections.Generic.List<CancelScope>();
        for (var c = (CancelScope?)s_firstChild.GetValue(scope); c is not null; c = (CancelScope?)s_nextSibling.GetValue(c))
        {
            result.Add(c);
        }

        return result.ToArray();
    }

    /// <summary>No exited scope is still linked under <paramref name="scope"/>.</summary>
    public static void NoExitedChildLinked(CancelScope scope, string what)
    {
        var stale = LiveChildren(scope).Where(c => c.IsExited).ToArray();
        Assert.True(stale.Length == 0, $"{what}: {stale.Length} exited scope(s) still linked under '{scope.Name}': {string.Join(", ", stale.Select(s => s.ToString()))}");
    }

    /// <summary>Number of deadlines armed on a clock (white-box: reads the core's internal DeadlineQueue).</summary>
    public static int ArmedDeadlines(TimeProvider clock)
    {
        var queueType = typeof(CancelScope).Assembly.GetType("Corral.Core.DeadlineQueue", throwOnError: true)!;
        var queue = queueType.GetMethod("For", BindingFlags.Static | BindingFlags.NonPublic)!.Invoke(null, [clock]);
        return (int)queueType.GetProperty("Count", BindingFlags.Instance | BindingFlags.NonPublic)!.GetValue(queue)!;
    }

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
