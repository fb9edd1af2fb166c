using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Showrunner.Testing;

/// <summary>
/// Runs the real Showrunner server as a child process on a loopback port, for crash tests and
/// benchmarks: start, wait until ready, kill with SIGKILL, restart on the same data directory.
/// Shared as a linked source file by the fault tests and the benchmark.
/// </summary>
/// <remarks>
/// Clients from <see cref="CreateClient"/> send the admin key the server wrote to
/// <c>&lt;data&gt;/admin.key</c> on its first start. That key carries the load of the crash tests and
/// benchmarks, so its rate limit is raised out of the way unless the arguments set rate limits
/// themselves: they measure the server, not the limiter (which has tests of its own).
/// </remarks>
internal sealed class ServerProcess : IDisposable
{
    private readonly string _serverDll;
    private readonly string[] _extraArguments;
    private Process? _process;
    private readonly List<string> _output = [];

    public ServerProcess(string serverDll, string dataDirectory, int port, params string[] extraArguments)
    {
        _serverDll = serverDll;
        DataDirectory = dataDirectory;
        Port = port;
        _extraArguments = extraArguments;
    }

    public string DataDirectory { get; }
    public int Port { get; }

    /// <summary>Environment variables for the server process (set before <see cref="Start"/>), e.g. OTEL_* settings.</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);
    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");
    public int? ProcessId => _process is { HasExited: false } ? _process.Id : null;

    /// <summary>The admin key the server created on its first start on this data directory.</summary>
    public string AdminKey => File.ReadAllText(Path.Combine(DataDirectory, "admin.key")).Trim();

    /// <summary>A client of this server that sends <paramref name="credential"/> (by default the admin key) as its Bearer credential.</summary>
    public HttpClient CreateClient(TimeSpan? timeout = null, HttpMessageHandler? handler = null, string? credential = null)
    {
        var client = handler is null ? new HttpClient() : new HttpClient(handler);
        client.BaseAddress = BaseAddress;
        if (timeout is { } value)
        {
            client.Timeout = value;
        }
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", credential ?? AdminKey);
        return client;
    }

    /// <summary>Every line the server printed since it was started (bounded), e.g. to find the admin key line.</summary>
    public IReadOnlyList<string> OutputLines
    {
        get
        {
            lock (_output)
            {
                return [.. _output];
            }
        }
    }

    /// <summary>The last lines the server printed (for failure messages).</summary>
    public string RecentOutput
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output.TakeLast(40));
            }
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The server build that matches the running test build (Debug or Release).</summary>
    public static string LocateServerDll() => LocateServerDll(
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug");

    /// <summary>The repository root: the first directory above the running build that holds Showrunner.slnx.</summary>
    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Showrunner.slnx")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (Showrunner.slnx) above " + AppContext.BaseDirectory);
    }

    /// <summary>Finds the server's build output next to the repository's source tree.</summary>
    public static string LocateServerDll(string configuration)
    {
        string dll = Path.Combine(RepositoryRoot(), "src", "Showrunner.Server", "bin", configuration, "net10.0", "Showrunner.Server.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"The server is not built: {dll} is missing (run dotnet build -c {configuration}).");
        }
        return dll;
    }

    public void Start()
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(_serverDll);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add(BaseAddress.ToString().TrimEnd('/'));
        info.ArgumentList.Add("--data");
        info.ArgumentList.Add(DataDirectory);
        foreach (string argument in _extraArguments)
        {
            info.ArgumentList.Add(argument);
        }
        if (!_extraArguments.Any(a => a.Contains("RateLimits", StringComparison.OrdinalIgnoreCase)))
        {
            info.ArgumentList.Add("--Showrunner:RateLimits:OperatorPerSecond=1000000");
            info.ArgumentList.Add("--Showrunner:RateLimits:OperatorBurst=1000000");
        }
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        info.Environment["Logging__LogLevel__Showrunner"] = "Information";
        foreach (var (name, value) in Environment)
        {
            info.Environment[name] = value;
        }
        lock (_output)
        {
            _output.Clear();
        }
        _process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start.");
        _process.OutputDataReceived += (_, e) => Remember(e.Data);
        _process.ErrorDataReceived += (_, e) => Remember(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.Add(line);
            if (_output.Count > 400)
            {
                _output.RemoveRange(0, 200);
            }
        }
    }

    /// <summary>Polls /readyz until it answers 200, or throws with the server's output after <paramref name="timeout"/>.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (_process is null || _process.HasExited)
            {
                throw new InvalidOperationException($"The server exited (code {_process?.ExitCode}) before it was ready:\n{RecentOutput}");
            }
            try
            {
                using var response = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Slow to answer while starting.
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"The server was not ready within {timeout}:\n{RecentOutput}");
    }

    /// <summary>SIGKILL: no shutdown code runs, exactly like a crash or an OOM kill.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        _process?.Dispose();
        _process = null;
    }

    /// <summary>
    /// SIGTERM, as a service manager stops the server: true when the process exited within
    /// <paramref name="timeout"/> (the exit code is in <paramref name="exitCode"/>); false when it did
    /// not (it is then killed, so no test leaves a process behind).
    /// </summary>
    public bool Terminate(TimeSpan timeout, out int exitCode)
    {
        exitCode = -1;
        if (_process is not { HasExited: false } process)
        {
            return true;
        }
        using (var signal = Process.Start(new ProcessStartInfo("kill", $"-TERM {process.Id}") { UseShellExecute = false })!)
        {
            signal.WaitForExit();
        }
        bool exited = process.WaitForExit(timeout);
        if (exited)
        {
            exitCode = process.ExitCode;
            process.Dispose();
            _process = null;
            return true;
        }
        Kill();
        return false;
    }

    /// <summary>Resident memory of the server in bytes, from /proc (Linux).</summary>
    public long ResidentBytes()
    {
        if (ProcessId is not { } pid)
        {
            return 0;
        }
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }
        return 0;
    }

    public void Dispose() => Kill();
}
