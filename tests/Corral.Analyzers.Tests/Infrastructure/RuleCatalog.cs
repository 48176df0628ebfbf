using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Corral.Analyzers.Tests.Infrastructure;

/// <summary>Every analyzer and code fix the Corral analyzer assemblies ship, found by reflection.</summary>
internal static class RuleCatalog
{
    /// <summary>One instance of every analyzer, in rule order.</summary>
    public static ImmutableArray<DiagnosticAnalyzer> Analyzers { get; } = typeof(Descriptors).Assembly.GetTypes()
        .Where(t => !t.IsAbstract && typeof(DiagnosticAnalyzer).IsAssignableFrom(t))
        .OrderBy(t => t.Name, StringComparer.Ordinal)
        .Select(t => (DiagnosticAnalyzer)Activator.CreateInstance(t)!)
        .ToImmutableArray();

    /// <summary>One instance of every code fix.</summary>
    public static ImmutableArray<CodeFixProvider> CodeFixes { get; } = typeof(CORRAL0001CancellationSwallowedCodeFix).Assembly.GetTypes()
        .Where(t => !t.IsAbstract && typeof(CodeFixProvider).IsAssignableFrom(t))
        .OrderBy(t => t.Name, StringComparer.Ordinal)
        .Select(t => (CodeFixProvider)Activator.CreateInstance(t)!)
        .ToImmutableArray();

    /// <summary>Every descriptor, by ID.</summary>
    public static IReadOnlyList<DiagnosticDescriptor> Descriptors { get; } = Analyzers
        .SelectMany(a => a.SupportedDiagnostics)
        .GroupBy(d => d.Id, StringComparer.Ordinal)
        .Select(g => g.First())
        .OrderBy(d => d.Id, StringComparer.Ordinal)
        .ToList();

    /// <summary>Whether some code fix handles <paramref name="id"/>.</summary>
    public static bool HasCodeFix(string id) => CodeFixes.Any(f => f.FixableDiagnosticIds.Contains(id));
}
