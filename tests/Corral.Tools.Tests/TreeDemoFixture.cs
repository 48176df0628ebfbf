using System.Threading.Tasks;
using Xunit;

namespace Corral.Tools.Tests;

/// <summary>One TreeDemo process for the whole collection: starting a process costs a second or two on a small machine.</summary>
public sealed class TreeDemoFixture : IAsyncLifetime
{
    private ChildProcess? _demo;

    internal ChildProcess Demo => _demo!;

    public async Task InitializeAsync() => _demo = await ChildProcess.StartTreeDemoAsync();

    public async Task DisposeAsync()
    {
        if (_demo is not null)
        {
            await _demo.DisposeAsync();
        }
    }
}

/// <summary>The tests that start processes run one at a time, sharing one demo: the CI machine has two cores.</summary>
[CollectionDefinition(Name)]
public sealed class ProcessTests : ICollectionFixture<TreeDemoFixture>
{
    public const string Name = "processes";
}
