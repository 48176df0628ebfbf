using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Markdig;
using Markdig.Extensions.AutoIdentifiers;
using Markdig.Renderers.Html;
using Markdig.Syntax;

namespace Corral.Docs.Tests.Infrastructure;

/// <summary>
/// One Markdown file of the repository, parsed once: its fenced code blocks, its links and the anchors its headings get.
/// </summary>
/// <remarks>
/// The pages are every <c>*.md</c> under the repository root outside build output and hidden folders (<see cref="All"/>),
/// so a new page is checked the moment it exists. Anchors are GitHub's (lower case, punctuation dropped, spaces to
/// hyphens, <c>-1</c>, <c>-2</c> for repeats), which is what the docs' tables of contents link to.
/// </remarks>
internal sealed class DocPage
{
    private static readonly string[] s_skippedFolders = ["bin", "obj", "artifacts", "node_modules", "TestResults", "BenchmarkDotNet.Artifacts"];

    private static readonly MarkdownPipeline s_pipeline = new MarkdownPipelineBuilder()
        .UsePipeTables()
        .UseAutoIdentifiers(AutoIdentifierOptions.GitHub)
        .Build();

    private static readonly ConcurrentDictionary<string, DocPage> s_pages = new(StringComparer.Ordinal);

    private DocPage(string relativePath, string text)
    {
        RelativePath = relativePath;
        Text = text.Replace("\r\n", "\n", StringComparison.Ordinal);
        Document = Markdown.Parse(Text, s_pipeline);
        Anchors = Document.Descendants<HeadingBlock>()
            .Select(h => h.GetAttributes().Id)
            .OfType<string>()
            .ToHashSet(StringComparer.Ordinal);
        CodeBlocks = Document.Descendants<FencedCodeBlock>().Select(b => new CodeBlock(this, b)).ToList();
    }

    /// <summary>The path from the repository root, with forward slashes (<c>docs/concepts/http.md</c>).</summary>
    public string RelativePath { get; }

    /// <summary>The file's text, with LF line ends.</summary>
    public string Text { get; }

    /// <summary>The parsed document.</summary>
    public MarkdownDocument Document { get; }

    /// <summary>The anchors of the page's headings.</summary>
    public IReadOnlySet<string> Anchors { get; }

    /// <summary>Every fenced code block, in order.</summary>
    public IReadOnlyList<CodeBlock> CodeBlocks { get; }

    /// <summary>The page at <paramref name="relativePath"/>, parsed on first use.</summary>
    public static DocPage Get(string relativePath) =>
        s_pages.GetOrAdd(relativePath, static p => new DocPage(p, File.ReadAllText(RepoPaths.Combine(p))));

    /// <summary>A page that exists only in memory, for the tests of the checks themselves.</summary>
    public static DocPage FromText(string relativePath, string text) => new(relativePath, text);

    /// <summary>The relative paths of every Markdown file in the repository, sorted.</summary>
    public static IReadOnlyList<string> All()
    {
        var found = new List<string>();
        Walk(new DirectoryInfo(RepoPaths.Root), found);
        found.Sort(StringComparer.Ordinal);
        return found;
    }

    private static void Walk(DirectoryInfo directory, List<string> found)
    {
        foreach (var file in directory.EnumerateFiles("*.md"))
        {
            found.Add(RepoPaths.Relative(file.FullName));
        }

        foreach (var child in directory.EnumerateDirectories())
        {
            if (!child.Name.StartsWith('.') && !s_skippedFolders.Contains(child.Name, StringComparer.Ordinal))
            {
                Walk(child, found);
            }
        }
    }
}
