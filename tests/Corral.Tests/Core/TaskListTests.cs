using System.Collections.Generic;
using System.Threading.Tasks;
using Corral.Tests.Diagnostics;
using Xunit;

namespace Corral.Tests.Core;

/// <summary>The group's task list: finished tasks leave it lazily, and never show as live.</summary>
[Collection(nameof(GlobalDiagnostics))]
public sealed class TaskListTests
{
    [Fact]
    public async Task Track_ManyShortChildrenOverTime_ListStaysBoundedByTheLiveTasks()
    {
        var largest = 0;
        await TaskGroup.RunAsync(async group =>
        {
            var parked = new TaskCompletionSource();
            for (var i = 0; i < 10; i++)
            {
                group.Start(ct => parked.Task.WaitAsync(ct), name: $"parked {i}");
            }

            for (var i = 0; i < 10_000; i++)
            {
                group.Start(static _ => Task.CompletedTask);
                largest = System.Math.Max(largest, group.TrackedRecordCount);
            }

            // 11 live (the body and the parked ten): the sweep keeps the list under twice that plus 34 (see TaskGroup.Track),
            // never 10,000.
            Assert.InRange(largest, 11, (2 * 11) + 34);
            Assert.Equal(11, group.LiveTasks().Length);
            parked.SetResult();
            await Task.Yield();
        });
    }

    [Fact]
    public async Task LiveTasks_SomeFinishedButNotSweptYet_ListsOnlyTheRunningOldestFirst()
    {
        await TaskGroup.RunAsync(async group =>
        {
            var gates = new List<TaskCompletionSource>();
            for (var i = 0; i < 6; i++)
            {
                var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                gates.Add(gate);
                group.Start(ct => gate.Task.WaitAsync(ct), name: $"task {i}");
            }

            // Finish the even ones: fewer than the sweep threshold, so they are still in the list.
            for (var i = 0; i < 6; i += 2)
            {
                gates[i].SetResult();
            }

            while (group.LiveTasks().Length > 4)
            {
                await Task.Yield();
            }

            Assert.Equal(7, group.TrackedRecordCount);
            Assert.Equal(["body", "task 1", "task 3", "task 5"], System.Linq.Enumerable.Select(group.LiveTasks(), t => t.Name));
            foreach (var gate in gates)
            {
                gate.TrySetResult();
            }
        });
    }
}
