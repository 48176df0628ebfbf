using System;
using System.Threading.Tasks;

namespace Corral.Tour.Scenarios;

/// <summary>One scene of the tour: the same situation played with plain .NET and with Corral.</summary>
/// <param name="Number">The number printed at the start of the line.</param>
/// <param name="Title">A few words saying what is shown.</param>
/// <param name="RunAsync">Plays both sides and reports.</param>
internal sealed record Scenario(int Number, string Title, Func<Task<ScenarioResult>> RunAsync);
