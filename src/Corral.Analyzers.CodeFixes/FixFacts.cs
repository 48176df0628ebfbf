using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Corral.Analyzers;

/// <summary>Helpers the code fixes share: replacing a node, picking free names and type names that bind at a position, filters.</summary>
internal static class FixFacts
{
    /// <summary>
    /// The document with <paramref name="oldNode"/> replaced by <paramref name="newNode"/>, as written: a caller that
    /// wants the new node laid out annotates it with <c>Formatter.Annotation</c> (the code action formats what is annotated).
    /// </summary>
    public static async Task<Document> ReplaceAsync(Document document, SyntaxNode oldNode, SyntaxNode newNode, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        return document.WithSyntaxRoot(root!.ReplaceNode(oldNode, newNode));
    }

    /// <summary>The first of <paramref name="candidates"/> that names nothing at <paramref name="position"/>.</summary>
    public static string FreeName(SemanticModel model, int position, params string[] candidates)
    {
        foreach (var candidate in candidates)
        {
            if (model.LookupSymbols(position, name: candidate).IsEmpty)
            {
                return candidate;
            }
        }

        return candidates[candidates.Length - 1] + "1";
    }

    /// <summary>The short name of a <c>System</c> type when it binds at <paramref name="position"/>, else its qualified name.</summary>
    public static string SystemTypeName(SemanticModel model, int position, string name) =>
        model.LookupNamespacesAndTypes(position, name: name).Any(s => s.ContainingNamespace?.Name == "System")
            ? name
            : "System." + name;

    /// <summary>
    /// The shortest name of the type <paramref name="metadataName"/> (<c>System.Threading.Tasks.Task</c>) that binds to it at
    /// <paramref name="position"/>: the simple name when a using brings it in and nothing closer hides it, else the
    /// qualified name.
    /// </summary>
    public static string TypeName(SemanticModel model, int position, string metadataName)
    {
        var type = model.Compilation.GetTypeByMetadataName(metadataName);
        var simple = metadataName.Substring(metadataName.LastIndexOf('.') + 1);
        // Task and Task<T> share the simple name: only the ones of the same arity (and namespaces) compete.
        var bound = model.LookupNamespacesAndTypes(position, name: simple)
            .Where(s => s is INamespaceSymbol || (s is INamedTypeSymbol named && named.Arity == type?.Arity))
            .ToList();
        return type is not null && bound.Count == 1 && SymbolEqualityComparer.Default.Equals(bound[0], type)
            ? simple
            : metadataName;
    }

    /// <summary>Whether the document's language version has <c>is not</c> patterns (C# 9).</summary>
    public static bool HasNotPatterns(SyntaxTree tree) =>
        tree.Options is CSharpParseOptions { LanguageVersion: >= LanguageVersion.CSharp9 };

    /// <summary>
    /// Gives the catch clause the filter <paramref name="test"/>, or, when it has one, its filter <c>&amp;&amp;</c>
    /// <paramref name="test"/> (the old filter parenthesized when it binds looser than <c>&amp;&amp;</c>). The rest of the
    /// clause is kept as written.
    /// </summary>
    public static CatchClauseSyntax AndFilter(CatchClauseSyntax catchClause, string test)
    {
        if (catchClause.Filter is not { } existing)
        {
            return WithFilter(catchClause, SyntaxFactory.ParseExpression(test));
        }

        var old = existing.FilterExpression.WithoutTrivia();
        var left = old is BinaryExpressionSyntax { RawKind: (int)SyntaxKind.LogicalOrExpression or (int)SyntaxKind.CoalesceExpression }
            or ConditionalExpressionSyntax or AssignmentExpressionSyntax or LambdaExpressionSyntax
            ? "(" + old.ToFullString() + ")"
            : old.ToFullString();
        var combined = SyntaxFactory.ParseExpression(left + " && " + test);
        return catchClause.WithFilter(existing.WithFilterExpression(combined));
    }

    /// <summary>
    /// Adds <paramref name="filter"/> to the catch clause, moving the line break that followed the declaration
    /// behind the filter.
    /// </summary>
    public static CatchClauseSyntax WithFilter(CatchClauseSyntax catchClause, ExpressionSyntax filter)
    {
        var declaration = catchClause.Declaration!;
        var trailing = declaration.GetTrailingTrivia();
        var filterClause = SyntaxFactory.CatchFilterClause(filter.WithoutTrivia())
            .WithLeadingTrivia(SyntaxFactory.Space)
            .WithTrailingTrivia(trailing);
        return catchClause
            .WithDeclaration(declaration.WithoutTrailingTrivia())
            .WithFilter(filterClause);
    }
}
