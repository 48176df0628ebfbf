using System.Threading.Tasks;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace Corral.Analyzers.Tests.Verifiers;

/// <summary>Runs one analyzer over test code whose flagged spans are marked inline (<c>{|CORRAL0001:…|}</c> or <c>[|…|]</c>).</summary>
internal static class Verify<TAnalyzer>
    where TAnalyzer : DiagnosticAnalyzer, new()
{
    /// <summary>Checks that the analyzer reports exactly the marked spans, with the Corral stub in the compilation.</summary>
    public static Task AnalyzerAsync(string source, bool withCorral = true)
    {
        var test = new CSharpAnalyzerTest<TAnalyzer, DefaultVerifier>
        {
            ReferenceAssemblies = ReferenceAssemblies.Net.Net80,
        };
        test.TestState.Sources.Add(source);
        if (withCorral)
        {
            test.TestState.Sources.Add(CorralStub.Source);
        }

        return test.RunAsync();
    }
}

/// <summary>Runs one analyzer and one code fix: the marked spans must be reported, and the chosen fix must give the fixed code.</summary>
internal static class Verify<TAnalyzer, TCodeFix>
    where TAnalyzer : DiagnosticAnalyzer, new()
    where TCodeFix : CodeFixProvider, new()
{
    /// <summary>Applies the code action at <paramref name="actionIndex"/> to every diagnostic and compares with <paramref name="fixedSource"/>.</summary>
    public static Task CodeFixAsync(string source, string fixedSource, int actionIndex = 0)
    {
        var test = new CSharpCodeFixTest<TAnalyzer, TCodeFix, DefaultVerifier>
        {
            ReferenceAssemblies = ReferenceAssemblies.Net.Net80,
            CodeActionIndex = actionIndex,
        };
        test.TestState.Sources.Add(source);
        test.TestState.Sources.Add(CorralStub.Source);
        test.FixedState.Sources.Add(fixedSource);
        test.FixedState.Sources.Add(CorralStub.Source);
        return test.RunAsync();
    }

    /// <summary>
    /// Checks that the marked spans are reported and that the fix offers nothing for them: a fixed state equal to the test
    /// state fails if any code action is registered.
    /// </summary>
    public static Task NoFixOfferedAsync(string source) => CodeFixAsync(source, source);
}
