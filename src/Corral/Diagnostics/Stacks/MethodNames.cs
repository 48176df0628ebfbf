// Compiler names to the names a person wrote.
//
// An async method's frame is its state machine type, which C# names after the method: `<FlushAsync>d__5` for the
// method FlushAsync, `<<Main>b__0_2>d` for the third lambda in Main, `<<Main>g__Worker|0_1>d` for the local function
// Worker in Main. Lambdas and local functions live in closure classes (`<>c`, `<>c__DisplayClass0_0`) nested in the type
// that wrote them. The names follow Roslyn's GeneratedNames (stable since C# 6; the letters used here: d = state
// machine, b = lambda, g = local function):
//
//   <M>d__N, <M>d          state machine of M         M may itself be <Outer>b__… or <Outer>g__Name|…
//   <Outer>b__N_M          lambda written in Outer    Outer is the member (method, accessor, .ctor) it is written in
//   <Outer>g__Name|N_M     local function Name in Outer
//   <>c, <>c__DisplayClassN_M  closure classes        skipped: the frame belongs to the type that encloses them
//   <Main>$                top-level statements       shown as Main
//
// A name that does not parse (another compiler, an obfuscator) is shown as it is: never an exception, never a guess.
using System;
using System.Text;

namespace Corral.Diagnostics.Stacks;

/// <summary>Turns the compiler's names of state machines, lambdas and local functions into the names a person wrote.</summary>
/// <remarks>Pure functions of the names; thread-safe.</remarks>
internal static class MethodNames
{
    /// <summary>Describes the method whose state machine is <paramref name="stateMachineType"/>.</summary>
    /// <param name="stateMachineType">A compiler-generated state machine type (class in Debug builds, struct in Release).</param>
    /// <param name="method">The method as written, without namespace (<c>Exporter.FlushAsync</c>, <c>Program.Main.Worker</c>).</param>
    /// <param name="kind">Method, lambda or local function.</param>
    /// <param name="typeFullName">The declaring type with its namespace (closure classes skipped).</param>
    internal static void Describe(Type stateMachineType, out string method, out TaskTreeFrameKind kind, out string? typeFullName)
    {
        var declaring = stateMachineType.DeclaringType;
        while (declaring is not null && IsClosureClass(declaring.Name))
        {
            declaring = declaring.DeclaringType;
        }

        var owner = declaring is null ? null : TypeName(declaring, withNamespace: false);
        typeFullName = declaring is null ? null : TypeName(declaring, withNamespace: true);

        var name = StripArity(stateMachineType.Name);
        if (!TryParseMethod(Inner(name, 'd'), out var member, out kind, out var local))
        {
            // Not a C# state machine name: show the type itself.
            member = name;
            kind = TaskTreeFrameKind.Method;
            local = null;
        }

        var generic = MethodTypeParameters(stateMachineType);
        var sb = new StringBuilder();
        if (owner is not null)
        {
            sb.Append(owner).Append('.');
        }

        sb.Append(member);
        if (local is not null)
        {
            sb.Append('.').Append(local);
        }

        sb.Append(generic);
        method = sb.ToString();
    }

    /// <summary>Parses a kickoff method's name: a plain method, <c>&lt;Outer&gt;b__…</c> (lambda) or <c>&lt;Outer&gt;g__Name|…</c> (local function).</summary>
    internal static bool TryParseMethod(string? name, out string member, out TaskTreeFrameKind kind, out string? local)
    {
        member = name ?? string.Empty;
        kind = TaskTreeFrameKind.Method;
        local = null;
        if (string.IsNullOrEmpty(name))
        {
            return false;
        }

        if (name[0] != '<')
        {
            return true;
        }

        if (name == "<Main>$")
        {
            member = "Main";
            return true;
        }

        var close = MatchingClose(name, 0);
        if (close < 0 || close + 3 >= name.Length || name[close + 2] != '_' || name[close + 3] != '_')
        {
            return false;
        }

        var outer = name[1..close];
        member = outer == "<Main>$" ? "Main" : outer;
        switch (name[close + 1])
        {
            case 'b':
                kind = TaskTreeFrameKind.Lambda;
                return true;
            case 'g':
                var start = close + 4;
                var bar = name.IndexOf('|', start);
                if (start >= name.Length || bar < 0)
                {
                    return false;
                }

                kind = TaskTreeFrameKind.LocalFunction;
                local = name[start..bar];
                return true;
            default:
                return false;
        }
    }

