// The known program: async code suspended at known lines, for the stack tests.
//
// Each `// @await:NAME` marks the line of an await a test expects a frame to be suspended at; the tests read the marks
// from this file, so lines may move freely. The file is compiled twice over: into the test assembly by the SDK, and,
// from an embedded copy, by Roslyn at test time in Debug and Release, with the PDB beside, embedded, or absent
// (KnownProgramBuilds). Keep it self-contained: it may use only the framework and Corral.
using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;

namespace Corral.Tests.Diagnostics.Stacks.Known;

public static class KnownProgram
{
    // --- async methods calling async methods -------------------------------------------------------------------------

    public static Task Methods(Task gate) => OuterAsync(gate);

    private static async Task OuterAsync(Task gate)
    {
        var value = await MiddleAsync(gate); // @await:outer
        GC.KeepAlive(value);
    }

    private static async Task<int> MiddleAsync(Task gate)
    {
        await gate; // @await:middle
        return 1;
    }

    // --- one method, several awaits (Release builds share one awaiter field between them) ------------------------------

    public static Task Steps(Task first, Task second, Task third) => StepsAsync(first, second, third);

    private static async Task StepsAsync(Task first, Task second, Task third)
    {
        await first; // @await:step1
        await second; // @await:step2
        await third; // @await:step3
    }

    // --- a lambda, and a local function awaited with ConfigureAwait(false) --------------------------------------------

    public static Task Lambda(Task gate)
    {
        Func<Task> body = async () =>
        {
            await gate; // @await:lambda
        };
        return body();
    }

    public static Task LocalFunction(Task gate)
    {
        return WorkerAsync();

        async Task WorkerAsync()
        {
            await gate.ConfigureAwait(false); // @await:local
        }
    }

    // --- ValueTask methods: a channel read with ConfigureAwait(false), and a pooled one ---------------------------------

    public static Task ValueTaskRead(ChannelReader<int> reader) => SumAsync(reader);

    private static async Task SumAsync(ChannelReader<int> reader)
    {
        var first = await ReadOneAsync(reader); // @await:sum
        GC.KeepAlive(first);
    }

    private static async ValueTask<int> ReadOneAsync(ChannelReader<int> reader)
    {
        return await reader.ReadAsync().ConfigureAwait(false); // @await:read
    }

    public static Task Pooled(Task gate) => PooledCallerAsync(gate);

    private static async Task PooledCallerAsync(Task gate)
    {
        await PooledAsync(gate); // @await:pooled-caller
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask PooledAsync(Task gate)
    {
        await gate; // @await:pooled
    }

    // --- a generic method of a generic type ----------------------------------------------------------------------------

    public static Task Generic(Task<string> gate) => new Cache<int>().LoadAsync(gate);

    public sealed class Cache<TKey>
    {
        public async Task<TValue> LoadAsync<TValue>(Task<TValue> gate)
        {
            var value = await gate; // @await:generic
            return value;
        }
    }

    // --- leaves: delays, a semaphore, WhenAll, a delegate on the pool, WaitAsync ------------------------------------------

    public static Task Delay() => DelayAsync();

    private static async Task DelayAsync()
    {
#pragma warning disable RS0030 // the leaf under test is a delay without a token ("awaiting Task.Delay without a token"); no test waits for it
        await Task.Delay(TimeSpan.FromMinutes(10)); // @await:delay
#pragma warning restore RS0030
    }

    public static Task DelayWithToken(CancellationToken cancellationToken) => DelayWithTokenAsync(cancellationToken);

    public static Task FiniteDelayWithToken(CancellationToken cancellationToken) => FiniteDelayWithTokenAsync(cancellationToken);

    private static async Task FiniteDelayWithTokenAsync(CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromMinutes(10), cancellationToken); // @await:finite-delay-token
    }

