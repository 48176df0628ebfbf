// The client side of the protocol served by Corral's EventSource (src/Corral/Diagnostics/CorralEventSource.cs):
// open a short EventPipe session on the target process that enables the provider "Corral", read its events with
// TraceEvent, and stop the session once the answer is in.
//
//   probe:     enable "Corral"                                   -> Hello(processId, corralVersion, protocolVersion)
//   snapshot:  enable "Corral" with command=snapshot;requestId=N -> Hello, then SnapshotChunk(N, i, count, json) for
//                                                                   i = 0 .. count-1 (JSON schema corral.tasktree/2)
//
// WHY EACH ATTEMPT ENDS BY STOPPING THE SESSION. The target writes its whole answer within milliseconds of the enable,
// but TraceEvent does not hand a live session's newest events to its callbacks until some later event arrives
// (dotnet/runtime#76704: events after the runtime's last timestamp are held back so they can be ordered). A quiet
// target writes nothing after its answer, so waiting for the answer in real time would wait for the target's next,
// unrelated event. Stopping a session, though, makes the runtime write everything and end the stream, and TraceEvent
// then delivers all of it. So an attempt listens for a short window (ending early if the answer does arrive in real
// time), stops the session, and reads the stream to its end. A window too short for a large or busy target loses
// nothing but time: the next attempt asks again, with a new request id and twice the window, until the timeout.
//
// Several readers may talk to one process at once; every session sees every session's events, so chunks are matched
// by requestId (a random number per attempt), while a Hello from any session proves the same thing.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;

namespace Corral.Tool;

/// <summary>Reads task trees from other processes through the Corral EventSource.</summary>
/// <remarks>
/// <list type="bullet">
/// <item>Every method is bounded by its timeout (plus the few hundred milliseconds a session takes to stop); cancellation
/// (Ctrl+C) ends it early with <see cref="OperationCanceledException"/>.</item>
/// <item>Failures are <see cref="CorralToolException"/>s whose message is meant for people and whose exit code is one of
/// <see cref="ExitCodes"/>.</item>
/// <item>Safe to use from several threads and against several processes at once.</item>
/// </list>
/// </remarks>
internal static class CorralClient
{
    /// <summary>The EventSource provider name the library registers.</summary>
    public const string ProviderName = "Corral";

    /// <summary>The protocol version this client speaks.</summary>
    public const int ProtocolVersion = 1;

    /// <summary>How long <c>corral tree</c> waits for an answer by default.</summary>
    public static readonly TimeSpan DefaultSnapshotTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long <c>corral ps</c> waits for each process's Hello by default.</summary>
    public static readonly TimeSpan DefaultProbeTimeout = TimeSpan.FromSeconds(3);

    /// <summary>How long the first attempt listens before it stops its session; each further attempt listens twice as long.</summary>
    private static readonly TimeSpan s_firstWindow = TimeSpan.FromMilliseconds(250);

    /// <summary>How long stopping a session and reading the rest of its stream may take.</summary>
    private static readonly TimeSpan s_drainLimit = TimeSpan.FromSeconds(3);

    /// <summary>Reads the live task tree of a process.</summary>
    /// <param name="processId">The target process.</param>
    /// <param name="timeout">How long to wait for the whole answer.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns>The snapshot.</returns>
    /// <exception cref="CorralToolException">No such process, not a .NET process, no answer in time, or an unreadable answer.</exception>
    public static async Task<TaskTreeSnapshot> GetSnapshotAsync(int processId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var json = await GetSnapshotJsonAsync(processId, timeout, cancellationToken).ConfigureAwait(false);
        try
        {
            return TaskTreeSnapshot.FromJson(json);
        }
        catch (FormatException e)
        {
            throw new CorralToolException(ExitCodes.BadAnswer, $"Process {processId} sent a task tree this version of corral cannot read: {e.Message}", e);
        }
    }

    /// <summary>Reads the live task tree of a process as the JSON it was sent in (schema <c>corral.tasktree/2</c>).</summary>
    /// <param name="processId">The target process.</param>
    /// <param name="timeout">How long to wait for the whole answer.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns>The JSON text.</returns>
    /// <exception cref="CorralToolException">No such process, not a .NET process, or no answer in time.</exception>
    public static async Task<string> GetSnapshotJsonAsync(int processId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        SnapshotRequest? last = null;
        var answered = await RetryAsync(
            processId,
            timeout,
            () =>
            {
                var request = new SnapshotRequest(processId, Random.Shared.Next(1, int.MaxValue));
                last = request;
                return request;
            },
            cancellationToken).ConfigureAwait(false);

        if (answered && last?.Json is { } json)
        {
            return json;
        }

        var hello = last?.Hello;
        var seconds = timeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);
        if (hello is not null)
        {
            throw new CorralToolException(
                ExitCodes.NoAnswer,
                $"Process {processId} ({hello.Name}) runs Corral {hello.CorralVersion} but sent no complete task tree within {seconds} s. " +
                "Try again with a longer --timeout.");
        }

