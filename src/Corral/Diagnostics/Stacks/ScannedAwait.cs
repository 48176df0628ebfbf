using System.Reflection;

namespace Corral.Diagnostics.Stacks;

/// <summary>One await found in a state machine's <c>MoveNext</c> by <see cref="MoveNextScanner"/>.</summary>
/// <param name="State">The state number the state machine holds while suspended here (0, 1, …).</param>
/// <param name="StateStoreOffset">The IL offset of the store of that state: inside the await's code.</param>
/// <param name="AwaiterField">The name of the field the awaiter is parked in (<c>&lt;&gt;u__1</c>), or null when not found.</param>
/// <param name="Call">The method whose result is awaited, or null when the await applies to something else (a local, a field).</param>
internal readonly record struct ScannedAwait(int State, int StateStoreOffset, string? AwaiterField, MethodBase? Call);
