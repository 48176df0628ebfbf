using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Corral.Docs.Tests.Infrastructure;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;
using Xunit;

namespace Corral.Docs.Tests;

/// <summary>
/// Every relative link in the repository's Markdown points at a file or folder that exists, and every <c>#anchor</c> at a
/// heading of its page. Links to other sites are not fetched (CI has no network); the API reference build checks its own.
/// </summary>
public class LinkTests
{
    public static TheoryData<string> Pages()
    {
        var data = new TheoryData<string>();
        foreach (var path in DocPage.All())
        {
            data.Add(path);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void Links_OnPage_Resolve(string path)
    {
        var broken = BrokenLinks(DocPage.Get(path));

        Assert.True(
            broken.Count == 0,
            $"{path} has broken links:\n  {string.Join("\n  ", broken)}\nLink to a file of the repository by its relative path (../adr/0001-how-absorption-is-decided.md), " +
            "to a heading by its GitHub anchor (#who-absorbs-a-cancellation: lower case, punctuation dropped, spaces to hyphens).");
    }

    [Fact]
    public void BrokenLinks_MissingFileAndAnchor_AreReported()
    {
        var page = DocPage.FromText("docs/scratch.md", """
            # Scratch

            ## Start&lt;T&gt; and `Cancel`

            [ok](#startt-and-cancel), [ok](design.md#principles), [ok](adr/), [ok](https://example.com/nowhere)
            [missing file](concepts/nothing.md), [missing anchor](#nothing), [missing anchor elsewhere](design.md#nothing)
            """);

        var broken = BrokenLinks(page);

        Assert.Equal(3, broken.Count);
        Assert.Contains(broken, b => b.Contains("concepts/nothing.md", StringComparison.Ordinal));
        Assert.Contains(broken, b => b.Contains("(#nothing)", StringComparison.Ordinal));
        Assert.Contains(broken, b => b.Contains("design.md#nothing", StringComparison.Ordinal));
    }

    [Fact]
    public void SiteToc_ReachesEveryPage()
    {
        // The site (eng/docs.sh) shows a page in its navigation only through docs/toc.yml: each page under docs/ is
        // listed there, or linked from a page that is (ADRs from adr/README.md, rule pages from analyzers/README.md).
        var toc = File.ReadAllLines(RepoPaths.Combine("docs/toc.yml"));
        var queue = new Queue<string>(toc
            .Select(l => l.Trim())
            .Where(l => l.StartsWith("href: ", StringComparison.Ordinal))
            .Select(l => "docs/" + l["href: ".Length..].Trim()));
        var reached = new HashSet<string>(StringComparer.Ordinal);
        while (queue.Count > 0)
        {
            var path = queue.Dequeue();
            if (!path.EndsWith(".md", StringComparison.Ordinal) || !File.Exists(RepoPaths.Combine(path)) || !reached.Add(path))
            {
                continue;
            }

            var directory = Path.GetDirectoryName(path) ?? string.Empty;
            foreach (var (url, _) in Links(DocPage.Get(path)))
            {
                var target = url.Split('#')[0];
                if (target.Length > 0 && !target.Contains("://", StringComparison.Ordinal))
                {
                    queue.Enqueue(RepoPaths.Relative(Path.GetFullPath(Path.Combine(RepoPaths.Root, directory, target))));
                }
            }
        }

        var missing = DocPage.All()
            .Where(p => p.StartsWith("docs/", StringComparison.Ordinal) && !p.StartsWith("docs/site/", StringComparison.Ordinal))
            .Where(p => !reached.Contains(p))
            .ToList();
        Assert.True(missing.Count == 0, $"pages the site's navigation does not reach (add them to docs/toc.yml, or link them from a page that is there):\n  {string.Join("\n  ", missing)}");
    }

    [Fact]
    public void Pages_InRepository_AreFound()
    {
        var pages = DocPage.All();

        Assert.Contains("README.md", pages);
        Assert.Contains("docs/design.md", pages);
        Assert.DoesNotContain(pages, p => p.Contains("/bin/", StringComparison.Ordinal) || p.StartsWith("artifacts/", StringComparison.Ordinal));
    }

    private static List<string> BrokenLinks(DocPage page)
    {
        var broken = new List<string>();
        var directory = Path.GetDirectoryName(page.RelativePath.Replace('/', Path.DirectorySeparatorChar)) ?? string.Empty;
        foreach (var (url, line) in Links(page))
        {
            if (url.Length == 0 || url.Contains("://", StringComparison.Ordinal) || url.StartsWith("mailto:", StringComparison.Ordinal))
            {
                continue;
            }

            var hash = url.IndexOf('#', StringComparison.Ordinal);
            var target = Uri.UnescapeDataString(hash < 0 ? url : url[..hash]);
            var anchor = hash < 0 ? null : url[(hash + 1)..];
            var where = $"{page.RelativePath}:{line}: ({url})";

            DocPage targetPage;
            if (target.Length == 0)
            {
                targetPage = page;
            }
            else
            {
                var full = Path.GetFullPath(Path.Combine(RepoPaths.Root, directory, target.Replace('/', Path.DirectorySeparatorChar)));
                if (!full.StartsWith(RepoPaths.Root, StringComparison.Ordinal) || (!File.Exists(full) && !Directory.Exists(full)))
                {
                    broken.Add($"{where} points at a file that does not exist");
                    continue;
                }

                if (anchor is null || !full.EndsWith(".md", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                targetPage = DocPage.Get(RepoPaths.Relative(full));
            }

            if (anchor is not null && !targetPage.Anchors.Contains(anchor))
            {
                broken.Add($"{where} points at no heading of {targetPage.RelativePath} (its anchors: {string.Join(", ", targetPage.Anchors.Order(StringComparer.Ordinal).Take(30))})");
            }
        }

        return broken;
    }

    private static IEnumerable<(string Url, int Line)> Links(DocPage page)
    {
        foreach (var link in page.Document.Descendants<LinkInline>())
        {
            yield return (link.Url ?? string.Empty, link.Line + 1);
        }

        foreach (var definition in page.Document.Descendants<LinkReferenceDefinition>())
        {
            yield return (definition.Url ?? string.Empty, definition.Line + 1);
        }
    }
}
