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
        "Catching OperationCanceledException without rethrowing it turns a cancelled operation into one that completed: a loop spins on, a task group cannot tell a cancelled child from a finished one. Rethrow it, or narrow the catch with a 'when' filter to a cancellation that is not the caller's. Not reported: a catch that rethrows, throws another exception or keeps the exception for later; a filter that reads the caller's token, tests only other conditions, or cannot be read; a try block that uses no caller's token; a catch inside finally.");

    /// <summary>CORRAL0002: a catch-all in async code that swallows cancellation.</summary>
    public static readonly DiagnosticDescriptor CatchAllSwallowsCancellation = Create(
        "CORRAL0002",
        "A catch-all clause swallows cancellation",
        "'{0}' also catches OperationCanceledException and does not rethrow it: cancellation is swallowed",
        "OperationCanceledException derives from Exception, so 'catch (Exception)' and a bare 'catch' in async code swallow cancellation. Let cancellation through with 'when (e is not OperationCanceledException)' or catch and rethrow it first. Not reported: a block that throws or keeps the exception for later; an earlier clause that catches OperationCanceledException; a filter that excludes cancellation, reads the caller's token, or cannot be read; a try block that does not await or that no caller's cancellation can reach; a catch inside finally.");

    /// <summary>CORRAL0003: <c>yield return</c> inside a scope entered in an async iterator.</summary>
    public static readonly DiagnosticDescriptor YieldInsideScope = Create(
        "CORRAL0003",
        "'yield return' inside a cancellation scope in an async iterator",
        "'yield return' inside the scope of '{0}': the consumer's code runs while the scope is open, and its timeout and cancellation apply to code that does not belong to it",
        "An async iterator suspends at every 'yield return' and the consumer runs its loop body before the iterator resumes. A CancellationTokenSource or Corral scope entered around the yield therefore times out or cancels the consumer's work, and ambient state set in the iterator does not survive the yield. Produce the items from a task group child into a channel and consume them outside the scope. Not reported: a 'yield return' after the scope has ended, a 'using' of any other disposable, synchronous iterators.");

    /// <summary>CORRAL0004: fire-and-forget inside a task group or scope body.</summary>
    public static readonly DiagnosticDescriptor FireAndForgetInScope = Create(
        "CORRAL0004",
        "Fire-and-forget task inside a task group or scope",
        "The task from '{0}' is neither awaited nor started in the group: it outlives the scope it was started in",
        "A task started and dropped inside a Corral body is not part of the structure: the scope does not wait for it, does not cancel it, and its exception is lost. Start it with group.Start, or await it. Not reported: awaited tasks, tasks kept in a variable, the group's own Start methods, and tasks already complete (Task.FromResult, Task.CompletedTask).");

    /// <summary>CORRAL0005: <c>CancellationToken.None</c> or <c>default</c> passed where the scope's token is in reach.</summary>
    public static readonly DiagnosticDescriptor TokenNotPassed = Create(
        "CORRAL0005",
        "The scope's cancellation token is not passed",
        "'{0}' is passed while the scope's token '{1}' is in reach: this call cannot be cancelled by the scope",
        "A call that receives CancellationToken.None or default inside a Corral body cannot be cancelled by the scope or its deadline, so the scope cannot finish on time. Pass the scope's token. Not reported: arguments in finally and catch blocks (cleanup given no token on purpose; CORRAL0006 covers those), and the scheduling token of Task.Run, TaskFactory.StartNew and ContinueWith.");

    /// <summary>CORRAL0006: cleanup that awaits with a token that is already cancelled.</summary>
    public static readonly DiagnosticDescriptor CleanupWithCancelledToken = Create(
        "CORRAL0006",
        "Cleanup awaits with a token that may already be cancelled",
        "Cleanup in '{0}' awaits with '{1}', which is cancelled when this code runs because of cancellation: the cleanup is cut short. Run it in CancelScope.ShieldAsync with a timeout.",
        "Code in a finally block, or in a catch of OperationCanceledException, often runs because the token was cancelled. Awaiting with that token makes the cleanup throw at once. Use CancelScope.ShieldAsync(ct => ..., timeout) to give the cleanup a bounded time of its own. Not reported: the token of a lambda written inside the cleanup, an await guarded by a test of IsCancellationRequested or inside a nested try that catches its failure, a catch of other exceptions or whose filter says the token is not cancelled.");

    /// <summary>CORRAL0007: a timeout detected by catching cancellation around <c>CancelAfter</c>.</summary>
    public static readonly DiagnosticDescriptor TimeoutFromCancellation = Create(
        "CORRAL0007",
        "Timeout detected by catching OperationCanceledException",
        "The catch of '{0}' cannot tell the timeout of '{1}' from the caller's cancellation: use CancelScope.FailAfterAsync or CancelScope.MoveOnAfterAsync",
        "A linked CancellationTokenSource with CancelAfter raises the same exception on a timeout and on an external cancel, so this catch treats the caller's cancellation as a timeout (or the reverse). CancelScope.FailAfterAsync throws TimeoutException only for its own deadline, and MoveOnAfterAsync reports whether the body was cut off. Not reported: a filter on the caller's token, a filter on an unlinked timeout source combined with the caller's token, a filter the analyzer cannot read, a catch that rethrows, and a timeout source that is neither linked nor used beside the caller's token.");

    /// <summary>CORRAL0008: a call inside a Corral body that could take the scope's token and is not given it.</summary>
    public static readonly DiagnosticDescriptor TokenNotForwarded = Create(
        "CORRAL0008",
        "The scope's cancellation token is not forwarded",
        "'{0}' can take a CancellationToken and is not given one while the scope's token '{1}' is in reach: this call cannot be cancelled by the scope",
        "A call that has a CancellationToken parameter or overload, made inside a Corral body without a token, cannot be cancelled by the scope or its deadline. Forward the scope's token. Not reported: Corral's own methods, calls in a lambda nested in the body or in finally and catch blocks, synchronous waits (CORRAL0009), the scheduling token of Task.Run, StartNew and ContinueWith, and bodies that discard their token.");

    /// <summary>CORRAL0009: a wait inside a Corral body that blocks the thread, which no scope can cut.</summary>
    public static readonly DiagnosticDescriptor BlockingWaitInBody = Create(
        "CORRAL0009",
        "A blocking wait inside a Corral body",
        "'{0}' blocks the thread, and no scope can cut it: the scope's cancellation and deadline wait until it returns",
        "Thread.Sleep, Task.Wait, .Result, GetAwaiter().GetResult() and the token-less waits of SemaphoreSlim and its kin block the thread inside a task group or cancel scope. A cancelled scope or a passed deadline cannot interrupt them, and the thread is taken from the pool for the whole wait. Await the asynchronous form with the scope's token, or CancelScope.SleepAsync. Not reported: a wait given a token, code in a lambda nested in the body, and a wait on a task already known to be complete (awaited before, checked with IsCompleted, Task.FromResult).");

    /// <summary>CORRAL0010: a timeout scope whose body has nothing its token or a checkpoint can cut.</summary>
    public static readonly DiagnosticDescriptor UncuttableTimeoutBody = Create(
        "CORRAL0010",
        "A timeout whose body nothing can cut",
        "Nothing in the body of '{0}' observes its token or reaches a checkpoint: the deadline cannot interrupt it, and '{0}' returns only when the body has finished",
        "A timeout cancels its scope's token when the deadline passes; code that never looks at that token, and reaches no Corral checkpoint, runs on to its end. The timeout then bounds nothing: it only decides, afterwards, what the call returns. Pass the body's token to the work it does. Not reported: a body that reads its token or scope, calls anything of Corral's or anything that might reach a checkpoint, or does nothing that takes time; scopes without a deadline; a call that leaves the token out or passes None (CORRAL0008, CORRAL0005).");

    /// <summary>CORRAL0011: the task group a body receives escapes the body.</summary>
    public static readonly DiagnosticDescriptor GroupEscapesBody = Create(
        "CORRAL0011",
        "The task group escapes its body",
        "The task group '{0}' escapes its body ({1}): once the body and its children have ended the group is closed, and a Start there throws InvalidOperationException",
        "A task group lives as long as its body and children. Stored in a field, returned, or captured by a callback that runs later (an event handler, a timer, a token registration), it is used after it closed, where Start throws. Start the work from the body or a child while the group is open, or give the long-lived object a group of its own. Not reported: passing the group to a method, a field only cancelled, read or passed on, a callback that only cancels the group, lambdas that run at once, and a group kept in a local of the enclosing method (CORRAL0013).");

    /// <summary>CORRAL0012: the task that <c>group.StartAsync</c> returns is not awaited.</summary>
    public static readonly DiagnosticDescriptor StartAsyncNotAwaited = Create(
        "CORRAL0012",
        "The task from StartAsync is not awaited",
        "The task from '{0}' is not awaited: until the child calls Started it runs under the caller's scope, which may end first, and its failure before then is lost",
        "StartAsync starts a child and completes when the child signals Started; until then the child runs in the caller's scope, and an exception before Started faults the returned task, not the group. A dropped task leaves the child in a scope that may have ended and loses that exception. Await it. Not reported: an awaited, returned or passed-on task, a local that is read later, and Start, whose children belong to the group from the first instant.");

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
