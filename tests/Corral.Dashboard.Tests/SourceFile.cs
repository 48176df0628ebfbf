using System;
using System.IO;

namespace Corral.Dashboard.Tests;

/// <summary>
/// Finds a test's own source file from its <c>[CallerFilePath]</c>. A CI build is deterministic (ContinuousIntegrationBuild):
/// the compiler then writes paths as <c>/_/tests/…</c>, not where the clone is, so such a path is resolved against the
/// repository root (the folder holding Corral.slnx above the test assembly).
/// </summary>
internal static class SourceFile
{
    /// <summary>The path of the file on this machine.</summary>
    /// <param name="callerFilePath">A path the compiler recorded.</param>
    /// <returns>The path to read.</returns>
    /// <exception cref="FileNotFoundException">The file is not there, nor under the repository root.</exception>
    public static string Resolve(string callerFilePath)
    {
        if (File.Exists(callerFilePath))
        {
            return callerFilePath;
        }

        const string Mapped = "/_/";
        if (callerFilePath.StartsWith(Mapped, StringComparison.Ordinal))
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Corral.slnx")))
                {
                    var candidate = Path.Combine(dir.FullName, callerFilePath[Mapped.Length..]);
                    if (File.Exists(candidate))
                    {
                        return candidate;
                    }
                }
            }
        }

        throw new FileNotFoundException($"The test's source file {callerFilePath} is not on this machine (the marks it reads are in it).", callerFilePath);
    }
}
