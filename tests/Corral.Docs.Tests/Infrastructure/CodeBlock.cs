using System;
using System.Linq;
using Markdig.Syntax;

namespace Corral.Docs.Tests.Infrastructure;

/// <summary>A fenced code block of a page: its language, whether it is marked a fragment, its code and where it is.</summary>
internal sealed class CodeBlock
{
    /// <summary>The word after the language that exempts a C# block from compiling: <c>```csharp fragment</c>.</summary>
    public const string FragmentMarker = "fragment";

    public CodeBlock(DocPage page, FencedCodeBlock block)
    {
        Page = page;
        Language = (block.Info ?? string.Empty).Trim();
        Arguments = (block.Arguments ?? string.Empty).Trim();
        FenceLine = block.Line + 1;
        Code = block.Lines.ToString().Replace("\r\n", "\n", StringComparison.Ordinal);
    }

    /// <summary>The page the block is on.</summary>
    public DocPage Page { get; }

    /// <summary>The info string's first word (<c>csharp</c>).</summary>
    public string Language { get; }

    /// <summary>The rest of the info string (<c>fragment</c>, or empty).</summary>
    public string Arguments { get; }

    /// <summary>The 1-based line of the opening fence; the code starts on the next line.</summary>
    public int FenceLine { get; }

    /// <summary>The code, LF line ends.</summary>
    public string Code { get; }

    /// <summary>Whether the block is C# (<c>csharp</c>, <c>cs</c> or <c>c#</c>, any case).</summary>
    public bool IsCSharp => Language.Equals("csharp", StringComparison.OrdinalIgnoreCase)
        || Language.Equals("cs", StringComparison.OrdinalIgnoreCase)
        || Language.Equals("c#", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether the writer marked the block as a piece of code not meant to compile on its own.</summary>
    public bool IsFragment => Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(FragmentMarker, StringComparer.Ordinal);

    /// <summary>Whether the snippet test compiles the block.</summary>
    public bool IsCompiled => IsCSharp && !IsFragment;

    /// <summary>Where the block is, as a writer would look for it: <c>docs/concepts/http.md:46</c>.</summary>
    public string Location => $"{Page.RelativePath}:{FenceLine}";

    /// <inheritdoc/>
    public override string ToString() => Location;
}
