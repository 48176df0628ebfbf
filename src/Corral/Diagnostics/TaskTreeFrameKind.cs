namespace Corral.Diagnostics;

/// <summary>What kind of function a <see cref="TaskTreeFrame"/> is.</summary>
public enum TaskTreeFrameKind
{
    /// <summary>A method (or property accessor, or constructor).</summary>
    Method,

    /// <summary>A lambda or anonymous method; <see cref="TaskTreeFrame.Method"/> names the method it is written in.</summary>
    Lambda,

    /// <summary>A local function; <see cref="TaskTreeFrame.Method"/> is the enclosing method's name followed by the function's.</summary>
    LocalFunction,
}
