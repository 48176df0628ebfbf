namespace Corral.Hosting.Tests;

/// <summary>A generic service-like type, for the spawn site's name (CorralBackgroundServiceTests).</summary>
internal sealed class Cache<T>
{
}
