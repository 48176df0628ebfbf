using System;
using System.IO;

namespace Corral.Docs.Tests.Infrastructure;

/// <summary>Finds the repository the tests were built from, by walking up to <c>Corral.slnx</c>.</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>The repository root.</summary>
    public static string Root => s_root.Value;

    /// <summary>A path under the repository root, given with forward slashes.</summary>
    public static string Combine(string relative) => Path.Combine(Root, relative.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>The path of <paramref name="fullPath"/> relative to the root, with forward slashes.</summary>
    public static string Relative(string fullPath) => Path.GetRelativePath(Root, fullPath).Replace(Path.DirectorySeparatorChar, '/');

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Corral.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Corral.slnx was not found above " + AppContext.BaseDirectory);
    }
}
