// Scene 10: where is it stuck? A request fans out to two warehouses and hangs. Plain .NET can say only that the combined
// task is not done (WaitingForActivation): no name, no line, nothing about what it waits for. Corral reads each task's
// async call stack when a snapshot asks (and costs nothing until then): the stuck task, the line of the await it is
// suspended at in each method, and what the innermost one awaits.
using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;

namespace Corral.Tour.Scenarios;

internal static class WhereIsItStuck
{
    public static async Task<ScenarioResult> RunAsync()
    {
        var plain = await PlainAsync();
        var (corral, problem, details) = await CorralAsync();
        return new ScenarioResult(plain, corral, problem) { Details = details };
    }

    private static async Task<string> PlainAsync()
    {
        using var tourOnly = new CancellationTokenSource();
        var request = Task.WhenAll(Warehouse.ReserveAsync("a", stuck: false, tourOnly.Token), Warehouse.ReserveAsync("b", stuck: true, tourOnly.Token));
        await Task.Delay(50);
        var status = request.Status;
        await tourOnly.CancelAsync();
        await request.ContinueWith(_ => { }, TaskScheduler.Default);
        return $"the request is {status}; nothing says which part or where";
    }

    private static async Task<(string Line, string? Problem, string? Details)> CorralAsync()
    {
        using var tourOnly = new CancellationTokenSource();
        TaskTreeSnapshot? snapshot = null;
        await TaskGroup.RunAsync(
            async request =>
            {
                request.Start(_ => Warehouse.ReserveAsync("a", stuck: false, tourOnly.Token), "warehouse-a");
                request.Start(_ => Warehouse.ReserveAsync("b", stuck: true, tourOnly.Token), "warehouse-b");
                await Task.Delay(50);
                snapshot = TaskTree.Capture();
                await tourOnly.CancelAsync(); // only the tour can unstick it
            },
            new TaskGroupOptions { Name = "request" });

        var stuck = snapshot!.FindAll(n => n.Name == "warehouse-b").SingleOrDefault();
        var stack = stuck?.Stack;
        var where = stack?.InnermostKnownFrame;
        var line = $"'warehouse-b' is suspended at {where?.Location ?? "?"} in {where?.Method ?? "?"}, {stack?.Awaiting?.ToString() ?? "awaiting ?"} - stack below";

        // The stuck task's own part of the tree, without the snapshot's first line (process and time).
        var lines = stuck is null ? [] : new TaskTreeSnapshot(snapshot.TakenAt, snapshot.ProcessId, [stuck]).ToText().Split('\n').Skip(1).ToArray();
        string? problem = null;
        if (stuck is null || stack is null)
        {
            problem = "the snapshot has no stack for 'warehouse-b'";
        }
        else if (stack.Status != TaskTreeStackStatus.Suspended || stack.Awaiting?.Kind != TaskTreeAwaitKind.Delay ||
            stack.Frames.Select(f => f.Method).FirstOrDefault() != "WhereIsItStuck.Warehouse.QueryStockAsync" || where?.Line is null)
        {
            problem = $"the stack does not show the await in WhereIsItStuck.Warehouse.QueryStockAsync with its line: {string.Join(" | ", lines)}";
        }

        return (line, problem, stuck is null ? null : string.Join('\n', lines));
    }

    /// <summary>A client of two warehouses; warehouse b never answers (until the tour stops it).</summary>
    private static class Warehouse
    {
        public static async Task ReserveAsync(string warehouse, bool stuck, CancellationToken tourOnly)
        {
            try
            {
                var stock = await QueryStockAsync(warehouse, stuck, tourOnly);
                GC.KeepAlive(stock);
            }
            catch (OperationCanceledException) when (tourOnly.IsCancellationRequested)
            {
                // the tour is over
            }
        }

        public static async Task<int> QueryStockAsync(string warehouse, bool stuck, CancellationToken tourOnly)
        {
            await Task.Delay(stuck ? TimeSpan.FromSeconds(30) : TimeSpan.FromMilliseconds(1), tourOnly);
            return warehouse.Length;
        }
    }
}
