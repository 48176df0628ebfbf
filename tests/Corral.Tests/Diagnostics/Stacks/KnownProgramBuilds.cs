using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;

namespace Corral.Tests.Diagnostics.Stacks;

/// <summary>How a build of the known program was made.</summary>
public enum KnownBuild
{
    /// <summary>The copy the SDK compiled into this test assembly (Debug or Release, as the tests were built).</summary>
    Sdk,

    /// <summary>Roslyn, Debug (class state machines), PDB beside the assembly.</summary>
    Debug,

    /// <summary>Roslyn, Release (struct state machines, shared awaiter fields), PDB embedded in the assembly.</summary>
    Release,

    /// <summary>Roslyn, Debug, no PDB anywhere.</summary>
    DebugNoPdb,

    /// <summary>Roslyn, Release, no PDB anywhere.</summary>
    ReleaseNoPdb,
}

/// <summary>
/// The known program (KnownProgram.cs) as the SDK built it, and as Roslyn builds it at test time in each <see cref="KnownBuild"/>;
/// each Roslyn build is loaded once per test run, in its own load context (Corral itself comes from the default context).
/// </summary>
internal static class KnownProgramBuilds
{
    private const string SourceName = "KnownProgram.cs";

    private static readonly ConcurrentDictionary<KnownBuild, Lazy<Assembly>> s_builds = new();

    private static readonly Lazy<string> s_source = new(() =>
    {
        using var stream = typeof(KnownProgramBuilds).Assembly.GetManifestResourceStream(SourceName)
            ?? throw new InvalidOperationException($"{SourceName} is not embedded in the test assembly");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>The line of every <c>// @await:NAME</c> mark in the known program, by name.</summary>
    public static IReadOnlyDictionary<string, int> Marks { get; } = ReadMarks();

    /// <summary>The known program's assembly of <paramref name="build"/>.</summary>
    public static Assembly Get(KnownBuild build) => build == KnownBuild.Sdk
        ? typeof(Known.KnownProgram).Assembly
        : s_builds.GetOrAdd(build, b => new Lazy<Assembly>(() => Compile(b))).Value;

    /// <summary>Calls the public static method <paramref name="name"/> of <c>KnownProgram</c> in <paramref name="build"/>.</summary>
    public static T Call<T>(KnownBuild build, string name, params object?[] args)
    {
        var type = Get(build).GetType("Corral.Tests.Diagnostics.Stacks.Known.KnownProgram", throwOnError: true)!;
        var method = type.GetMethod(name, BindingFlags.Public | BindingFlags.Static) ?? throw new MissingMethodException(type.Name, name);
        return (T)method.Invoke(null, args)!;
    }

    private static Dictionary<string, int> ReadMarks()
    {
        var marks = new Dictionary<string, int>(StringComparer.Ordinal);
        var lines = s_source.Value.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            foreach (Match m in Regex.Matches(lines[i], @"// @await:(?<name>[\w-]+)"))
            {
                marks.Add(m.Groups["name"].Value, i + 1);
            }
        }

        return marks;
    }

    private static Assembly Compile(KnownBuild build)
    {
        var optimization = build is KnownBuild.Release or KnownBuild.ReleaseNoPdb ? OptimizationLevel.Release : OptimizationLevel.Debug;
        var name = $"KnownProgram.{build}";
        var tree = CSharpSyntaxTree.ParseText(
            s_source.Value,
            new CSharpParseOptions(LanguageVersion.Latest),
            path: "/known/" + SourceName,
            encoding: System.Text.Encoding.UTF8);
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Where(p => p.Length > 0 && !Path.GetFileName(p).StartsWith("Corral", StringComparison.Ordinal))
            .Select(p => MetadataReference.CreateFromFile(p))
            .Append(MetadataReference.CreateFromFile(typeof(CancelScope).Assembly.Location));
        var compilation = CSharpCompilation.Create(
            name,
            [tree],
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: optimization, nullableContextOptions: NullableContextOptions.Enable));

        var directory = Path.Combine(Path.GetTempPath(), "corral-known-program", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var dll = Path.Combine(directory, name + ".dll");
        var pdb = Path.Combine(directory, name + ".pdb");
        EmitResult result;
        using (var peStream = File.Create(dll))
        {
            switch (build)
            {
                case KnownBuild.Debug:
                    using (var pdbStream = File.Create(pdb))
                    {
                        result = compilation.Emit(peStream, pdbStream, options: new EmitOptions(debugInformationFormat: DebugInformationFormat.PortablePdb, pdbFilePath: pdb));
                    }

                    break;
                case KnownBuild.Release:
                    result = compilation.Emit(peStream, options: new EmitOptions(debugInformationFormat: DebugInformationFormat.Embedded));
                    break;
                default:
                    result = compilation.Emit(peStream);
                    break;
            }
        }

        if (!result.Success)
        {
            throw new InvalidOperationException("The known program does not compile:\n" + string.Join("\n", result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        }

        return new AssemblyLoadContext(name, isCollectible: false).LoadFromAssemblyPath(dll);
    }
}
