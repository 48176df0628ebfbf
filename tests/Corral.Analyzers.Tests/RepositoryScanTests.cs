using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Corral.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Corral.Analyzers.Tests;

/// <summary>
/// Runs every rule over this repository's own library, tests and samples, compiled in memory, and prints
/// each diagnostic for a person to judge. Opt-in (<c>CORRAL_SCAN_REPO=1</c>): the code it reads belongs to
/// other projects and changes under them, so its counts are recorded by hand in docs/analyzers/README.md
/// rather than asserted.
/// </summary>
public class RepositoryScanTests
{
    private static readonly string[] s_packages =
    {
        "xunit.assert", "xunit.extensibility.core", "xunit.abstractions", "cscheck",
        "microsoft.extensions.timeprovider.testing", "microsoft.extensions.logging.abstractions",
        "microsoft.extensions.dependencyinjection.abstractions", "microsoft.coyote",
    };

    private readonly ITestOutputHelper _output;

    public RepositoryScanTests(ITestOutputHelper output) => _output = output;

    [SkippableFact]
    public async Task Repository_OwnCode_PrintsDiagnostics()
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("CORRAL_SCAN_REPO") == "1", "opt-in: set CORRAL_SCAN_REPO=1");

        var references = (await ReferenceAssemblies.Net.Net80.ResolveAsync(LanguageNames.CSharp, CancellationToken.None))
            .AddRange(PackageReferences());
        var library = Compile("Corral", OutputKind.DynamicallyLinkedLibrary, references, "src/Corral");
        var withLibrary = references.Add(library.ToMetadataReference());
        var compilations = new List<CSharpCompilation> { library };
        foreach (var test in Directory.GetDirectories(RepoPaths.Combine("tests")).Where(d => !d.EndsWith("Corral.Analyzers.Tests", StringComparison.Ordinal)))
        {
            compilations.Add(Compile(Path.GetFileName(test), OutputKind.DynamicallyLinkedLibrary, withLibrary, Path.GetRelativePath(RepoPaths.Root, test)));
        }

        foreach (var sample in Directory.GetDirectories(RepoPaths.Combine("samples")))
        {
            compilations.Add(Compile(Path.GetFileName(sample), OutputKind.ConsoleApplication, withLibrary, Path.GetRelativePath(RepoPaths.Root, sample)));
        }

        var total = 0;
        foreach (var compilation in compilations)
        {
            var errors = compilation.GetDiagnostics().Count(d => d.Severity == DiagnosticSeverity.Error);
            var diagnostics = await compilation.WithAnalyzers(RuleCatalog.Analyzers).GetAnalyzerDiagnosticsAsync();
            _output.WriteLine($"{compilation.AssemblyName}: {compilation.SyntaxTrees.Length} files, {errors} compile errors, {diagnostics.Length} diagnostics");
            foreach (var diagnostic in diagnostics.OrderBy(d => d.Location.SourceTree?.FilePath, StringComparer.Ordinal))
            {
                var span = diagnostic.Location.GetLineSpan();
                _output.WriteLine($"  {diagnostic.Id} {Path.GetRelativePath(RepoPaths.Root, span.Path)}:{span.StartLinePosition.Line + 1}: {diagnostic.GetMessage()}");
            }

            total += diagnostics.Length;
        }

        _output.WriteLine($"total: {total}");
    }

    private static CSharpCompilation Compile(string name, OutputKind kind, IEnumerable<MetadataReference> references, string relativeDirectory)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var trees = Directory.EnumerateFiles(RepoPaths.Combine(relativeDirectory), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), parse, path: f));
        return CSharpCompilation.Create(
            name,
            trees,
            references,
            new CSharpCompilationOptions(kind, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true));
    }

    private static IEnumerable<MetadataReference> PackageReferences()
    {
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var package in s_packages)
        {
            var directory = Path.Combine(cache, package);
            if (!Directory.Exists(directory))
            {
                continue;
            }

            var newest = Directory.GetDirectories(directory).OrderByDescending(d => d, StringComparer.Ordinal).First();
            var lib = new[] { "net8.0", "net6.0", "netstandard2.1", "netstandard2.0", "netstandard1.1" }
                .Select(tfm => Path.Combine(newest, "lib", tfm))
                .FirstOrDefault(Directory.Exists);
            if (lib is null)
            {
                continue;
            }

            foreach (var dll in Directory.GetFiles(lib, "*.dll"))
            {
                yield return MetadataReference.CreateFromFile(dll);
            }
        }
    }
}
