using System;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;

namespace Corral.Analyzers;

/// <summary>
/// The diagnostic descriptors of every Corral rule, in one place so that the IDs, titles and help links
/// stay consistent with the pages under <c>docs/analyzers/</c>.
/// </summary>
public static class Descriptors
{
    /// <summary>
    /// The address that every rule's help link starts with; the page is <c>{ID}.md</c>. It is the build's
    /// <c>RepositoryUrl</c> property (defined once in Directory.Build.props, overridable at pack time) followed by
    /// <see cref="DocsPath"/>, read from the assembly's metadata once.
    /// </summary>
    /// <remarks>Declared before the descriptors: static initializers run in text order.</remarks>
    public static string HelpLinkBase { get; } = ReadRepositoryUrl() + DocsPath;

    /// <summary>Where the rule pages live in the repository, relative to its address: <c>/blob/main/docs/analyzers/</c>.</summary>
    public const string DocsPath = "/blob/main/docs/analyzers/";

    /// <summary>The category of every Corral rule.</summary>
    public const string Category = "Reliability";

    /// <summary>CORRAL0001: cancellation caught and not rethrown.</summary>
    public static readonly DiagnosticDescriptor CancellationSwallowed = Create(
        "CORRAL0001",
        "Cancellation is caught and not rethrown",
        "'{0}' is caught and not rethrown: the caller's cancellation is swallowed and the code goes on as if it had not been cancelled",
        "Catching OperationCanceledException without rethrowing it turns a cancelled operation into one that completed: a loop spins on, a task group cannot tell a cancelled child from a finished one. Rethrow it, or narrow the catch with a 'when' filter to a cancellation that is not the caller's.");

    /// <summary>CORRAL0002: a catch-all in async code that swallows cancellation.</summary>
    public static readonly DiagnosticDescriptor CatchAllSwallowsCancellation = Create(
        "CORRAL0002",
        "A catch-all clause swallows cancellation",
        "'{0}' also catches OperationCanceledException and does not rethrow it: cancellation is swallowed",
        "OperationCanceledException derives from Exception, so 'catch (Exception)' and a bare 'catch' in async code swallow cancellation. Let cancellation through with 'when (e is not OperationCanceledException)' or catch and rethrow it first.");

    /// <summary>CORRAL0003: <c>yield return</c> inside a scope entered in an async iterator.</summary>
    public static readonly DiagnosticDescriptor YieldInsideScope = Create(
        "CORRAL0003",
        "'yield return' inside a cancellation scope in an async iterator",
        "'yield return' inside the scope of '{0}': the consumer's code runs while the scope is open, and its timeout and cancellation apply to code that does not belong to it",
        "An async iterator suspends at every 'yield return' and the consumer runs its loop body before the iterator resumes. A CancellationTokenSource or Corral scope entered around the yield therefore times out or cancels the consumer's work, and ambient state set in the iterator does not survive the yield. Produce the items from a task group child into a channel and consume them outside the scope.");

    /// <summary>CORRAL0004: fire-and-forget inside a task group or scope body.</summary>
    public static readonly DiagnosticDescriptor FireAndForgetInScope = Create(
        "CORRAL0004",
        "Fire-and-forget task inside a task group or scope",
        "The task from '{0}' is neither awaited nor started in the group: it outlives the scope it was started in",
        "A task started and dropped inside a Corral body is not part of the structure: the scope does not wait for it, does not cancel it, and its exception is lost. Start it with group.Start, or await it.");

    /// <summary>CORRAL0005: <c>CancellationToken.None</c> or <c>default</c> passed where the scope's token is in reach.</summary>
    public static readonly DiagnosticDescriptor TokenNotPassed = Create(
        "CORRAL0005",
        "The scope's cancellation token is not passed",
        "'{0}' is passed while the scope's token '{1}' is in reach: this call cannot be cancelled by the scope",
        "A call that receives CancellationToken.None or default inside a Corral body cannot be cancelled by the scope or its deadline, so the scope cannot finish on time. Pass the scope's token.");

    /// <summary>CORRAL0006: cleanup that awaits with a token that is already cancelled.</summary>
    public static readonly DiagnosticDescriptor CleanupWithCancelledToken = Create(
        "CORRAL0006",
        "Cleanup awaits with a token that may already be cancelled",
        "Cleanup in '{0}' awaits with '{1}', which is cancelled when this code runs because of cancellation: the cleanup is cut short. Run it in CancelScope.ShieldAsync with a timeout.",
        "Code in a finally block, or in a catch of OperationCanceledException, often runs because the token was cancelled. Awaiting with that token makes the cleanup throw at once. Use CancelScope.ShieldAsync(ct => ..., timeout) to give the cleanup a bounded time of its own.");

    /// <summary>CORRAL0007: a timeout detected by catching cancellation around <c>CancelAfter</c>.</summary>
    public static readonly DiagnosticDescriptor TimeoutFromCancellation = Create(
        "CORRAL0007",
        "Timeout detected by catching OperationCanceledException",
        "The catch of '{0}' cannot tell the timeout of '{1}' from the caller's cancellation: use CancelScope.FailAfterAsync or CancelScope.MoveOnAfterAsync",
        "A linked CancellationTokenSource with CancelAfter raises the same exception on a timeout and on an external cancel, so this catch treats the caller's cancellation as a timeout (or the reverse). CancelScope.FailAfterAsync throws TimeoutException only for its own deadline, and MoveOnAfterAsync reports whether the body was cut off.");

