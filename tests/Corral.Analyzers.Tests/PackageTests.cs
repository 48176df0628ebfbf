using System;
using System.Diagnostics;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using Corral.Analyzers.Tests.Infrastructure;
using Xunit;

namespace Corral.Analyzers.Tests;

/// <summary>
/// The package test: pack the Corral nupkg, check the analyzers sit under <c>analyzers/dotnet/cs</c>, restore it
/// into a throwaway project full of cancellation bugs, and check that <c>dotnet build</c> reports them.
/// </summary>
/// <remarks>
/// It skips, rather than fails, when it cannot run: <c>CORRAL_SKIP_PACK_TEST=1</c>, a Corral project that does
/// not pack the analyzers yet, a library that does not pack (mid-edit), or a restore that cannot reach the
/// packages the throwaway project needs. A build that runs and does not report the rules fails it.
/// </remarks>
public class PackageTests
{
    private static readonly TimeSpan s_commandLimit = TimeSpan.FromMinutes(8);

    private const string BuggyProgram = """
        using System;
        using System.Threading;
        using System.Threading.Tasks;
        using Corral;

        public static class Program
        {
            public static async Task Main()
            {
                using var cts = new CancellationTokenSource();
                await PollAsync(cts.Token);
                await TaskGroup.RunAsync(async group =>
                {
                    _ = Task.Delay(10);
                    group.Start(ct => Task.Delay(10, CancellationToken.None));
                    group.StartAsync(async (started, ct) => { started.Started(); await Task.Delay(10, ct); });
                    Thread.Sleep(10);
                    await Task.Yield();
                });
            }

            private static async Task PollAsync(CancellationToken ct)
            {
                try
                {
                    await Task.Delay(1, ct);
                }
                catch (OperationCanceledException)
                {
                }

                try
                {
                    await Task.Delay(1, ct);
                }
                catch (Exception)
                {
                }
            }
        }
        """;

    [SkippableFact]
    public void Package_ThrowawayProjectWithBugs_BuildReportsRules()
    {
        Skip.If(Environment.GetEnvironmentVariable("CORRAL_SKIP_PACK_TEST") == "1", "CORRAL_SKIP_PACK_TEST=1");
        var corralProject = RepoPaths.Combine("src/Corral/Corral.csproj");
        Skip.IfNot(
            File.Exists(corralProject) && File.ReadAllText(corralProject).Contains("analyzers/dotnet/cs", StringComparison.Ordinal),
            "src/Corral/Corral.csproj does not pack the analyzers into analyzers/dotnet/cs");

        var work = Directory.CreateTempSubdirectory("corral-pack-").FullName;
        var version = $"0.0.0-packtest.{Environment.ProcessId}.{Stopwatch.GetTimestamp()}";

        // The help links come from the RepositoryUrl property given at pack time: a value set on the command line must
        // reach the rules a user's build reports.
        const string RepositoryUrl = "https://example.org/corral-packtest/repo";
        try
        {
            var feed = Path.Combine(work, "feed");
            var pack = Run(
                RepoPaths.Root,
                "pack", corralProject, "-c", "Release", "-o", feed, "-nologo",
                $"-p:PackageVersion={version}", $"-p:RepositoryUrl={RepositoryUrl}");
            Skip.If(pack.ExitCode != 0, "could not pack Corral (the library may be mid-edit):\n" + Tail(pack.Output));

            using (var package = ZipFile.OpenRead(Path.Combine(feed, $"Corral.{version}.nupkg")))
            {
                var entries = package.Entries.Select(e => e.FullName).ToList();
                Assert.Contains("analyzers/dotnet/cs/Corral.Analyzers.dll", entries);
                Assert.Contains("analyzers/dotnet/cs/Corral.Analyzers.CodeFixes.dll", entries);
            }

            var app = Path.Combine(work, "app");
            Directory.CreateDirectory(app);
            File.WriteAllText(Path.Combine(work, "Directory.Build.props"), "<Project />\n");
            File.WriteAllText(Path.Combine(work, "Directory.Packages.props"), "<Project />\n");
            File.WriteAllText(Path.Combine(app, "NuGet.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <add key="corral-packtest" value="{feed}" />
                  </packageSources>
                </configuration>
                """);
            File.WriteAllText(Path.Combine(app, "App.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>disable</ImplicitUsings>
                    <TreatWarningsAsErrors>false</TreatWarningsAsErrors>
                    <ErrorLog>build.sarif,version=2.1</ErrorLog>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="Corral" Version="{version}" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(app, "Program.cs"), BuggyProgram);

            var restore = Run(app, "restore", "-nologo");
            Skip.If(restore.ExitCode != 0, "could not restore the throwaway project:\n" + Tail(restore.Output));

            var build = Run(app, "build", "--no-restore", "-nologo");
            Assert.True(build.ExitCode == 0, "the throwaway project did not build:\n" + Tail(build.Output));
            foreach (var id in new[] { "CORRAL0001", "CORRAL0002", "CORRAL0004", "CORRAL0005", "CORRAL0009", "CORRAL0012" })
            {
                Assert.True(build.Output.Contains($"warning {id}", StringComparison.Ordinal), $"the build did not report {id}:\n" + Tail(build.Output));
            }

            // The compiler's SARIF log carries each rule's help link as the user's IDE and CI see it.
            var sarif = File.ReadAllText(Path.Combine(app, "build.sarif"));
            Assert.Contains($"\"helpUri\": \"{RepositoryUrl}/blob/main/docs/analyzers/CORRAL0001.md\"", sarif, StringComparison.Ordinal);
            Assert.DoesNotContain("github.com/corral-dotnet", sarif, StringComparison.Ordinal);
        }
        finally
        {
            TryDelete(work);
            var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            TryDelete(Path.Combine(cache, "corral", version));
        }
    }

    private static (int ExitCode, string Output) Run(string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The test host's MSBuild settings must not leak into the child builds.
        foreach (var name in new[] { "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildExtensionsPath", "MSBuildLoadMicrosoftTargetsReadOnly" })
        {
            start.Environment.Remove(name);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(s_commandLimit))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"dotnet {string.Join(' ', arguments)} did not finish within {s_commandLimit}\n{output}");
        }

        process.WaitForExit();
        lock (output)
        {
            return (process.ExitCode, output.ToString());
        }
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.Append(line).Append('\n');
        }
    }

    private static string Tail(string output)
    {
        var lines = output.Split('\n');
        return string.Join('\n', lines.Skip(Math.Max(0, lines.Length - 40)));
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
