using System.Threading;
using System.Threading.Tasks;
using Corral.Core;
using CsCheck;
using Xunit;

namespace Corral.Tests.Core;

/// <summary>The task record's lazily derived name: the same for every reader, however the first reads race.</summary>
public sealed class TaskRecordTests
{
    [Fact]
    public void ChooseName_AppliedToItsOwnResult_ReturnsItUnchanged()
    {
        // Name's race (a reader deriving from another reader's result) is harmless only because of this.
        // Lambda-like text (spaces, line breaks, long lines) as well as arbitrary strings, and null (no expression).
        var text = Gen.OneOf(Gen.String[0, 200], Gen.String[Gen.Char[" \t\r\nab=>(){};…"], 0, 200]).Null();
        Gen.Select(text, Gen.Int[0, 1_000_000]).Sample((expression, number) =>
        {
            var once = TaskRecord.ChooseName(null, expression, number);
            return TaskRecord.ChooseName(null, once, number) == once;
        });
    }

    [Fact]
    public async Task Name_FirstReadsRacing_AllReadersSeeTheSameName()
    {
        const string expression = "  async ct =>\n  {\n      await WorkAsync(ct);\n  }";
        var expected = TaskRecord.ChooseName(null, expression, 7);
        for (var round = 0; round < 200; round++)
        {
            await TaskGroup.RunAsync(group =>
            {
                var record = new TaskRecord(group.Scope, null, expression, 7, null, 0);
                using var start = new Barrier(4);
                var names = new string[4];
                Parallel.For(0, 4, i =>
                {
                    start.SignalAndWait();
                    names[i] = record.Name;
                });

                Assert.All(names, n => Assert.Equal(expected, n));
                return Task.CompletedTask;
            });
        }
    }
}
