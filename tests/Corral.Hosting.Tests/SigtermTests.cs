using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Reflection;
using System.Text;
using System.Threading.Tasks;
using Xunit;

namespace Corral.Hosting.Tests;

/// <summary>
/// The real thing (issue 16): samples/Corral.GracefulStop run as a child process — the generic host, and Kestrel on 127.0.0.1 —
/// sent a real SIGTERM. Its grace is 2 s and the host's shutdown timeout 30 s: a stop that takes the grace plus a margin, not
/// the host's whole timeout. Every wait is bounded; the child is killed if a test fails.
/// </summary>
public sealed class SigtermTests
{
    /// <summary>Far below the child's 30 s shutdown timeout, far above its 2 s grace on a loaded machine.</summary>
    private static readonly TimeSpan s_stopLimit = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan s_startLimit = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Sigterm_WorkerDrainsWithinTheGrace_ExitsZeroWithNothingCancelled()
    {
        await using var child = await Child.StartAsync("worker", "drain");
        await child.ReadUntilAsync("ready", s_startLimit);

        var took = await child.TerminateAsync();

        Assert.Contains(child.Lines, l => l.StartsWith("drained: ", StringComparison.Ordinal) && l.EndsWith("cancelled=False", StringComparison.Ordinal));
        Assert.DoesNotContain(child.Lines, l => l.Contains("cancelled:", StringComparison.Ordinal));
        Assert.Equal("exited", child.Lines.Last());
        Assert.Equal(0, child.ExitCode);
        Assert.True(took < TimeSpan.FromSeconds(2) + s_stopLimit, $"stopping took {took}");
    }

    [Fact]
    public async Task Sigterm_WorkerIgnoresTheStop_CancelledAtTheGraceWithTheReason()
    {
        await using var child = await Child.StartAsync("worker", "stubborn");
        await child.ReadUntilAsync("ready", s_startLimit);

        var took = await child.TerminateAsync();

        Assert.Contains("worker cancelled: scope 'QueueWorker': stop requested: the host is stopping; grace of 2 s ran out", child.Lines);
        Assert.Equal(0, child.ExitCode);
        Assert.True(took >= TimeSpan.FromSeconds(2), $"cancelled before the grace ran out: {took}");
        Assert.True(took < s_stopLimit, $"stopping took {took}: the host's timeout, not the grace");
    }

    [Fact]
    public async Task Sigterm_WebRequestInFlight_StopRequestThen503AtTheGrace()
    {
        await using var child = await Child.StartAsync("web");
        var listening = await child.ReadUntilAsync("listening ", s_startLimit);
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = s_startLimit };
        var sending = client.GetAsync(new Uri(new Uri(listening["listening ".Length..]), "/report"));
        await child.ReadUntilAsync("request in flight", s_startLimit);

        var took = await child.TerminateAsync(until: sending);

        using var response = await sending;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains(child.Lines, l => l.StartsWith("request asked to stop: scope 'GET /report': stop requested (the server is stopping), grace 2 s", StringComparison.Ordinal));
        Assert.Contains("request cancelled: scope 'GET /report': stop requested: the server is stopping; grace of 2 s ran out", child.Lines);
        Assert.True(
            child.Lines.IndexOf(child.Lines.First(l => l.StartsWith("request asked to stop", StringComparison.Ordinal))) <
            child.Lines.IndexOf(child.Lines.First(l => l.StartsWith("request cancelled", StringComparison.Ordinal))),
            "asked first, cancelled after");
        Assert.Equal(0, child.ExitCode);
        Assert.True(took >= TimeSpan.FromSeconds(2), $"the request was answered before its grace ran out: {took}");
        Assert.True(took < s_stopLimit, $"stopping took {took}: the host's timeout, not the grace");
    }

    /// <summary>The sample, run with <c>dotnet</c>; its standard output kept line by line.</summary>
    private sealed class Child : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _stderr = new();
        private readonly List<string> _lines = new();

        private Child(Process process)
        {
            _process = process;
            _process.ErrorDataReceived += (_, e) =>
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(e.Data);
                }
            };
            _process.BeginErrorReadLine();
        }

        public List<string> Lines => _lines;

        public int ExitCode => _process.ExitCode;

        public static Task<Child> StartAsync(params string[] args)
        {
            var dll = typeof(SigtermTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "GracefulStopDll").Value!;
            var info = new ProcessStartInfo(Environment.ProcessPath is { } host && host.EndsWith("dotnet", StringComparison.Ordinal) ? host : "dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            info.ArgumentList.Add(dll);
            foreach (var arg in args)
            {
                info.ArgumentList.Add(arg);
            }

            info.Environment["DOTNET_ROLL_FORWARD"] = "Major";
            return Task.FromResult(new Child(Process.Start(info) ?? throw new InvalidOperationException("could not start the sample")));
        }

        /// <summary>Reads lines until one starts with <paramref name="prefix"/>; returns it.</summary>
        public async Task<string> ReadUntilAsync(string prefix, TimeSpan limit)
        {
            var giveUp = Stopwatch.StartNew();
            while (true)
            {
                var left = limit - giveUp.Elapsed;
                var line = await _process.StandardOutput.ReadLineAsync().WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero)
                    ?? throw new InvalidOperationException($"the sample ended before printing '{prefix}'; it printed: {string.Join(" | ", _lines)}; stderr: {Stderr}");
                _lines.Add(line);
                if (line.StartsWith(prefix, StringComparison.Ordinal))
                {
                    return line;
                }
            }
        }

        /// <summary>Sends SIGTERM, reads everything the sample prints until it exits, and returns how long that took (until
        /// <paramref name="until"/> completed too, if given: a response the stop produced).</summary>
        public async Task<TimeSpan> TerminateAsync(Task? until = null)
        {
            var clock = Stopwatch.StartNew();
            using (var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!)
            {
                await kill.WaitForExitAsync().WaitAsync(s_stopLimit);
            }

            string? line;
            while ((line = await _process.StandardOutput.ReadLineAsync().WaitAsync(s_stopLimit + TimeSpan.FromSeconds(2))) is not null)
            {
                _lines.Add(line);
            }

            await _process.WaitForExitAsync().WaitAsync(s_stopLimit);
            if (until is not null)
            {
                await until.WaitAsync(s_stopLimit).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            _process.WaitForExit(); // flush the asynchronous stderr reader
            return clock.Elapsed;
        }

        private string Stderr
        {
            get
            {
                lock (_stderr)
                {
                    return _stderr.ToString();
                }
            }
        }

        public ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }

            _process.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
