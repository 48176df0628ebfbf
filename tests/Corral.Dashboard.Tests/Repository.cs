using System;
using System.IO;

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