    /// <summary>CORRAL0008: a call inside a Corral body that could take the scope's token and is not given it.</summary>
    public static readonly DiagnosticDescriptor TokenNotForwarded = Create(
        "CORRAL0008",
        "The scope's cancellation token is not forwarded",
        "'{0}' can take a CancellationToken and is not given one while the scope's token '{1}' is in reach: this call cannot be cancelled by the scope",
        "A call that has a CancellationToken parameter or overload, made inside a Corral body without a token, cannot be cancelled by the scope or its deadline. Forward the scope's token.");

    /// <summary>CORRAL0009: a wait inside a Corral body that blocks the thread, which no scope can cut.</summary>
    public static readonly DiagnosticDescriptor BlockingWaitInBody = Create(
        "CORRAL0009",
        "A blocking wait inside a Corral body",
        "'{0}' blocks the thread, and no scope can cut it: the scope's cancellation and deadline wait until it returns",
        "Thread.Sleep, Task.Wait, .Result, GetAwaiter().GetResult() and the token-less waits of SemaphoreSlim and its kin block the thread inside a task group or cancel scope. A cancelled scope or a passed deadline cannot interrupt them, and the thread is taken from the pool for the whole wait. Await the asynchronous form with the scope's token, or CancelScope.SleepAsync.");

    /// <summary>CORRAL0010: a timeout scope whose body has nothing its token or a checkpoint can cut.</summary>
    public static readonly DiagnosticDescriptor UncuttableTimeoutBody = Create(
        "CORRAL0010",
        "A timeout whose body nothing can cut",
        "Nothing in the body of '{0}' observes its token or reaches a checkpoint: the deadline cannot interrupt it, and '{0}' returns only when the body has finished",
        "A timeout cancels its scope's token when the deadline passes; code that never looks at that token, and reaches no Corral checkpoint, runs on to its end. The timeout then bounds nothing: it only decides, afterwards, what the call returns. Pass the body's token to the work it does.");

    /// <summary>CORRAL0011: the task group a body receives escapes the body.</summary>
    public static readonly DiagnosticDescriptor GroupEscapesBody = Create(
        "CORRAL0011",
        "The task group escapes its body",
        "The task group '{0}' escapes its body ({1}): once the body and its children have ended the group is closed, and a Start there throws InvalidOperationException",
        "A task group lives as long as its body and children. Stored in a field, returned, or captured by a callback that runs later (an event handler, a timer, a token registration), it is used after it closed, where Start throws. Start the work from the body or a child while the group is open, or give the long-lived object a group of its own.");

    /// <summary>CORRAL0012: the task that <c>group.StartAsync</c> returns is not awaited.</summary>
    public static readonly DiagnosticDescriptor StartAsyncNotAwaited = Create(
        "CORRAL0012",
        "The task from StartAsync is not awaited",
        "The task from '{0}' is not awaited: until the child calls Started it runs under the caller's scope, which may end first, and its failure before then is lost",
        "StartAsync starts a child and completes when the child signals Started; until then the child runs in the caller's scope, and an exception before Started faults the returned task, not the group. A dropped task leaves the child in a scope that may have ended and loses that exception. Await it.");

    /// <summary>CORRAL0013: a <c>CancelScope</c> or <c>TaskGroup</c> kept in a variable and used after its block ended.</summary>
    public static readonly DiagnosticDescriptor UsedAfterBlockEnded = Create(
        "CORRAL0013",
        "A cancel scope or task group is used after its block ended",
        "'{0}' is used after the block of '{1}' ended: {2}",
        "A cancel scope or task group kept in a variable outlives its block, but most of it does not: Start on a closed group throws, the token of an exited scope is no longer cancelled by its ancestors or its deadline, and a deadline or shield set then has no effect. Reading its state (CancelledCaught, CancelCalled) and Cancel are fine.");

    /// <summary>The <c>RepositoryUrl</c> the assembly was built with, without a trailing slash.</summary>
    /// <exception cref="InvalidOperationException">The assembly carries no such metadata (a build outside this repository's props).</exception>
    private static string ReadRepositoryUrl()
    {
        var url = typeof(Descriptors).Assembly
            .GetCustomAttributes(typeof(AssemblyMetadataAttribute), inherit: false)
            .OfType<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "RepositoryUrl")?.Value;
        if (string.IsNullOrWhiteSpace(url))
        {
            throw new InvalidOperationException("Corral.Analyzers was built without the RepositoryUrl assembly metadata that its help links need.");
        }

        return url!.TrimEnd('/');
    }

    private static DiagnosticDescriptor Create(string id, string title, string message, string description) =>
        new(
            id,
            title,
            message,
            Category,
            DiagnosticSeverity.Warning,
            isEnabledByDefault: true,
            description: description,
            helpLinkUri: HelpLinkBase + id + ".md");
}
