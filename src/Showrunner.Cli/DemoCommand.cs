using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Showrunner.Cli;

/// <summary>What <c>demo</c> was asked.</summary>
internal sealed record DemoOptions(string DataDirectory, int Port, int Players, int ActionsPerSecond, long Seed, bool Rollout, string? ServerDll);

/// <summary>
/// <c>showrunner demo</c>: starts the real server (a child process, <c>dotnet Showrunner.Server.dll</c>)
/// on a local data directory in demo mode — a live copy of the example release, a canary rollout,
/// and a seeded player simulator sending through the real ingest API — waits until it is ready,
/// and prints where the dashboard is and where the admin key is. Ctrl+C (or SIGTERM) stops the
/// server cleanly and waits for it (docs/cli.md, "demo").
/// </summary>
/// <remarks>
/// The server is told to stop when its standard input closes, and this command holds that pipe: the
/// server never outlives the command, even if the command itself is killed. The server's own output
/// (its log, and the admin key it prints once on a new data directory) goes to this terminal.
/// Exit codes: 0 stopped on request, 1 the server failed or exited by itself, 2 bad options or no server build.
/// </remarks>
internal sealed class DemoCommand(TextWriter output, TextWriter errors)
{
    public const string DefaultDataDirectory = "demo-data";
    public const int DefaultPort = 5080;
    public const int DefaultPlayers = 5_000;
    public const int DefaultActionsPerSecond = 1_000;
    public const string ServerDllVariable = "SHOWRUNNER_SERVER_DLL";
    /// <summary>How long the server may take to stop (final snapshots) before it is killed.</summary>
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);

    public static Command Build(TextWriter output, TextWriter errors)
    {
        var data = new Option<string>("--data") { Description = "The data directory (created on first use).", DefaultValueFactory = _ => DefaultDataDirectory };
        var port = new Option<int>("--port") { Description = "The loopback port the server listens on.", DefaultValueFactory = _ => DefaultPort };
        var players = new Option<int>("--players") { Description = "Simulated players (10 to 1,000,000).", DefaultValueFactory = _ => DefaultPlayers };
        var rate = new Option<int>("--rate") { Description = "Most actions per second the simulator sends (1 to 20,000).", DefaultValueFactory = _ => DefaultActionsPerSecond };
        var seed = new Option<long>("--seed") { Description = "Seed of the simulated players and their actions.", DefaultValueFactory = _ => 1 };
        var noRollout = new Option<bool>("--no-rollout") { Description = "Do not start the demo's canary rollout." };
        var serverDll = new Option<string?>("--server-dll")
        {
            Description = $"The server build to run (default: ${ServerDllVariable}, else the build of src/Showrunner.Server in this repository).",
        };
        var command = new Command("demo", "Run the server with a live example event and thousands of simulated players; open the dashboard it prints.")
            { data, port, players, rate, seed, noRollout, serverDll };
        var demo = new DemoCommand(output, errors);
        command.SetAction((result, token) => demo.RunAsync(new DemoOptions(result.GetValue(data)!, result.GetValue(port), result.GetValue(players),
            result.GetValue(rate), result.GetValue(seed), !result.GetValue(noRollout), result.GetValue(serverDll)), token));
        return command;
    }

    public async Task<int> RunAsync(DemoOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Check(options))
        {
            return ExitCodes.Usage;
        }
        string? dll = LocateServer(options.ServerDll);
        if (dll is null)
        {
            return ExitCodes.Usage;
        }
        string data = Path.GetFullPath(options.DataDirectory);
        var url = new Uri($"http://127.0.0.1:{options.Port.ToString(CultureInfo.InvariantCulture)}");
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardInput = true };
        foreach (string argument in new[]
        {
            dll, "--urls", url.ToString().TrimEnd('/'), "--data", data,
            "--Showrunner:Demo:Enabled=true",
            "--Showrunner:Demo:StopOnStdinClose=true",
            "--Showrunner:Demo:Players=" + options.Players.ToString(CultureInfo.InvariantCulture),
            "--Showrunner:Demo:ActionsPerSecond=" + options.ActionsPerSecond.ToString(CultureInfo.InvariantCulture),
            "--Showrunner:Demo:Seed=" + options.Seed.ToString(CultureInfo.InvariantCulture),
            "--Showrunner:Demo:Rollout=" + (options.Rollout ? "true" : "false"),
        })
        {
            info.ArgumentList.Add(argument);
        }
        // The server's own log, without a line per request (the simulator sends several a second), unless the caller chose levels.
        if (Environment.GetEnvironmentVariable("Logging__LogLevel__Default") is null)
        {
            info.Environment["Logging__LogLevel__Default"] = "Warning";
            info.Environment["Logging__LogLevel__Showrunner"] = "Information";
        }
        output.WriteLine($"Starting the Showrunner server in demo mode ({dll}), data in {data} …");
        output.Flush();
        using var server = Process.Start(info);
        if (server is null)
        {
            errors.WriteLine("error: demo_start_failed: 'dotnet' could not be started.");
            return ExitCodes.Problems;
        }
        try
        {
            if (!await WaitReadyAsync(server, url, cancellationToken).ConfigureAwait(false))
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    await StopAsync(server).ConfigureAwait(false);
                    return ExitCodes.Ok;
                }
                errors.WriteLine(server.HasExited
                    ? $"error: demo_server_exited: the server exited with code {server.ExitCode} before it was ready (see its output above; is port {options.Port} in use?)."
                    : $"error: demo_server_not_ready: the server was not ready within {ReadyTimeout.TotalSeconds} s.");
                await StopAsync(server).ConfigureAwait(false);
                return ExitCodes.Problems;
            }
            output.WriteLine();
            output.WriteLine("Showrunner demo is running.");
            output.WriteLine($"  Dashboard:  {url}dashboard");
            output.WriteLine($"  Admin key:  {Path.Combine(data, "admin.key")}  (paste its contents into the dashboard's sign-in)");
            output.WriteLine($"  Simulating {options.Players.ToString("N0", CultureInfo.InvariantCulture)} players at up to " +
                $"{options.ActionsPerSecond.ToString("N0", CultureInfo.InvariantCulture)} actions/s (seed {options.Seed.ToString(CultureInfo.InvariantCulture)}).");
            output.WriteLine("  Press Ctrl+C to stop.");
            output.WriteLine();
            output.Flush();
            try
            {
                await server.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                output.WriteLine("Stopping the demo server …");
                output.Flush();
                bool clean = await StopAsync(server).ConfigureAwait(false);
                output.WriteLine(clean
                    ? $"Demo stopped (the server exited with code {server.ExitCode.ToString(CultureInfo.InvariantCulture)})."
                    : $"Demo stopped: the server did not stop within {StopTimeout.TotalSeconds} s and was killed.");
                return clean ? ExitCodes.Ok : ExitCodes.Problems;
            }
            errors.WriteLine($"error: demo_server_exited: the server exited with code {server.ExitCode} (see its output above).");
            return ExitCodes.Problems;
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
            }
        }
    }

    private bool Check(DemoOptions options)
    {
        var problems = new List<string>();
        if (options.Port is < 1 or > 65_535)
        {
            problems.Add($"--port {options.Port}: must be from 1 to 65535.");
        }
        if (options.Players is < 10 or > 1_000_000)
        {
            problems.Add($"--players {options.Players}: must be from 10 to 1000000.");
        }
        if (options.ActionsPerSecond is < 1 or > 20_000)
        {
            problems.Add($"--rate {options.ActionsPerSecond}: must be from 1 to 20000.");
        }
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            problems.Add("--data: give a directory.");
        }
        foreach (string problem in problems)
        {
            errors.WriteLine("error: demo_option_invalid: " + problem);
        }
        return problems.Count == 0;
    }

    /// <summary>The server build: the option, the variable, then the repository's build of src/Showrunner.Server next to this command's build.</summary>
    private string? LocateServer(string? given)
    {
        string? path = given ?? (Environment.GetEnvironmentVariable(ServerDllVariable) is { Length: > 0 } variable ? variable : null);
        if (path is not null)
        {
            if (File.Exists(path))
            {
                return Path.GetFullPath(path);
            }
            errors.WriteLine($"error: demo_server_missing: '{path}' does not exist.");
            return null;
        }
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
            ? "Release" : "Debug";
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (!File.Exists(Path.Combine(directory.FullName, "Showrunner.slnx")))
            {
                continue;
            }
            foreach (string candidate in new[] { configuration, configuration == "Release" ? "Debug" : "Release" })
            {
                string dll = Path.Combine(directory.FullName, "src", "Showrunner.Server", "bin", candidate, "net10.0", "Showrunner.Server.dll");
                if (File.Exists(dll))
                {
                    return dll;
                }
            }
            errors.WriteLine($"error: demo_server_missing: the server is not built; run 'dotnet build src/Showrunner.Server' in {directory.FullName}, " +
                $"or pass --server-dll (or ${ServerDllVariable}).");
            return null;
        }
        errors.WriteLine($"error: demo_server_missing: no server build found; pass --server-dll PATH/Showrunner.Server.dll (or set ${ServerDllVariable}).");
        return null;
    }

    private static async Task<bool> WaitReadyAsync(Process server, Uri url, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(2) };
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < ReadyTimeout && !cancellationToken.IsCancellationRequested && !server.HasExited)
        {
            try
            {
                using var response = await client.GetAsync(new Uri("/readyz", UriKind.Relative), cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Slow to answer while it starts.
            }
            catch (OperationCanceledException)
            {
                return false;
            }
            try
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
        return false;
    }

    /// <summary>Closes the server's standard input (it stops cleanly: drains, snapshots) and waits; kills it after <see cref="StopTimeout"/> (then false).</summary>
    private static async Task<bool> StopAsync(Process server)
    {
        if (server.HasExited)
        {
            return true;
        }
        try
        {
            server.StandardInput.Close();
        }
        catch (IOException)
        {
            // Already gone.
        }
        using var timeout = new CancellationTokenSource(StopTimeout);
        try
        {
            await server.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            return false;
        }
    }
}
