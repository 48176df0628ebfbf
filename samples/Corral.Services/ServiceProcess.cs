using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace Corral.Services;

/// <summary>One service run as a child process of the driver: its output relayed with a prefix, its lines kept to wait on.</summary>
internal sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly Task _relay;

    private ServiceProcess(string role, Process process)
    {
        Role = role;
        _process = process;
        _relay = Task.Run(RelayAsync);
    }

    public string Role { get; }

    public int Id => _process.Id;

    /// <summary>The address the service listens on, from its <c>ready URL</c> line.</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>Starts this program again with <c>--role</c> and waits until the service listens.</summary>
    public static async Task<ServiceProcess> StartAsync(string role, params string[] args)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };

        // Under `dotnet Corral.Services.dll` the process is dotnet itself: pass the assembly first.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
        {
            info.ArgumentList.Add(typeof(ServiceProcess).Assembly.Location);
        }

        info.ArgumentList.Add("--role");
        info.ArgumentList.Add(role);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var service = new ServiceProcess(role, Process.Start(info) ?? throw new InvalidOperationException($"could not start {role}"));
        var ready = await service.WaitForLineAsync(l => l.StartsWith("ready ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        service.Address = new Uri(ready["ready ".Length..].Split(' ')[0]);
        return service;
    }

    /// <summary>Waits for an output line that matches (lines already seen count too); throws after <paramref name="limit"/>.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan limit)
    {
        var giveUp = DateTime.UtcNow + limit;
        while (true)
        {
            if (_lines.FirstOrDefault(match) is { } line)
            {
                return line;
            }

            if (DateTime.UtcNow > giveUp || _process.HasExited)
            {
                throw new TimeoutException($"{Role} (PID {Id}) did not print the line awaited within {limit.TotalSeconds:F0} s");
            }

            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close(); // the service stops when its input closes
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _relay;
        _process.Dispose();
    }

    private async Task RelayAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            _lines.Enqueue(line);
            Console.WriteLine($"  [{Role} {Id}] {line}");
        }
    }
}
