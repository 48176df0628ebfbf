using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Corral.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Xunit;

namespace Corral.Analyzers.Tests;

/// <summary>
/// The meta-tests: every rule has its analyzer file, test file and page, every page follows the template,
/// every help link points at its page, and the index in <c>docs/analyzers/README.md</c> is current.
/// </summary>
public class DocsTests
{
    private static readonly string[] s_templateSections =
    {
        "## Why it is a bug",
        "## Flagged example",
        "## The fix",
        "## Configuration",
    };

    public static TheoryData<string> RuleIds()
    {
        var data = new TheoryData<string>();
        foreach (var descriptor in RuleCatalog.Descriptors)
        {
            data.Add(descriptor.Id);
        }

        return data;
    }

    [Fact]
    public void Catalog_Rules_AreNumberedWithoutGaps()
    {
        var ids = RuleCatalog.Descriptors.Select(d => d.Id).ToList();
        Assert.NotEmpty(ids);
        Assert.Equal(Enumerable.Range(1, ids.Count).Select(i => $"CORRAL{i:D4}"), ids);
    }

    [Theory]
    [MemberData(nameof(RuleIds))]
    public void Page_EveryRule_FollowsTemplate(string id)
    {
        var descriptor = RuleCatalog.Descriptors.Single(d => d.Id == id);
        var path = RepoPaths.Combine($"docs/analyzers/{id}.md");
        Assert.True(File.Exists(path), $"{id} has no page at docs/analyzers/{id}.md");

        var text = File.ReadAllText(path);
        Assert.StartsWith($"# {id}: {descriptor.Title}\n", text, StringComparison.Ordinal);
        var last = -1;
        foreach (var section in s_templateSections)
        {
            var at = text.IndexOf("\n" + section + "\n", StringComparison.Ordinal);
            Assert.True(at > last, $"{id}.md lacks '{section}', or has it out of order");
            last = at;
        }

        Assert.Contains($"dotnet_diagnostic.{id}.severity", text, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(RuleIds))]
    public void HelpLink_EveryRule_PointsAtItsPage(string id)
    {
        var descriptor = RuleCatalog.Descriptors.Single(d => d.Id == id);

        // The build's RepositoryUrl property, as this test project was built with it: the analyzers were built in the
        // same build, from the same Directory.Build.props and command line.
        var repositoryUrl = typeof(DocsTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "RepositoryUrl").Value;
        Assert.False(string.IsNullOrEmpty(repositoryUrl), "the test project was built without RepositoryUrl");
        Assert.Equal(repositoryUrl!.TrimEnd('/') + "/blob/main/docs/analyzers/" + id + ".md", descriptor.HelpLinkUri);

        // The link is the repository's blob address: the path after the branch must exist here.
        const string Branch = "/blob/main/";
        var relative = descriptor.HelpLinkUri.Substring(descriptor.HelpLinkUri.IndexOf(Branch, StringComparison.Ordinal) + Branch.Length);
        Assert.True(File.Exists(RepoPaths.Combine(relative)), $"{descriptor.HelpLinkUri} points at a missing file");
        Assert.True(Uri.IsWellFormedUriString(descriptor.HelpLinkUri, UriKind.Absolute));
    }

    [Fact]
    public void RepositoryUrl_DirectoryBuildProps_DefinesItOnceAndOverridably()
    {
        // One definition, and a conditional one: a value given on the command line (/p:RepositoryUrl=...) or by the
        // packaging build must win over the default.
        var props = File.ReadAllText(RepoPaths.Combine("Directory.Build.props"));
        var definitions = Regex.Matches(props, @"<RepositoryUrl(\s[^>]*)?>").Select(m => m.Value).ToList();
        Assert.Single(definitions);
        Assert.Contains("Condition=\"'$(RepositoryUrl)' == ''\"", definitions[0], StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(RuleIds))]
    public void Files_EveryRule_AnalyzerAndTestShareTheId(string id)
    {
        var analyzer = RuleCatalog.Analyzers.Single(a => a.SupportedDiagnostics.Any(d => d.Id == id));
        var name = analyzer.GetType().Name;
        Assert.StartsWith(id, name, StringComparison.Ordinal);
        Assert.True(File.Exists(RepoPaths.Combine($"src/Corral.Analyzers/{name}.cs")), $"src/Corral.Analyzers/{name}.cs is missing");
        Assert.True(File.Exists(RepoPaths.Combine($"tests/Corral.Analyzers.Tests/{name}Tests.cs")), $"tests/Corral.Analyzers.Tests/{name}Tests.cs is missing");
        Assert.Contains(id, File.ReadAllText(RepoPaths.Combine("src/Corral.Analyzers/AnalyzerReleases.Unshipped.md")), StringComparison.Ordinal);
    }

    [Fact]
    public void Pages_NoOrphans()
    {
        var ids = RuleCatalog.Descriptors.Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        var pages = Directory.GetFiles(RepoPaths.Combine("docs/analyzers"), "CORRAL*.md").Select(Path.GetFileNameWithoutExtension);
        Assert.All(pages, page => Assert.Contains(page!, ids));
    }

    [Fact]
    public void CodeFixes_RequiredRules_HaveFixes()
    {
        foreach (var id in new[] { "CORRAL0001", "CORRAL0002", "CORRAL0003", "CORRAL0004", "CORRAL0005", "CORRAL0007", "CORRAL0009", "CORRAL0012" })
        {
            Assert.True(RuleCatalog.HasCodeFix(id), $"{id} has no code fix");
        }
    }

    [Fact]
    public void Index_Readme_IsCurrent()
    {
        var table = new StringBuilder();
        table.Append("| Rule | Title | Severity | Code fix |\n");
        table.Append("| --- | --- | --- | --- |\n");
        foreach (var descriptor in RuleCatalog.Descriptors)
        {
            table.Append($"| [{descriptor.Id}]({descriptor.Id}.md) | {descriptor.Title} | {descriptor.DefaultSeverity} | {(RuleCatalog.HasCodeFix(descriptor.Id) ? "yes" : "no")} |\n");
        }

        GeneratedSection.Check(RepoPaths.Combine("docs/analyzers/README.md"), "rules", table.ToString());
    }
}
