using Corral.Diagnostics;
using Corral.Diagnostics.Stacks;
using Xunit;

namespace Corral.Tests.Diagnostics.Stacks;

/// <summary>Compiler names of kickoff methods to the names a person wrote (Roslyn's GeneratedNames).</summary>
public sealed class MethodNamesTests
{
    [Theory]
    [InlineData("FlushAsync", "FlushAsync", TaskTreeFrameKind.Method, null)]
    [InlineData("<Main>b__0_2", "Main", TaskTreeFrameKind.Lambda, null)]
    [InlineData("<.ctor>b__3_0", ".ctor", TaskTreeFrameKind.Lambda, null)]
    [InlineData("<get_Value>b__1", "get_Value", TaskTreeFrameKind.Lambda, null)]
    [InlineData("<Main>g__Worker|0_1", "Main", TaskTreeFrameKind.LocalFunction, "Worker")]
    [InlineData("<RunAsync>g__Drain|12_0", "RunAsync", TaskTreeFrameKind.LocalFunction, "Drain")]
    [InlineData("<Main>$", "Main", TaskTreeFrameKind.Method, null)]
    [InlineData("<<Main>$>b__0_0", "Main", TaskTreeFrameKind.Lambda, null)]
    [InlineData("<<Main>$>g__Serve|0_1", "Main", TaskTreeFrameKind.LocalFunction, "Serve")]
    public void TryParseMethod_CompilerNames_NamesAsWritten(string name, string member, TaskTreeFrameKind kind, string? local)
    {
        Assert.True(MethodNames.TryParseMethod(name, out var actualMember, out var actualKind, out var actualLocal));
        Assert.Equal((member, kind, local), (actualMember, actualKind, actualLocal));
    }

    [Theory]
    [InlineData("<Main>x__0")]
    [InlineData("<Main")]
    [InlineData("<Main>g__Worker")]
    [InlineData("")]
    public void TryParseMethod_NotACSharpName_False(string name) => Assert.False(MethodNames.TryParseMethod(name, out _, out _, out _));

    [Theory]
    [InlineData("<FlushAsync>d__5", "FlushAsync")]
    [InlineData("<<Main>b__0_2>d", "<Main>b__0_2")]
    [InlineData("<<Main>g__Worker|0_1>d", "<Main>g__Worker|0_1")]
    [InlineData("<>c__DisplayClass0_0", null)]
    public void Inner_StateMachineNames_KickoffMethod(string name, string? kickoff) => Assert.Equal(kickoff, MethodNames.Inner(name, 'd'));

    [Fact]
    public void TypeName_NestedGenericTypes_AsWritten()
    {
        Assert.Equal("KnownProgram.Cache<TKey>", MethodNames.TypeName(typeof(Known.KnownProgram.Cache<int>), withNamespace: false));
        Assert.Equal("System.Collections.Generic.Dictionary<TKey, TValue>", MethodNames.TypeName(typeof(System.Collections.Generic.Dictionary<int, string>), withNamespace: true));
    }
}