    /// <summary>The part between the outer angle brackets of <c>&lt;X&gt;c__…</c> (or <c>&lt;X&gt;c</c>) when <c>c</c> is <paramref name="letter"/>; else null.</summary>
    internal static string? Inner(string name, char letter)
    {
        if (name.Length < 3 || name[0] != '<')
        {
            return null;
        }

        var close = MatchingClose(name, 0);
        if (close < 0 || close + 1 >= name.Length || name[close + 1] != letter)
        {
            return null;
        }

        return name[1..close];
    }

    /// <summary>A type's name as written: nested types joined with dots, generic parameters by their names.</summary>
    internal static string TypeName(Type type, bool withNamespace)
    {
        var definition = type.IsGenericType && !type.IsGenericTypeDefinition ? type.GetGenericTypeDefinition() : type;
        var parameters = definition.IsGenericType ? definition.GetGenericArguments() : Type.EmptyTypes;
        var sb = new StringBuilder();
        AppendType(sb, definition, parameters, withNamespace);
        return sb.ToString();
    }

    private static void AppendType(StringBuilder sb, Type type, Type[] parameters, bool withNamespace)
    {
        if (type.DeclaringType is { } outer)
        {
            AppendType(sb, outer, parameters, withNamespace);
            sb.Append('.');
        }
        else if (withNamespace && !string.IsNullOrEmpty(type.Namespace))
        {
            sb.Append(type.Namespace).Append('.');
        }

        var name = type.Name;
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        if (tick < 0 || !int.TryParse(name.AsSpan(tick + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var arity))
        {
            sb.Append(name);
            return;
        }

        // A nested type repeats its outer types' parameters first; its own are the last `arity` of them.
        var outerCount = type.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments().Length : 0;
        sb.Append(name, 0, tick).Append('<');
        for (var i = 0; i < arity && outerCount + i < parameters.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            sb.Append(parameters[outerCount + i].Name);
        }

        sb.Append('>');
    }

    /// <summary>The generic parameters of the kickoff method: those of the state machine beyond its declaring type's.</summary>
    private static string MethodTypeParameters(Type stateMachineType)
    {
        if (!stateMachineType.IsGenericType)
        {
            return string.Empty;
        }

        var all = (stateMachineType.IsGenericTypeDefinition ? stateMachineType : stateMachineType.GetGenericTypeDefinition()).GetGenericArguments();
        var own = CountOwnParameters(stateMachineType.DeclaringType);
        if (all.Length <= own)
        {
            return string.Empty;
        }

        var sb = new StringBuilder("<");
        for (var i = own; i < all.Length; i++)
        {
            if (i > own)
            {
                sb.Append(", ");
            }

            sb.Append(all[i].Name);
        }

        return sb.Append('>').ToString();
    }

    private static int CountOwnParameters(Type? type) => type is { IsGenericType: true } ? type.GetGenericArguments().Length : 0;

    /// <summary>Whether a type name is a closure class of lambdas or local functions (<c>&lt;&gt;c</c>, <c>&lt;&gt;c__DisplayClass0_0</c>).</summary>
    private static bool IsClosureClass(string name) => name.StartsWith("<>c", StringComparison.Ordinal);

    private static string StripArity(string name)
    {
        var tick = name.LastIndexOf('`');
        return tick < 0 ? name : name[..tick];
    }

    /// <summary>The index of the '&gt;' closing the '&lt;' at <paramref name="open"/>, or -1.</summary>
    private static int MatchingClose(string name, int open)
    {
        var depth = 0;
        for (var i = open; i < name.Length; i++)
        {
            if (name[i] == '<')
            {
                depth++;
            }
            else if (name[i] == '>' && --depth == 0)
            {
                return i;
            }
        }

        return -1;
    }
}
