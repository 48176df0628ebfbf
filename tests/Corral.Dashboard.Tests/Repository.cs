using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;

namespace Corral.Dashboard.Tests;

/// <summary>The repository these tests were built from: its root, and a test's own source file in it.</summary>
internal static class Repository
{
    private static readonly Lazy<string?> s_root = new(FindRoot);

    /// <summary>Gets the folder holding <c>Corral.slnx</c> above the test assembly, or null when the tests run outside a clone.</summary>
    public static string? Root => s_root.Value;

    /// <summary>
    /// Finds a test's own source file from its <c>[CallerFilePath]</c>. A CI build is deterministic (ContinuousIntegrationBuild):
    /// the compiler then writes paths as <c>/_/tests/…</c>, not where the clone is, so such a path is resolved against
    /// <see cref="Root"/>.
    /// </summary>
    /// <param name="callerFilePath">A path the compiler recorded.</param>
    /// <returns>The path to read.</returns>
    /// <exception cref="FileNotFoundException">The file is not there, nor under the repository root.</exception>
    public static string SourceFile(string callerFilePath)
    {
        if (File.Exists(callerFilePath))
        {
            return callerFilePath;
        }

        const string Mapped = "/_/";
        if (callerFilePath.StartsWith(Mapped, StringComparison.Ordinal) && Root is { } root)
        {
            var candidate = Path.Combine(root, callerFilePath[Mapped.Length..]);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"The test's source file {callerFilePath} is not on this machine (the marks it reads are in it).", callerFilePath);
    }

    /// <summary>
    /// The await marks of the calling test's source file (a comment <c>// @await:name</c> after an await), by name: the
    /// lines a frame of that await must show.
    /// </summary>
    /// <param name="callerFilePath">Left to the compiler: the calling file.</param>
    /// <returns>Each mark's 1-based line, by name.</returns>
    /// <exception cref="ArgumentException">A name is marked twice.</exception>
    public static Dictionary<string, int> AwaitMarks([CallerFilePath] string callerFilePath = "") =>
        File.ReadAllLines(SourceFile(callerFilePath))
            .Select((text, i) => (text, line: i + 1))
            .Where(l => l.text.Contains("// @await:", StringComparison.Ordinal) && !l.text.Contains("\"// @await:", StringComparison.Ordinal))
            .ToDictionary(l => l.text[(l.text.IndexOf("// @await:", StringComparison.Ordinal) + 10)..].Split(' ')[0], l => l.line);

    private static string? FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Corral.slnx")))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}
