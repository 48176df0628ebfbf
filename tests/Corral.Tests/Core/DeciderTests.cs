using System;
using System.Threading;
using System.Threading.Tasks;
using Corral.Core;
using Xunit;

namespace Corral.Tests.Core;

/// <summary>The one decision every block's end goes through (Core/Decider.cs), row by row of its table.</summary>
public sealed class DeciderTests
{
    private static readonly CancelScope s_scope = new(null, "decided", TimeProvider.System, shield: false, ScopeKind.Scope);

    /// <summary>Who cancelled the block: nobody, its own explicit cancel, its own deadline, a failure in its group, or only an ancestor.</summary>
    public enum Cancelled
    {
        Not,
        OwnCancel,
        OwnDeadline,
        OwnGroupFailure,
        ByAncestor,
    }

    [Theory]
    [InlineData(Cancelled.Not, nameof(BodyEnd.Completed), nameof(Verdict.Completed))]
    [InlineData(Cancelled.Not, nameof(BodyEnd.Cancelled), nameof(Verdict.PassesThrough))] // someone else's cancellation: not ours to absorb
    [InlineData(Cancelled.Not, nameof(BodyEnd.Failed), nameof(Verdict.PassesThrough))]
    [InlineData(Cancelled.OwnCancel, nameof(BodyEnd.Completed), nameof(Verdict.Completed))] // finished before it noticed: not cut off
    [InlineData(Cancelled.OwnCancel, nameof(BodyEnd.Cancelled), nameof(Verdict.Absorbed))]
    [InlineData(Cancelled.OwnCancel, nameof(BodyEnd.Failed), nameof(Verdict.PassesThrough))]
    [InlineData(Cancelled.OwnDeadline, nameof(BodyEnd.Completed), nameof(Verdict.Completed))]
    [InlineData(Cancelled.OwnDeadline, nameof(BodyEnd.Cancelled), nameof(Verdict.TimedOut))]
    [InlineData(Cancelled.OwnDeadline, nameof(BodyEnd.Failed), nameof(Verdict.PassesThrough))]
    [InlineData(Cancelled.OwnGroupFailure, nameof(BodyEnd.Cancelled), nameof(Verdict.Absorbed))]
    [InlineData(Cancelled.ByAncestor, nameof(BodyEnd.Completed), nameof(Verdict.Propagates))] // the exit is a checkpoint (ADR 0009)
    [InlineData(Cancelled.ByAncestor, nameof(BodyEnd.Cancelled), nameof(Verdict.Propagates))]
    [InlineData(Cancelled.ByAncestor, nameof(BodyEnd.Failed), nameof(Verdict.PassesThrough))]
    public void Decide_EveryRowOfTheTable_GivesItsVerdict(Cancelled cancelled, string end, string expected)
    {
        // The enums are internal: the rows name them (a public test method cannot take them).
        var ownReason = cancelled switch
        {
            Cancelled.OwnCancel => new CancelReason(CancelReasonKind.Requested, "cancel requested", s_scope),
            Cancelled.OwnDeadline => new CancelReason(CancelReasonKind.DeadlineExceeded, "deadline exceeded", s_scope),
            Cancelled.OwnGroupFailure => new CancelReason(CancelReasonKind.TaskFailed, "task 'x' failed", s_scope),
            _ => null,
        };

        var verdict = Decider.Decide(ownReason, cancelled != Cancelled.Not, Enum.Parse<BodyEnd>(end));
        Assert.Equal(Enum.Parse<Verdict>(expected), verdict);
    }

    [Fact]
    public void EndOf_EachKindOfEnd_ClassifiesIt()
    {
        Assert.Equal(BodyEnd.Completed, Decider.EndOf(null));
        Assert.Equal(BodyEnd.Cancelled, Decider.EndOf(new OperationCanceledException()));
        Assert.Equal(BodyEnd.Cancelled, Decider.EndOf(new TaskCanceledException()));
        Assert.Equal(BodyEnd.Failed, Decider.EndOf(new InvalidOperationException()));
        Assert.Equal(BodyEnd.Failed, Decider.EndOf(new AggregateException(new OperationCanceledException())));
    }

    [Fact]
    public void IsCancellationOf_ACancellationWhileNothingCancelledTheGroup_IsAFailure()
    {
        using var foreign = new CancellationTokenSource();
        foreign.Cancel();

        Assert.False(Decider.IsCancellationOf(s_scope, new OperationCanceledException(foreign.Token)));
        Assert.False(Decider.IsCancellationOf(s_scope, new InvalidOperationException()));
    }

    [Fact]
    public async Task IsCancellationOf_ACancellationWhileTheGroupsScopeIsCancelled_IsTheGroupsNotAFailure()
    {
        bool? whileCancelled = null;
        bool? otherException = null;
        await CancelScope.RunAsync(scope =>
        {
            scope.Cancel();
            whileCancelled = Decider.IsCancellationOf(scope, new OperationCanceledException());
            otherException = Decider.IsCancellationOf(scope, new InvalidOperationException());
            return Task.CompletedTask;
        });

        Assert.True(whileCancelled);
        Assert.False(otherException);
    }
}
