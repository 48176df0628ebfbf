using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Corral.Analyzers.Tests.Infrastructure;
using Corral.Analyzers.Tests.Verifiers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;
using Xunit;

namespace Corral.Analyzers.Tests;

/// <summary>
/// Runs every rule over the production-like code in <c>Corpus/</c> and records, per rule, the true
/// positives, false positives and known misses in <c>docs/analyzers/README.md</c>.
/// </summary>
public partial class CorpusTests
{
    [GeneratedRegex(@"//\s*(expect|missed):\s*(CORRAL\d{4})")]
    private static partial Regex Marker();

    [Fact]
    public async Task Corpus_AllRules_MatchRecordedCounts()
    {
        var directory = RepoPaths.Combine("tests/Corral.Analyzers.Tests/Corpus");
        var files = Directory.GetFiles(directory, "*.cs").OrderBy(f => f, StringComparer.Ordinal).ToList();
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var trees = files
            .Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), parse, path: Path.GetFileName(f)))
            .Append(CSharpSyntaxTree.ParseText(CorralStub.Source, parse, path: "CorralStub.cs"))
            .ToList();
        var references = await ReferenceAssemblies.Net.Net80.ResolveAsync(LanguageNames.CSharp, CancellationToken.None);
        var compilation = CSharpCompilation.Create(
            "Corpus",
            trees,
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, "The corpus must compile:\n" + string.Join("\n", errors));

        var diagnostics = await compilation.WithAnalyzers(RuleCatalog.Analyzers).GetAnalyzerDiagnosticsAsync();
        var reported = diagnostics
            .Select(d => (Id: d.Id, File: d.Location.SourceTree!.FilePath, Line: d.Location.GetLineSpan().StartLinePosition.Line))
            .ToHashSet();

        var expected = new HashSet<(string Id, string File, int Line)>();
        var missed = new HashSet<(string Id, string File, int Line)>();
        var codeLines = 0;
        foreach (var tree in trees.Where(t => t.FilePath != "CorralStub.cs"))
        {
            var lines = tree.GetText().Lines;
            codeLines += lines.Count(l => l.ToString().Trim().Length > 0);
            foreach (var line in lines)
            {
                foreach (Match match in Marker().Matches(line.ToString()))
                {
                    var target = match.Groups[1].Value == "expect" ? expected : missed;
                    target.Add((match.Groups[2].Value, tree.FilePath, line.LineNumber));
                }
            }
        }

        var unexpectedMisses = expected.Except(reported).ToList();
        Assert.True(unexpectedMisses.Count == 0, "Marked bugs not reported: " + string.Join(", ", unexpectedMisses));

        var report = new StringBuilder();
        report.Append($"Corpus: {files.Count} files, {codeLines} non-blank lines of production-like async code (`tests/Corral.Analyzers.Tests/Corpus/`).\n\n");
        report.Append("| Rule | Reported | True positives | False positives | Known misses |\n");
        report.Append("| --- | --- | --- | --- | --- |\n");
        var falsePositives = new List<string>();
        foreach (var descriptor in RuleCatalog.Descriptors)
        {
            var id = descriptor.Id;
            var ofRule = reported.Where(r => r.Id == id).ToList();
            var truePositives = ofRule.Count(expected.Contains);
            var wrong = ofRule.Where(r => !expected.Contains(r)).ToList();
            falsePositives.AddRange(wrong.Select(w => $"{w.Id} at {w.File}:{w.Line + 1}"));
            report.Append($"| {id} | {ofRule.Count} | {truePositives} | {wrong.Count} | {missed.Count(m => m.Id == id)} |\n");
        }

        report.Append($"| **all** | {reported.Count} | {reported.Count(expected.Contains)} | {falsePositives.Count} | {missed.Count} |\n");
        if (falsePositives.Count > 0)
        {
            report.Append("\nFalse positives: ").Append(string.Join("; ", falsePositives)).Append(".\n");
        }

        GeneratedSection.Check(RepoPaths.Combine("docs/analyzers/README.md"), "corpus", report.ToString());
    }
}
