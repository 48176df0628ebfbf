using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;

namespace Corral.Dashboard;

/// <summary>The page's files, embedded in this assembly (<c>wwwroot/</c>): nothing is loaded from anywhere else.</summary>
internal static class DashboardAssets
{
    /// <summary>The files by name: content type, bytes, and an ETag.</summary>
    private static readonly Dictionary<string, Asset> s_assets = Load();

    /// <summary>Gets a file by name (<c>index.html</c>, <c>dashboard.js</c>, <c>dashboard.css</c>, <c>favicon.svg</c>).</summary>
    /// <param name="name">The file name.</param>
    /// <returns>The file.</returns>
    /// <exception cref="KeyNotFoundException">No such file.</exception>
    public static Asset Get(string name) => s_assets[name];

    private static Dictionary<string, Asset> Load()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var (name, type) in new[]
        {
            ("index.html", "text/html; charset=utf-8"),
            ("dashboard.js", "text/javascript; charset=utf-8"),
            ("dashboard.css", "text/css; charset=utf-8"),
            ("favicon.svg", "image/svg+xml"),
        })
        {
            using var stream = assembly.GetManifestResourceStream("Corral.Dashboard." + name)
                ?? throw new InvalidOperationException($"The dashboard's {name} is not embedded in {assembly.GetName().Name}.");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            var etag = "\"" + Convert.ToHexString(SHA256.HashData(bytes).AsSpan(0, 8)) + "\"";
            assets[name] = new Asset(type, bytes, etag);
        }

        return assets;
    }

    /// <summary>One embedded file.</summary>
    /// <param name="ContentType">Its content type.</param>
    /// <param name="Bytes">Its bytes.</param>
    /// <param name="ETag">A strong ETag of its content.</param>
    internal sealed record Asset(string ContentType, byte[] Bytes, string ETag);
}