    private static async Task DelayWithTokenAsync(CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken); // @await:delay-token
    }

    public static Task Semaphore(SemaphoreSlim semaphore) => SemaphoreAsync(semaphore);

    private static async Task SemaphoreAsync(SemaphoreSlim semaphore)
    {
        await semaphore.WaitAsync(); // @await:semaphore
    }

    public static Task WhenAll(Task first, Task second) => WhenAllAsync(first, second);

    private static async Task WhenAllAsync(Task first, Task second)
    {
        await Task.WhenAll(first, second); // @await:whenall
    }

    public static Task WaitAsyncOnMethod(Task gate) => WaitAsyncAsync(gate);

    private static async Task WaitAsyncAsync(Task gate)
    {
        await MiddleAsync(gate).WaitAsync(TimeSpan.FromMinutes(10)); // @await:waitasync
    }

    // --- an async iterator awaited through await foreach ---------------------------------------------------------------

    public static Task Iterator(Task gate) => ConsumeAsync(gate);

    private static async Task ConsumeAsync(Task gate)
    {
        await foreach (var item in ProduceAsync(gate)) // @await:consume
        {
            GC.KeepAlive(item);
        }
    }

    private static async IAsyncEnumerable<int> ProduceAsync(Task gate)
    {
        yield return 1;
        await gate; // @await:produce
        yield return 2;
    }

    // --- churn: two families of tasks that never stop moving, with disjoint method names ------------------------------

    public static Task ChurnA(CancellationToken cancellationToken) => ChurnAOuterAsync(cancellationToken);

    private static async Task ChurnAOuterAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await ChurnAInnerAsync(); // @await:churn-a-outer
        }
    }

    private static async Task ChurnAInnerAsync()
    {
        await Task.Yield(); // @await:churn-a-yield
#pragma warning disable RS0030 // the churn moves on real timers on purpose: captures must race with real continuations; no test waits for it
        await Task.Delay(1); // @await:churn-a-delay
#pragma warning restore RS0030
    }

    public static Task ChurnB(CancellationToken cancellationToken) => ChurnBOuterAsync(cancellationToken);

    private static async Task ChurnBOuterAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var value = await ChurnBInnerAsync(); // @await:churn-b-outer
            GC.KeepAlive(value);
        }
    }

    private static async ValueTask<int> ChurnBInnerAsync()
    {
#pragma warning disable RS0030 // as in ChurnAInnerAsync: real timers, so captures race with real continuations
        await Task.Delay(1).ConfigureAwait(false); // @await:churn-b-delay
#pragma warning restore RS0030
        await Task.Yield(); // @await:churn-b-yield
        return 1;
    }

    // --- a Corral tree: a sleep, Start<T> and a task awaiting it, a nested group, a scope, the body ----------------------

    public static Task Tree(Task gate, TaskCompletionSource ready, string name) => TaskGroup.RunAsync(
        async outer =>
        {
            outer.Start(_ => SleeperAsync(), "sleeper");
            var loader = outer.Start(_ => LoadAsync(gate), "loader");
            outer.Start(
                async _ =>
                {
                    var loaded = await loader; // @await:awaits-loader
                    GC.KeepAlive(loaded);
                },
                "consumer");
            outer.Start(_ => NestedAsync(gate), "nested");
            outer.Start(_ => ScopedAsync(gate), "scoped");
            ready.SetResult();
            await gate; // @await:body
            outer.Cancel("done");
        },
        new TaskGroupOptions { Name = name });

    private static async Task SleeperAsync()
    {
        await CancelScope.SleepAsync(TimeSpan.FromMinutes(10)); // @await:sleep
    }

    private static async Task<int> LoadAsync(Task gate)
    {
        await gate; // @await:load
        return 42;
    }

    private static async Task NestedAsync(Task gate)
    {
        await TaskGroup.RunAsync( // @await:nested
            inner =>
            {
                inner.Start(_ => DeepAsync(gate), "deep");
                return Task.CompletedTask;
            },
            new TaskGroupOptions { Name = "inner" });
    }

    private static async Task DeepAsync(Task gate)
    {
        await gate; // @await:deep
    }

    private static async Task ScopedAsync(Task gate)
    {
        await CancelScope.MoveOnAfterAsync(TimeSpan.FromMinutes(10), _ => InScopeAsync(gate), "in-scope"); // @await:scoped
    }

    private static async Task InScopeAsync(Task gate)
    {
        await gate.ConfigureAwait(false); // @await:in-scope
    }

    // --- a task that ignores its cancellation, for the watchdog ------------------------------------------------------------

    public static Task Deaf(Task gate) => DeafAsync(gate);

    private static async Task DeafAsync(Task gate)
    {
        await gate; // @await:deaf
    }
}
