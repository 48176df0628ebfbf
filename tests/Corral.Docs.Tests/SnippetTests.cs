using System;
using System.Linq;
using Corral.Docs.Tests.Infrastructure;
using Xunit;

namespace Corral.Docs.Tests;

/// <summary>
/// Every C# block in the repository's Markdown compiles, or is marked <c>```csharp fragment</c>. The rules a writer
/// follows are in docs/development.md ("Docs whose code compiles"); the mechanics in <see cref="SnippetCompiler"/>.
/// </summary>
public class SnippetTests
{
    private const string Help =
        "\nEach ```csharp block must compile as the Program.cs of a new app that references the Corral packages " +
        "(implicit usings of `dotnet new web`, plus the usings of earlier blocks on the same page). Fix the block; or, " +
        "if it stands for code of the reader's, declare the missing name in " + SnippetCompiler.YourCodePath + "; or, " +
        "if it is not meant to compile on its own (a signature, a sketch), open it with ```csharp fragment. " +
        "See docs/development.md#docs-whose-code-compiles.";

    public static TheoryData<string> CompiledBlocks()
    {
        var data = new TheoryData<string>();
        foreach (var path in DocPage.All())
        {
            foreach (var block in DocPage.Get(path).CodeBlocks.Where(b => b.IsCompiled))
            {
                data.Add(block.Location);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CompiledBlocks))]
    public void Block_InDocs_Compiles(string location)
    {
        var block = Find(location);

        var errors = SnippetCompiler.Compile(block);

        Assert.True(errors.Count == 0, $"The C# block at {location} does not compile:\n  {string.Join("\n  ", errors)}\n{Help}");
    }

    [Fact]
    public void YourCode_Alone_Compiles()
    {
        var errors = SnippetCompiler.CompileYourCodeAlone();

        Assert.True(errors.Count == 0, $"{SnippetCompiler.YourCodePath} does not compile:\n  {string.Join("\n  ", errors)}");
    }

    [Fact]
    public void Blocks_InDocs_AreFound()
    {
        // Guards the guard: a parser change that found no block would make every other test here pass vacuously.
        var readme = DocPage.Get("README.md");

        Assert.Contains(readme.CodeBlocks, b => b.IsCompiled);
        Assert.Contains("docs/getting-started.md", DocPage.All());
        Assert.True(CompiledBlocks().Count >= 40, $"only {CompiledBlocks().Count} compiled C# blocks were found in the docs");
    }

    [Fact]
    public void Compile_BlockWithAnError_ReportsItAtItsLineInTheMarkdown()
    {
        var page = Scratch("""
            # Page

            Text.

            ```csharp
            using Corral;

            await TaskGroup.RunAsync(group => group.StartNothing());
            ```
            """);
        var block = Assert.Single(page.CodeBlocks);

        var errors = SnippetCompiler.Compile(block);

        var error = Assert.Single(errors);
        Assert.StartsWith($"{page.RelativePath}:8: error CS1061:", error, StringComparison.Ordinal);
        Assert.Contains("StartNothing", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_LaterBlock_SeesTheUsingsOfEarlierBlocks()
    {
        var page = Scratch("""
            ```csharp
            using Corral;
            using Corral.Diagnostics;

            Console.Write(TaskTree.Capture().ToText());
            ```

            ```csharp
            Watchdog.CheckNow();
            await TaskGroup.RunAsync(group => Task.CompletedTask);
            ```
            """);

        Assert.Empty(SnippetCompiler.Compile(page.CodeBlocks[0]));
        Assert.Empty(SnippetCompiler.Compile(page.CodeBlocks[1]));
    }

    [Fact]
    public void Compile_FirstBlockWithoutUsing_FailsForTheMissingNamespace()
    {
        var page = Scratch("""
            ```csharp
            await TaskGroup.RunAsync(group => Task.CompletedTask);
            ```
            """);

        var errors = SnippetCompiler.Compile(page.CodeBlocks[0]);

        Assert.Contains(errors, e => e.Contains("CS0103", StringComparison.Ordinal) && e.Contains("TaskGroup", StringComparison.Ordinal));
    }

    [Fact]
    public void Fragment_MarkedBlock_IsNotCompiled()
    {
        var page = Scratch("""
            ```csharp fragment
            catch (OperationCanceledException) { }
            ```

            ```cs
            this is not C#
            ```
            """);

        Assert.False(page.CodeBlocks[0].IsCompiled);
        Assert.True(page.CodeBlocks[1].IsCompiled);
        Assert.NotEmpty(SnippetCompiler.Compile(page.CodeBlocks[1]));
    }

    [Fact]
    public void References_AreTheAppsNotTheTests()
    {
        var names = SnippetCompiler.ReferenceNames.ToList();

        Assert.Contains("Corral.dll", names);
        Assert.Contains("Corral.Hosting.dll", names);
        Assert.Contains("Corral.AspNetCore.dll", names);
        Assert.Contains("System.Runtime.dll", names);
        Assert.Contains("Microsoft.AspNetCore.Http.Abstractions.dll", names);
        Assert.Contains("Corral.Testing.dll", names);
        Assert.Contains("xunit.assert.dll", names);
        Assert.DoesNotContain(names, n => n.StartsWith("xunit.runner", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(names, n => n.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal));
    }

    private static CodeBlock Find(string location)
    {
        var at = location.LastIndexOf(':');
        var page = DocPage.Get(location[..at]);
        return page.CodeBlocks.Single(b => b.Location == location);
    }

    private static DocPage Scratch(string markdown) => DocPage.FromText($"(scratch {Guid.NewGuid():N}).md", markdown);
}
