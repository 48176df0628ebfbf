// How a C# block of the docs is compiled, and why this way.
//
// The problem: docs drift. A snippet written against last month's API, or missing the `using` a reader needs, still
// reads well and fails the reader who pastes it. Polly keeps its snippets honest by compiling them; here a test does it
// straight from the Markdown, so there is one copy of each snippet and no generator to run.
//
// Approaches that fail: one compilation of every block (two blocks declaring the same helper collide, and one broken
// block hides behind another's errors); wrapping each block in a class or method (top-level statements, classes and
// methods then each need their own wrapping, and the wrapper's line numbers mislead); running `dotnet build` per block
// (seconds each).
//
// The solution: each block is its own compilation, as the Program.cs of a new app: top-level statements (an `await`,
// a local function, a class after the statements) all compile as they would there. Every compilation shares one set of
// references — exactly what this test project compiles against (the shared frameworks' reference assemblies, the
// Corral projects, the packages), minus test tooling — and three extra trees:
//   * the implicit usings of a new web app (`dotnet new web`; a superset of console and worker apps);
//   * the usings written in earlier compiled blocks of the same page (a page shows `using Corral;` once);
//   * Snippets/YourCode.cs, the stand-ins for the reader's own code (RefreshCacheAsync, Order, _db, ...).
// Later compilations are derived from the first, so Roslyn binds the references once, not once per block.
//
// Limits: only errors fail a block (a snippet may show code that warns, which is what the analyzer pages do); the
// analyzers are not run here (their own tests pin what they report); a block cannot see declarations of another block.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Corral.Docs.Tests.Infrastructure;

/// <summary>Compiles one C# block of a page the way <c>docs/development.md</c> describes, and reports its errors.</summary>
internal static class SnippetCompiler
{
    /// <summary>The implicit usings of a <c>Microsoft.NET.Sdk.Web</c> project, the SDK's list.</summary>
    public static readonly string[] ImplicitUsings =
    [
        "System",
        "System.Collections.Generic",
        "System.IO",
        "System.Linq",
        "System.Net.Http",
        "System.Net.Http.Json",
        "System.Threading",
        "System.Threading.Tasks",
        "Microsoft.AspNetCore.Builder",
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Http",
        "Microsoft.AspNetCore.Routing",
        "Microsoft.Extensions.Configuration",
        "Microsoft.Extensions.DependencyInjection",
        "Microsoft.Extensions.Hosting",
        "Microsoft.Extensions.Logging",
    ];

    /// <summary>The file that declares the stand-ins for the reader's code, from the repository root.</summary>
    public const string YourCodePath = "tests/Corral.Docs.Tests/Snippets/YourCode.cs";

    /// <summary>References that are test tooling, not something a reader's app would have.</summary>
    private static readonly string[] s_toolingPrefixes =
    [
        "xunit.runner", "xunit.execution", "Markdig", "Microsoft.CodeAnalysis", "Microsoft.TestPlatform", "Microsoft.VisualStudio", "testhost",
        "Microsoft.Testing", "Corral.Docs.Tests", "NuGet.", "Newtonsoft.Json",
    ];

    private static readonly CSharpParseOptions s_parseOptions = new(LanguageVersion.Latest);

    private static readonly Lazy<CSharpCompilation> s_base = new(CreateBase);

    /// <summary>The names of the assemblies the snippets compile against (for the failure message and a test).</summary>
    public static IEnumerable<string> ReferenceNames => s_base.Value.References.Select(r => Path.GetFileName(r.Display ?? "?"));

    /// <summary>Compiles <paramref name="block"/> and returns its errors, each located in the Markdown file.</summary>
    public static IReadOnlyList<string> Compile(CodeBlock block)
    {
        var tree = CSharpSyntaxTree.ParseText(block.Code, s_parseOptions, path: block.Page.RelativePath);
        var carried = CSharpSyntaxTree.ParseText(CarriedUsings(block), s_parseOptions, path: "(usings of earlier blocks)");
        var kind = tree.GetCompilationUnitRoot().Members.Any(m => m is GlobalStatementSyntax)
            ? OutputKind.ConsoleApplication
            : OutputKind.DynamicallyLinkedLibrary;

        var compilation = s_base.Value
            .WithAssemblyName("Snippet")
            .WithOptions(s_base.Value.Options.WithOutputKind(kind))
            .AddSyntaxTrees(tree, carried);

        return compilation.GetDiagnostics()
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d => Describe(block, tree, d))
            .ToList();
    }

    /// <summary>Errors of the stand-ins alone (none expected): a broken YourCode.cs would fail every block.</summary>
    public static IReadOnlyList<string> CompileYourCodeAlone() =>
        s_base.Value.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();

    /// <summary>The usings of the compiled C# blocks before <paramref name="block"/> on its page, as global usings.</summary>
    private static string CarriedUsings(CodeBlock block)
    {
        var text = new StringBuilder();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var earlier in block.Page.CodeBlocks.TakeWhile(b => b != block).Where(b => b.IsCompiled))
        {
            var root = CSharpSyntaxTree.ParseText(earlier.Code, s_parseOptions).GetCompilationUnitRoot();
            foreach (var directive in root.Usings)
            {
                var line = "global " + directive.WithoutTrivia().WithGlobalKeyword(default).ToString();
                if (seen.Add(line))
                {
                    text.Append(line).Append('\n');
                }
            }
        }

        return text.ToString();
    }

    private static string Describe(CodeBlock block, SyntaxTree tree, Diagnostic diagnostic)
    {
        var message = diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        if (diagnostic.Location.SourceTree != tree)
        {
            var where = diagnostic.Location.SourceTree?.FilePath ?? "(no file)";
            return $"{block.Location}: error {diagnostic.Id} in {where}: {message}";
        }

        var span = diagnostic.Location.GetLineSpan();
        var line = block.FenceLine + 1 + span.StartLinePosition.Line;
        var text = block.Code.Split('\n')[span.StartLinePosition.Line].Trim();
        return $"{block.Page.RelativePath}:{line}: error {diagnostic.Id}: {message}\n        {text}";
    }

    private static CSharpCompilation CreateBase()
    {
        var implicitUsings = string.Join('\n', ImplicitUsings.Select(u => $"global using global::{u};"))
            + "\nglobal using global::YourApp;\nglobal using static global::YourApp.YourCode;\n";

        var trees = new[]
        {
            CSharpSyntaxTree.ParseText(implicitUsings, s_parseOptions, path: "(implicit usings)"),
            CSharpSyntaxTree.ParseText(ReadYourCode(), s_parseOptions, path: YourCodePath),
        };

        var options = new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary)
            .WithNullableContextOptions(NullableContextOptions.Enable);

        return CSharpCompilation.Create("Snippet", trees, LoadReferences(), options);
    }

    private static string ReadYourCode()
    {
        using var stream = typeof(SnippetCompiler).Assembly.GetManifestResourceStream("YourCode.cs")
            ?? throw new InvalidOperationException("YourCode.cs is not embedded in the test assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static List<MetadataReference> LoadReferences()
    {
        var list = Path.Combine(AppContext.BaseDirectory, "snippet-references.txt");
        if (!File.Exists(list))
        {
            throw new InvalidOperationException($"{list} is missing: the WriteSnippetReferences target of Corral.Docs.Tests.csproj writes it on build.");
        }

        return File.ReadAllLines(list)
            .Where(p => p.Length > 0)
            .Where(p => !s_toolingPrefixes.Any(t => Path.GetFileName(p).StartsWith(t, StringComparison.OrdinalIgnoreCase)))
            .Distinct(StringComparer.Ordinal)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToList();
    }
}
