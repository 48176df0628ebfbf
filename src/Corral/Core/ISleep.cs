using System;

namespace Corral.Core;

/// <summary>A <c>CancelScope.SleepAsync</c> in progress, as a snapshot sees it (Diagnostics/Stacks).</summary>
internal interface ISleep
{
    /// <summary>Gets how long the sleep still waits, on its scope's clock; null when it waits until cancelled.</summary>
    TimeSpan? TimeLeft { get; }
}
