using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
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
/// Runs every rule over this repository's own libraries, tools, tests and samples, compiled in memory, and prints
/// each diagnostic for a person to judge. Opt-in (<c>CORRAL_SCAN_REPO=1</c>): the code it reads belongs to
/// other projects and changes under them, so its counts are recorded by hand in docs/analyzers/README.md
/// rather than asserted.
/// </summary>
/// <remarks>
/// The code is compiled against the SDK's .NET 10 and ASP.NET Core reference packs when they are installed beside the
/// running runtime (else the .NET 8 reference assemblies), plus the test packages found in the NuGet cache, so that the
/// semantic model is as complete as it can be without MSBuild. The shipping libraries are compiled first and referenced
/// by everything after them.
/// </remarks>
public class RepositoryScanTests
{
    private static readonly string[] s_packages =
    {
        "xunit.assert", "xunit.extensibility.core", "xunit.extensibility.execution", "xunit.abstractions", "xunit.skippablefact", "cscheck",
        "microsoft.extensions.timeprovider.testing", "microsoft.coyote.core", "microsoft.coyote.test", "mono.cecil",
        "microsoft.diagnostics.netcore.client", "microsoft.diagnostics.tracing.traceevent",
        "grpc.core.api", "grpc.net.client", "grpc.net.common", "grpc.aspnetcore.server", "google.protobuf", "microsoft.playwright", "microsoft.bcl.asyncinterfaces",
        "grpc.net.clientfactory", "grpc.aspnetcore.server.clientfactory",
    };

    /// <summary>
    /// The projects other projects reference, in build order: compiled first, and referenced by all after them. Any other
    /// library under <c>src/</c> (but the analyzers, and folders without a project such as <c>src/Shared</c>) follows these.
    /// </summary>
    private static readonly string[] s_libraries = { "src/Corral", "src/Corral.Hosting", "src/Corral.AspNetCore", "src/Corral.Testing" };

    private readonly ITestOutputHelper _output;

    public RepositoryScanTests(ITestOutputHelper output) => _output = output;

