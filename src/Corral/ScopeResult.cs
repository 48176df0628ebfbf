using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;

namespace Corral;

/// <summary>
/// The outcome of a scope whose body returns a value: either the value, or the fact that the body was cut off by the
/// scope's own cancellation (its deadline, or <see cref="CancelScope.Cancel(string?)"/>).
/// </summary>
/// <typeparam name="T">The body's result type.</typeparam>
/// <remarks>
/// <list type="bullet">
/// <item><see cref="Completed"/> is <see langword="true"/> when the body returned; <see cref="Value"/> is then its value.</item>
/// <item>Reading <see cref="Value"/> of a cut-off result throws <see cref="InvalidOperationException"/>; use
/// <see cref="TryGetValue(out T)"/> or <see cref="GetValueOrDefault(T)"/> to branch without an exception.</item>
/// </list>
/// </remarks>
public readonly struct ScopeResult<T> : IEquatable<ScopeResult<T>>
{
    private readonly T _value;

    internal ScopeResult(T value)
    {
        _value = value;
        Completed = true;
    }

    /// <summary>Gets a value indicating whether the body ran to completion (was not cut off).</summary>
    public bool Completed { get; }

    /// <summary>Gets the body's value.</summary>
    /// <exception cref="InvalidOperationException">The body was cut off and has no value.</exception>
    public T Value => Completed
        ? _value
        : throw new InvalidOperationException("The scope's body was cut off by its own cancellation and produced no value. Check Completed or use TryGetValue.");

    /// <summary>Compares two results.</summary>
    /// <param name="left">The first result.</param>
    /// <param name="right">The second result.</param>
    /// <returns><see langword="true"/> when both are cut off, or both completed with equal values.</returns>
    public static bool operator ==(ScopeResult<T> left, ScopeResult<T> right) => left.Equals(right);

    /// <summary>Compares two results.</summary>
    /// <param name="left">The first result.</param>
    /// <param name="right">The second result.</param>
    /// <returns>The negation of <see cref="op_Equality"/>.</returns>
    public static bool operator !=(ScopeResult<T> left, ScopeResult<T> right) => !left.Equals(right);

    /// <summary>Gets the value when the body completed.</summary>
    /// <param name="value">The body's value, or <see langword="default"/> when it was cut off.</param>
    /// <returns><see cref="Completed"/>.</returns>
    public bool TryGetValue([MaybeNullWhen(false)] out T value)
    {
        value = _value;
        return Completed;
    }

    /// <summary>Gets the value when the body completed, otherwise <paramref name="defaultValue"/>.</summary>
    /// <param name="defaultValue">What to return for a cut-off body.</param>
    /// <returns>The value or the default.</returns>
    public T GetValueOrDefault(T defaultValue) => Completed ? _value : defaultValue;

    /// <inheritdoc/>
    public bool Equals(ScopeResult<T> other) =>
        Completed == other.Completed && (!Completed || EqualityComparer<T>.Default.Equals(_value, other._value));

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is ScopeResult<T> other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => Completed ? HashCode.Combine(true, _value) : 0;

    /// <inheritdoc/>
    public override string ToString() => Completed ? $"Completed({_value})" : "CutOff";
}