        throw new CorralToolException(
            ExitCodes.NoAnswer,
            $"Process {processId} ({DescribeProcess(processId)}) did not answer within {seconds} s: it is a .NET process, but it does not use " +
            "Corral (or has not loaded it yet), or it is too busy to answer. `corral ps` lists the processes that answer.");
    }

    /// <summary>Asks one process whether it runs Corral.</summary>
    /// <param name="processId">The process.</param>
    /// <param name="timeout">How long to wait for its Hello.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns>What it said, or null when it did not answer in time.</returns>
    /// <exception cref="CorralToolException">No such process, or not a .NET process.</exception>
    public static async Task<CorralProcess?> ProbeAsync(int processId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        HelloRequest? last = null;
        var answered = await RetryAsync(
            processId,
            timeout,
            () => last = new HelloRequest(processId),
            cancellationToken).ConfigureAwait(false);
        return answered ? last?.Hello : null;
    }

    /// <summary>Lists the .NET processes on this machine (other than this one) that answer as Corral processes.</summary>
    /// <param name="timeout">How long to wait for each process's Hello; the processes are asked all at once.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns>The Corral processes, by process id.</returns>
    public static async Task<IReadOnlyList<CorralProcess>> ListAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var ids = DiagnosticsClient.GetPublishedProcesses().Where(id => id != Environment.ProcessId).Distinct().Order().ToArray();
        var answers = await Task.WhenAll(ids.Select(async id =>
        {
            try
            {
                return await ProbeAsync(id, timeout, cancellationToken).ConfigureAwait(false);
            }
            catch (CorralToolException)
            {
                return null; // gone meanwhile, or not reachable by this user: not ours to list
            }
        })).ConfigureAwait(false);
        return answers.OfType<CorralProcess>().ToArray();
    }

    /// <summary>A short name for a process: its name, or for <c>dotnet app.dll</c> the app's name; "?" when unknown.</summary>
    internal static string DescribeProcess(int processId)
    {
        string name;
        try
        {
            using var process = Process.GetProcessById(processId);
            name = process.ProcessName;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return "?";
        }

        if (name == "dotnet" && OperatingSystem.IsLinux())
        {
            try
            {
                var app = File.ReadAllText($"/proc/{processId}/cmdline").Split('\0').Skip(1)
                    .FirstOrDefault(a => a.EndsWith(".dll", StringComparison.OrdinalIgnoreCase));
                if (app is not null)
                {
                    return Path.GetFileNameWithoutExtension(app);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // keep "dotnet"
            }
        }

        return name;
    }

    /// <summary>Runs attempts (see the top of this file) until one is answered or the time is up.</summary>
    /// <returns>True when an attempt was answered; the caller reads the answer from the last request made.</returns>
    private static async Task<bool> RetryAsync(int processId, TimeSpan timeout, Func<Request> newRequest, CancellationToken cancellationToken)
    {
        EnsureProcessExists(processId);
        var clock = Stopwatch.StartNew();
        var window = s_firstWindow;
        while (true)
        {
            var remaining = timeout - clock.Elapsed;
            if (remaining <= TimeSpan.Zero)
            {
                return false;
            }

            if (await ListenOnceAsync(processId, newRequest(), remaining, remaining < window ? remaining : window, cancellationToken).ConfigureAwait(false))
            {
                return true;
            }

            window *= 2;
        }
    }

    /// <summary>
    /// One attempt: a session that enables the Corral provider with the request's arguments, listens for at most
    /// <paramref name="window"/> (less if the answer arrives in real time), then stops and reads the stream to its end.
    /// </summary>
    /// <param name="processId">The target.</param>
    /// <param name="request">What to ask, and where the answer goes.</param>
    /// <param name="startLimit">How long opening the session may take (a process that accepts the connection but never
    /// answers it, such as one stopped in a debugger, must not hang the tool).</param>
    /// <param name="window">How long to listen once the session is open.</param>
    /// <param name="cancellationToken">Ctrl+C.</param>
    /// <returns>True when the request was answered.</returns>
    private static async Task<bool> ListenOnceAsync(int processId, Request request, TimeSpan startLimit, TimeSpan window, CancellationToken cancellationToken)
    {
        EventPipeSession session;
        using var starting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        starting.CancelAfter(startLimit);
        try
        {
            // All keywords: over EventPipe, a provider enabled with the keyword mask 0 gets none of these events (tried).
            var provider = new EventPipeProvider(ProviderName, EventLevel.Informational, (long)EventKeywords.All, request.Arguments);
            var start = new DiagnosticsClient(processId)
                .StartEventPipeSessionAsync([provider], requestRundown: false, circularBufferMB: 16, starting.Token);
            try
            {
                session = await start.WaitAsync(starting.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _ = start.ContinueWith(static t => t.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
                throw;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false; // the process did not even open the session in time
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            EnsureProcessExists(processId); // it may have just exited
            throw new CorralToolException(
                ExitCodes.NotReachable,
                $"Cannot reach process {processId} ({DescribeProcess(processId)}) through .NET diagnostics: it is not a .NET process, it runs as " +
                $"another user, or it disabled diagnostics (DOTNET_EnableDiagnostics=0). ({FirstSentence(e.Message)})",
                e);
        }

        var stopped = false;
        try
        {
            var reading = Task.Run(
                () =>
                {
                    using var source = new EventPipeEventSource(session.EventStream);
                    source.Dynamic.All += e =>
                    {
                        if (e.ProviderName == ProviderName)
                        {
                            request.OnEvent(e);
                        }
                    };
                    source.Process();
                },
                CancellationToken.None);

            try
            {
                await Task.WhenAny(request.Answered, reading).WaitAsync(window, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // the usual case on a quiet target: stop the session to have its events delivered
            }
            finally
            {
                stopped = await StopAndDrainAsync(session, reading).ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            return request.Answered.IsCompleted;
        }
        finally
        {
            if (stopped)
            {
                session.Dispose();
            }
            else
            {
                // Disposing a session that did not stop sends the stop again, synchronously: not on this path.
                _ = Task.Run(session.Dispose, CancellationToken.None);
            }
        }
    }

    /// <summary>Stops a session and reads its stream to the end; the target may have exited meanwhile, which is no error here.</summary>
    /// <returns>True when the session stopped within the limit.</returns>
    private static async Task<bool> StopAndDrainAsync(EventPipeSession session, Task reading)
    {
        using var limit = new CancellationTokenSource(s_drainLimit);
        var stopped = false;
        try
        {
            await session.StopAsync(limit.Token).ConfigureAwait(false);
            stopped = true;
            await reading.WaitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The process exited, the stream broke, or stopping took too long: the answer (or its absence) is known.
        }

        return stopped;
    }

    private static void EnsureProcessExists(int processId)
    {
        try
        {
            using var process = Process.GetProcessById(processId);
            if (!process.HasExited)
            {
                return;
            }
        }
        catch (ArgumentException)
        {
        }
        catch (InvalidOperationException)
        {
        }

        throw new CorralToolException(ExitCodes.NotReachable, $"There is no process with id {processId}.");
    }

    private static string FirstSentence(string text) => text.IndexOf(". ", StringComparison.Ordinal) is var end and > 0 ? text[..(end + 1)] : text;

    private static CorralProcess ReadHello(int processId, TraceEvent e) => new(
        processId,
        DescribeProcess(processId),
        (string?)e.PayloadByName("corralVersion") ?? "?",
        Convert.ToInt32(e.PayloadByName("protocolVersion"), CultureInfo.InvariantCulture));

    /// <summary>What one attempt asks for, and what it has received. Events arrive on one reader thread.</summary>
    private abstract class Request
    {
        private readonly TaskCompletionSource _answered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private CorralProcess? _hello;

        protected Request(int processId) => ProcessId = processId;

        public int ProcessId { get; }

        public virtual IDictionary<string, string>? Arguments => null;

        /// <summary>Gets a task that completes when the answer is whole.</summary>
        public Task Answered => _answered.Task;

        /// <summary>Gets the Hello received, if any.</summary>
        public CorralProcess? Hello => Volatile.Read(ref _hello);

        public void OnEvent(TraceEvent e)
        {
            if (e.EventName == "Hello")
            {
                Volatile.Write(ref _hello, ReadHello(ProcessId, e));
            }

            if (!_answered.Task.IsCompleted && Handle(e))
            {
                _answered.TrySetResult();
            }
        }

        /// <summary>Takes in one Corral event; returns true once the answer is whole.</summary>
        protected abstract bool Handle(TraceEvent e);
    }

    /// <summary>Is anybody there? Answered by any Hello.</summary>
    private sealed class HelloRequest(int processId) : Request(processId)
    {
        protected override bool Handle(TraceEvent e) => Hello is not null;
    }

    /// <summary>A snapshot, answered by every chunk of this request.</summary>
    private sealed class SnapshotRequest(int processId, int requestId) : Request(processId)
    {
        private string?[]? _chunks;
        private int _received;
        private string? _json;

        public override IDictionary<string, string>? Arguments { get; } = new Dictionary<string, string>
        {
            ["command"] = "snapshot",
            ["requestId"] = requestId.ToString(CultureInfo.InvariantCulture),
        };

        /// <summary>Gets the whole JSON once every chunk arrived.</summary>
        public string? Json => Volatile.Read(ref _json);

        protected override bool Handle(TraceEvent e)
        {
            if (e.EventName != "SnapshotChunk" || Convert.ToInt32(e.PayloadByName("requestId"), CultureInfo.InvariantCulture) != requestId)
            {
                return false;
            }

            var index = Convert.ToInt32(e.PayloadByName("index"), CultureInfo.InvariantCulture);
            var count = Convert.ToInt32(e.PayloadByName("count"), CultureInfo.InvariantCulture);
            _chunks ??= count > 0 ? new string?[count] : null;
            if (_chunks is null || _chunks.Length != count || index < 0 || index >= count || _chunks[index] is not null)
            {
                return false; // not a piece of a well-formed answer: ignore it, and let the attempt fail if nothing better comes
            }

            _chunks[index] = (string?)e.PayloadByName("json") ?? string.Empty;
            if (++_received < count)
            {
                return false;
            }

            Volatile.Write(ref _json, string.Concat(_chunks));
            return true;
        }
    }
}
