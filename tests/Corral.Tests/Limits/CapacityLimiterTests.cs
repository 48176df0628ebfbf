using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace Corral.Tests;

/// <summary>CapacityLimiter, after anyio's TestCapacityLimiter.</summary>
public sealed class CapacityLimiterTests
{
    [Fact]
    public void Ctor_NegativeTokens_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CapacityLimiter(-1));
        Assert.Equal(0, new CapacityLimiter(0).TotalTokens);
    }

    [Fact]
    public async Task AcquireAsync_TokenFree_BorrowsAndDisposeGivesBack()
    {
        var limiter = new CapacityLimiter(2);
        using (var lease = await limiter.AcquireAsync())
        {
            Assert.Equal(1, limiter.BorrowedTokens);
            Assert.Equal(1, limiter.AvailableTokens);
            Assert.Same(lease, Assert.Single(limiter.GetBorrowers()));
        }

        Assert.Equal(0, limiter.BorrowedTokens);
        Assert.Equal(2, limiter.AvailableTokens);
    }

    [Fact]
    public async Task AcquireAsync_Full_WaitersServedInArrivalOrder()
    {
        var limiter = new CapacityLimiter(1);
        var order = new List<int>();
        var first = await limiter.AcquireAsync();
        var waits = new List<Task>();
        for (var i = 0; i < 3; i++)
        {
            var n = i;
            waits.Add(Task.Run(async () =>
            {
                using (await limiter.AcquireAsync())
                {
                    lock (order)
                    {
                        order.Add(n);
                    }
                }
            }));
            while (limiter.WaitingCount != i + 1)
            {
                await Task.Yield(); // wait until waiter n has queued, so that arrival order is known
            }
        }

        first.Dispose();
        await Task.WhenAll(waits).Within();

        Assert.Equal(new[] { 0, 1, 2 }, order);
        Assert.Equal(0, limiter.BorrowedTokens);
    }

    [Fact]
    public async Task TryAcquire_WhileSomeoneWaits_DoesNotOvertake()
    {
        var limiter = new CapacityLimiter(1);
        var held = await limiter.AcquireAsync();
        var waiter = limiter.AcquireAsync().AsTask();
        limiter.TotalTokens = 1; // no change: still full
        held.Dispose(); // the token goes straight to the waiter

        Assert.False(limiter.TryAcquire(out var barged));
        Assert.Null(barged);
        using var lease = await waiter.Within();
        Assert.Equal(1, limiter.BorrowedTokens);
    }

    [Fact]
    public async Task AcquireAsync_SameBorrowerTwice_Throws()
    {
        var limiter = new CapacityLimiter(2);
        var borrower = new object();
        using var lease = await limiter.AcquireAsync(borrower);

        Assert.Same(borrower, lease.Borrower);
        Assert.Throws<InvalidOperationException>(() => limiter.AcquireAsync(borrower));
        Assert.Throws<InvalidOperationException>(() => limiter.TryAcquire(borrower, out _));
    }

    [Fact]
    public void Release_BorrowerHoldingNothing_Throws()
    {
        var limiter = new CapacityLimiter(1);
        Assert.Throws<InvalidOperationException>(() => limiter.Release(new object()));
    }

    [Fact]
    public async Task Release_ByBorrower_ThenOldLeaseDisposed_DoesNotReleaseNewLease()
    {
        var limiter = new CapacityLimiter(1);
        var borrower = new object();
        var old = await limiter.AcquireAsync(borrower);
        limiter.Release(borrower);
        using var current = await limiter.AcquireAsync(borrower);

        old.Dispose();
        old.Dispose();

        Assert.Equal(1, limiter.BorrowedTokens);
        Assert.Same(borrower, Assert.Single(limiter.GetBorrowers()));
    }

    [Fact]
    public async Task AcquireAsync_WaiterCancelled_LeavesQueueAndNextWaiterGetsToken()
    {
        // anyio #947: a cancelled waiter must neither keep a token nor block the ones behind it.
        var limiter = new CapacityLimiter(1);
        var held = await limiter.AcquireAsync();
        CancelScope? firstScope = null;
        var firstQueued = Gate.New();
        ScopeCancelledException? firstError = null;
        var first = CancelScope.RunAsync(async scope =>
        {
            firstScope = scope;
            var wait = limiter.AcquireAsync();
            firstQueued.SetResult();
            try
            {
                using (await wait)
                {
                    Assert.Fail("a cancelled waiter got a token");
                }
            }
            catch (ScopeCancelledException e)
            {
                firstError = e;
                throw;
            }
        });
        await firstQueued.Task.Within();
        var second = limiter.AcquireAsync().AsTask();
        Assert.Equal(2, limiter.WaitingCount);

        firstScope!.Cancel("not needed");
        await first.Within();
        Assert.Equal("not needed", firstError!.Reason.Message);
        Assert.Equal(1, limiter.WaitingCount);

        held.Dispose();
        using var lease = await second.Within();
        Assert.Equal(1, limiter.BorrowedTokens);
        Assert.Equal(0, limiter.WaitingCount);
    }

    [Fact]
    public async Task AcquireAsync_ScopeCancelledWithTokenFree_ThrowsAndBorrowsNothing()
    {
        var limiter = new CapacityLimiter(1);
        await CancelScope.RunAsync(async scope =>
        {
            scope.Cancel("level");
            await Assert.ThrowsAsync<ScopeCancelledException>(async () => await limiter.AcquireAsync());
            await Assert.ThrowsAsync<ScopeCancelledException>(async () => await limiter.AcquireAsync());
        });

        Assert.Equal(0, limiter.BorrowedTokens);
        Assert.Equal(0, limiter.WaitingCount);
    }

    [Fact]
    public async Task TotalTokens_Raised_WakesWaitersInOrder()
    {
        var limiter = new CapacityLimiter(0);
        var a = limiter.AcquireAsync().AsTask();
        var b = limiter.AcquireAsync().AsTask();
        var c = limiter.AcquireAsync().AsTask();
        Assert.Equal(3, limiter.WaitingCount);

        limiter.TotalTokens = 2;

        using var la = await a.Within();
        using var lb = await b.Within();
        Assert.False(c.IsCompleted);
        Assert.Equal(1, limiter.WaitingCount);

        limiter.TotalTokens = 3;
        using var lc = await c.Within();
        Assert.Equal(3, limiter.BorrowedTokens);
    }

    [Fact]
    public async Task TotalTokens_Lowered_RevokesNothingAndNewBorrowersWait()
    {
        var limiter = new CapacityLimiter(2);
        var a = await limiter.AcquireAsync();
        var b = await limiter.AcquireAsync();

        limiter.TotalTokens = 1;
        Assert.Equal(2, limiter.BorrowedTokens);
        Assert.Equal(0, limiter.AvailableTokens);

        var c = limiter.AcquireAsync().AsTask();
        a.Dispose();
        Assert.False(c.IsCompleted); // one still lent, total 1
        b.Dispose();
        using var lc = await c.Within();
        Assert.Equal(1, limiter.BorrowedTokens);
        Assert.Throws<ArgumentOutOfRangeException>(() => limiter.TotalTokens = -1);
    }

    [Fact]
    public async Task AcquireAsync_ManyTasks_NeverMoreThanTotalAtOnce()
    {
        // anyio's test_limit: with one token, no two tasks are ever inside together.
        var limiter = new CapacityLimiter(2);
        var inside = 0;
        var max = 0;
        await TaskGroup.RunAsync(g =>
        {
            for (var t = 0; t < 8; t++)
            {
                g.Start(async _ =>
                {
                    for (var i = 0; i < 20; i++)
                    {
                        using (await limiter.AcquireAsync())
                        {
                            var now = Interlocked.Increment(ref inside);
                            InterlockedMax(ref max, now);
                            await Task.Yield();
                            Interlocked.Decrement(ref inside);
                        }
                    }
                });
            }

            return Task.CompletedTask;
        }, new TaskGroupOptions { StartMode = ChildStartMode.ThreadPool }).Within();

        Assert.InRange(max, 1, 2);
        Assert.Equal(0, limiter.BorrowedTokens);
    }

    internal static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