    [SkippableFact]
    public async Task Repository_OwnCode_PrintsDiagnostics()
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("CORRAL_SCAN_REPO") == "1", "opt-in: set CORRAL_SCAN_REPO=1");

        var references = (await FrameworkReferencesAsync()).AddRange(PackageReferences());
        var compilations = new List<CSharpCompilation>();
        var libraries = s_libraries.Where(l => Directory.Exists(RepoPaths.Combine(l)))
            .Concat(Directory.GetDirectories(RepoPaths.Combine("src"))
                .Select(d => "src/" + Path.GetFileName(d))
                .Where(l => !l.StartsWith("src/Corral.Analyzers", StringComparison.Ordinal) && !s_libraries.Contains(l))
                .Where(l => Directory.GetFiles(RepoPaths.Combine(l), "*.csproj").Length > 0)
                .OrderBy(l => l, StringComparer.Ordinal))
            .Select(l => (Directory: l, Kind: OutputKind.DynamicallyLinkedLibrary))
            .Concat(Directory.GetDirectories(RepoPaths.Combine("tools")).Select(d => (Directory: "tools/" + Path.GetFileName(d), Kind: OutputKind.ConsoleApplication)));
        foreach (var (library, kind) in libraries)
        {
            var compilation = Compile(kind, references, library);
            compilations.Add(compilation);
            references = references.Add(compilation.ToMetadataReference());
        }

        var others = Directory.GetDirectories(RepoPaths.Combine("tests"))
            .Where(d => !d.EndsWith("Corral.Analyzers.Tests", StringComparison.Ordinal))
            .Select(d => (Directory: d, Kind: OutputKind.DynamicallyLinkedLibrary))
            .Concat(Directory.GetDirectories(RepoPaths.Combine("samples")).Select(d => (Directory: d, Kind: OutputKind.ConsoleApplication)));
        foreach (var (directory, kind) in others)
        {
            compilations.Add(Compile(kind, references, Path.GetRelativePath(RepoPaths.Root, directory)));
        }

        var total = 0;
        foreach (var compilation in compilations)
        {
            var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            var diagnostics = await compilation.WithAnalyzers(RuleCatalog.Analyzers).GetAnalyzerDiagnosticsAsync();
            _output.WriteLine($"{compilation.AssemblyName}: {compilation.SyntaxTrees.Length} files, {errors.Count} compile errors, {diagnostics.Length} diagnostics");
            foreach (var kind in errors.GroupBy(e => e.Id).OrderByDescending(g => g.Count()).Take(3))
            {
                // What the in-memory build lacks (a package, a generated file): where the semantic model is partial.
                _output.WriteLine($"  ({kind.Count()} x {kind.Key}: {kind.First().GetMessage()})");
            }

            foreach (var diagnostic in diagnostics.OrderBy(d => d.Location.SourceTree?.FilePath, StringComparer.Ordinal).ThenBy(d => d.Location.SourceSpan.Start))
            {
                var span = diagnostic.Location.GetLineSpan();
                _output.WriteLine($"  {diagnostic.Id} {Path.GetRelativePath(RepoPaths.Root, span.Path)}:{span.StartLinePosition.Line + 1}: {diagnostic.GetMessage()}");
            }

            total += diagnostics.Length;
        }

        _output.WriteLine($"total: {total}");
    }

    /// <summary>
    /// Compiles the project in <paramref name="relativeDirectory"/> under its project file's name, with the
    /// <c>InternalsVisibleTo</c> attributes its project file declares (the SDK generates them; nothing does here), the
    /// files it links from elsewhere (<c>&lt;Compile Include="..\Shared\…"&gt;</c>), and the gRPC code that a build generated
    /// under <c>obj/</c> from its protos, when there is one.
    /// </summary>
    private static CSharpCompilation Compile(OutputKind kind, IEnumerable<MetadataReference> references, string relativeDirectory)
    {
        var directory = RepoPaths.Combine(relativeDirectory);
        var project = Directory.GetFiles(directory, "*.csproj").OrderBy(f => f, StringComparer.Ordinal).FirstOrDefault();
        var name = project is null ? Path.GetFileName(directory) : Path.GetFileNameWithoutExtension(project);
        var friends = project is null
            ? Enumerable.Empty<string>()
            : Regex.Matches(File.ReadAllText(project), "<InternalsVisibleTo Include=\"([^\"]+)\"").Select(m => m.Groups[1].Value);
        var generated = ImplicitUsings + "\n" + string.Concat(friends.Select(f => $"[assembly: System.Runtime.CompilerServices.InternalsVisibleTo(\"{f}\")]\n"));

        var linked = project is null
            ? Enumerable.Empty<string>()
            : Regex.Matches(File.ReadAllText(project), "<Compile Include=\"([^\"]+\\.cs)\"")
                .Select(m => Path.GetFullPath(Path.Combine(directory, m.Groups[1].Value.Replace('\\', Path.DirectorySeparatorChar))))
                .Where(File.Exists);
        var protos = Path.Combine(directory, "obj", "Debug", "net10.0", "Protos");
        var generatedGrpc = Directory.Exists(protos) ? Directory.GetFiles(protos, "*.cs") : Array.Empty<string>();

        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var trees = Directory.EnumerateFiles(directory, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Concat(linked)
            .Concat(generatedGrpc)
            .Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), parse, path: f))
            .Append(CSharpSyntaxTree.ParseText(generated, parse, path: "Generated.g.cs"));
        return CSharpCompilation.Create(
            name,
            trees,
            references,
            new CSharpCompilationOptions(kind, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true));
    }

    /// <summary>What the test projects' xunit package adds to every file (<c>&lt;Using Include="Xunit" /&gt;</c>).</summary>
    private const string ImplicitUsings = "global using Xunit;";

    /// <summary>The .NET 10 and ASP.NET Core reference packs of the SDK that runs the tests, or the .NET 8 reference assemblies.</summary>
    private static async Task<ImmutableArray<MetadataReference>> FrameworkReferencesAsync()
    {
        // The runtime lives in DOTNET_ROOT/shared/Microsoft.NETCore.App/<version>; the packs in DOTNET_ROOT/packs.
        var runtime = new DirectoryInfo(Path.GetDirectoryName(typeof(object).Assembly.Location)!);
        var root = runtime.Parent?.Parent?.Parent?.FullName;
        var version = runtime.Name;
        var packs = new[] { "Microsoft.NETCore.App.Ref", "Microsoft.AspNetCore.App.Ref" }
            .Select(pack => root is null ? null : Path.Combine(root, "packs", pack, version, "ref", "net" + Environment.Version.ToString(2)))
            .ToList();
        if (packs.All(p => p is not null && Directory.Exists(p)))
        {
            return packs.SelectMany(p => Directory.GetFiles(p!, "*.dll")).Select(f => (MetadataReference)MetadataReference.CreateFromFile(f)).ToImmutableArray();
        }

        return await ReferenceAssemblies.Net.Net80.ResolveAsync(LanguageNames.CSharp, CancellationToken.None);
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
            var lib = new[] { "net10.0", "net9.0", "net8.0", "net6.0", "netstandard2.1", "netstandard2.0", "netstandard1.1" }
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
