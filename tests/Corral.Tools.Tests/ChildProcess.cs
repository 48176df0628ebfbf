using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Threading.Tasks;

namespace Corral.Tools.Tests;

/// <summary>A program run with <c>dotnet</c> as a child of the test process; killed (whole tree) on dispose.</summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    private ChildProcess(Process process)
    {
        _process = process;
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        _process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>The TreeDemo sample, as built beside these tests.</summary>
    public static string TreeDemoDll => BuiltPath("TreeDemoDll");

    /// <summary>The services sample, as built beside these tests.</summary>
    public static string ServicesDll => BuiltPath("ServicesDll");

    /// <summary>The TreeDemo's source, whose <c>// @await:NAME</c> marks say where its tasks wait.</summary>
    public static string TreeDemoSource => BuiltPath("TreeDemoSource");

    /// <summary>The corral tool, as built beside these tests.</summary>
    public static string ToolDll => BuiltPath("ToolDll");

    /// <summary>Starts <c>dotnet <paramref name="dll"/> <paramref name="args"/></c> with its standard streams redirected.</summary>
    public static ChildProcess Start(string dll, params string[] args)
    {
        var info = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return new ChildProcess(Process.Start(info) ?? throw new InvalidOperationException($"could not start dotnet {dll}"));
    }

    /// <summary>Starts the TreeDemo and waits until it prints "ready".</summary>
    public static async Task<ChildProcess> StartTreeDemoAsync(params string[] args)
    {
        var child = Start(TreeDemoDll, args);
        try
        {
            var line = await child._process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            if (line != "ready")
            {
                throw new InvalidOperationException($"the demo said '{line}' instead of 'ready'; stderr: {child.StandardError}");
            }

            return child;
        }
        catch
        {
            await child.DisposeAsync();
            throw;
        }
    }

    /// <summary>Reads the next line of the program's standard output, waiting at most <paramref name="limit"/>.</summary>
    public async Task<string?> ReadLineAsync(TimeSpan limit) => await _process.StandardOutput.ReadLineAsync().WaitAsync(limit);

    /// <summary>Ends the program (and its children) at once.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>Reads standard output until a line starts with <paramref name="prefix"/>; returns that line.</summary>
    public async Task<string> ReadLineStartingWithAsync(string prefix, TimeSpan limit)
    {
        var started = TimeProvider.System.GetTimestamp();
        while (true)
        {
            var left = limit - TimeProvider.System.GetElapsedTime(started);
            var line = await _process.StandardOutput.ReadLineAsync().WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero)
                ?? throw new InvalidOperationException($"the program ended before printing '{prefix}'; stderr: {StandardError}");
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line;
            }
        }
    }

    /// <summary>Runs <c>dotnet <paramref name="dll"/> <paramref name="args"/></c> to its end (bounded) and returns what it did.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(TimeSpan limit, string dll, params string[] args)
    {
        await using var child = Start(dll, args);
        child._process.StandardInput.Close();
        var output = child._process.StandardOutput.ReadToEndAsync();
        await child._process.WaitForExitAsync().WaitAsync(limit);
        child._process.WaitForExit(); // flush the asynchronous stderr reader
        return (child._process.ExitCode, await output, child.StandardError);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.Close(); // the demo's cue to wind down and exit
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception e) when (e is TimeoutException or IOException or InvalidOperationException)
        {
            // killed below
        }
        finally
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }
    }

    private static string BuiltPath(string key)
    {
        var path = typeof(ChildProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
        path = Path.GetFullPath(path);
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"{Path.GetFileName(path)} is not built at {path}: build Corral.slnx (or this test project) first.", path);
    }

    /// <summary>The dotnet host running these tests (the SDK sets DOTNET_HOST_PATH), else the one on PATH.</summary>
    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
        {
            return host;
        }

        var current = Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }
}
