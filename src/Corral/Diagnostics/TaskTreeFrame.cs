using System;
using System.Globalization;

namespace Corral.Diagnostics;

/// <summary>One frame of a task's async call stack: a method suspended at an <c>await</c>. Immutable.</summary>
/// <remarks>
/// <list type="bullet">
/// <item>Names are as a person wrote them: no compiler names (<c>&lt;Main&gt;b__0_2</c>, <c>d__5</c>); a lambda is named after the
/// method it is written in, a local function after its enclosing method and itself.</item>
/// <item>The line is that of the <c>await</c> the frame is suspended at, read from the assembly's portable PDB (embedded or
/// beside the assembly); without one, <see cref="Line"/> is null ("line unknown").</item>
/// </list>
/// </remarks>
public sealed class TaskTreeFrame
{
    /// <summary>Creates a frame (snapshots and the JSON reader create them; tests and tools may too).</summary>
    /// <param name="method">The method as written, without namespace: <c>Exporter.FlushAsync</c>, <c>Cache&lt;T&gt;.LoadAsync&lt;TKey&gt;</c>.</param>
    /// <param name="kind">Whether it is a method, a lambda or a local function.</param>
    /// <param name="typeFullName">The declaring type with its namespace, or null when unknown.</param>
    /// <param name="file">The source file as the PDB records it, or null.</param>
    /// <param name="line">The line of the <c>await</c> (1-based), or null when unknown.</param>
    /// <param name="column">The column where the awaiting statement starts (1-based), or null.</param>
    /// <exception cref="ArgumentNullException"><paramref name="method"/> is null.</exception>
    public TaskTreeFrame(string method, TaskTreeFrameKind kind, string? typeFullName, string? file, int? line, int? column)
    {
        ArgumentNullException.ThrowIfNull(method);
        Method = method;
        Kind = kind;
        TypeFullName = typeFullName;
        File = file;
        Line = line;
        Column = column;
    }

    /// <summary>
    /// Gets the method as written, without namespace: <c>Exporter.FlushAsync</c>; for a lambda, the method it is written in
    /// (<c>Program.Main</c>); for a local function, the enclosing method and the function (<c>Program.Main.Worker</c>).
    /// </summary>
    public string Method { get; }

    /// <summary>Gets whether the frame is a method, a lambda or a local function.</summary>
    public TaskTreeFrameKind Kind { get; }

    /// <summary>Gets the declaring type with its namespace (<c>Shop.Orders.Exporter</c>), or null when unknown.</summary>
    public string? TypeFullName { get; }

    /// <summary>Gets the source file as the PDB records it (a full path, or <c>/_/…</c> in deterministic builds), or null.</summary>
    public string? File { get; }

    /// <summary>Gets the line of the <c>await</c> the frame is suspended at (1-based), or null when unknown.</summary>
    public int? Line { get; }

    /// <summary>Gets the column where the awaiting statement starts (1-based), or null when unknown.</summary>
    public int? Column { get; }

    /// <summary>Gets <c>File.cs:line</c> (the file name only), or null when the line is unknown.</summary>
    public string? Location => Line is { } line
        ? string.Create(CultureInfo.InvariantCulture, $"{(File is null ? "?" : System.IO.Path.GetFileName(File))}:{line}")
        : null;

    /// <inheritdoc/>
    /// <remarks><c>Exporter.FlushAsync (Exporter.cs:57)</c>, <c>lambda in Program.Main (Program.cs:12)</c>, or <c>… (line unknown)</c>.</remarks>
    public override string ToString() => $"{DisplayName} ({Location ?? "line unknown"})";

    /// <summary>Gets the name a person reads: <see cref="Method"/>, or <c>lambda in</c> it for a lambda.</summary>
    internal string DisplayName => Kind == TaskTreeFrameKind.Lambda ? "lambda in " + Method : Method;
}
