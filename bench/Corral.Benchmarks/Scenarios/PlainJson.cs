using System.Text.Json.Serialization;

namespace Corral.Benchmarks;

/// <summary>Source-generated System.Text.Json metadata for the dashboard benchmark's raw baseline (the fastest plain way).</summary>
[JsonSerializable(typeof(PlainNode[]))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, MaxDepth = 2048)]
internal sealed partial class PlainJson : JsonSerializerContext
{
}
