using System.Diagnostics;
using Showrunner.Testing;

namespace Showrunner.EndToEnd.Tests;

/// <summary>How the server process starts: data directory selection and refusals with exit code 2.</summary>
[Trait("Category", "Integration")]
public sealed class StartupTests
{
    private static async Task<(int ExitCode, string Output)> RunToExitAsync(IEnumerable<string> arguments, Dictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(TestServer.Dll);
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        foreach (var (key, value) in environment ?? [])
        {
            info.Environment[key] = value;
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("The server did not exit: " + await stdout);
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public async Task A_data_directory_with_another_partition_count_is_refused_with_exit_code_2()
    {
        using var data = new TempDirectory("showrunner-startup");
        using (var server = new ServerProcess(TestServer.Dll, data.Path, ServerProcess.FreePort()))
        {
            server.Start();
            await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
        }
        var (exitCode, output) = await RunToExitAsync(["--urls", $"http://127.0.0.1:{ServerProcess.FreePort()}", "--data", data.Path, "--partitions", "128"]);
        Assert.Equal(2, exitCode);
        Assert.Contains("partition_count_mismatch", output, StringComparison.Ordinal);
        Assert.Contains("256", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_key_other_users_can_read_is_refused_with_exit_code_2_and_no_admin_key_is_made()
    {
        using var data = new TempDirectory("showrunner-startup");
        string tokenKey = Path.Combine(data.Path, "token.key");
        File.WriteAllText(tokenKey, Convert.ToBase64String(new byte[32]) + "\n");
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        File.SetUnixFileMode(tokenKey, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var (exitCode, output) = await RunToExitAsync(["--urls", $"http://127.0.0.1:{ServerProcess.FreePort()}", "--data", data.Path]);
        Assert.Equal(2, exitCode);
        Assert.Contains($"error: security_files: {tokenKey} is readable or writable by other users; run 'chmod 600 {tokenKey}'.", output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(data.Path, "admin.key")));
        Assert.DoesNotContain("Admin key", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_option_is_refused_with_exit_code_2_naming_it()
    {
        using var data = new TempDirectory("showrunner-startup");
        var (exitCode, output) = await RunToExitAsync(["--data", data.Path, "--Showrunner:InboxCapacity", "5"]);
        Assert.Equal(2, exitCode);
        Assert.Contains("Showrunner:InboxCapacity is not a known option", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--partitions", "many", "--partitions = 'many': must be an integer.")]
    [InlineData("--Showrunner:PartitionInboxCapacity", "0", "Showrunner:PartitionInboxCapacity = 0: must be between 1 and 1000000.")]
    [InlineData("--Showrunner:MaxBodyBytes", "1x", "Showrunner:MaxBodyBytes = '1x': must be an integer.")]
    public async Task A_bad_option_value_is_refused_with_exit_code_2_naming_option_value_and_rule(string option, string value, string message)
    {
        using var data = new TempDirectory("showrunner-startup");
        var (exitCode, output) = await RunToExitAsync(["--data", data.Path, option, value]);
        Assert.Equal(2, exitCode);
        Assert.Contains(message, output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(data.Path, "showrunner.db")), "a refused start must not create the database");
    }

    [Fact]
    public async Task SHOWRUNNER_DATA_chooses_the_data_directory_when_no_data_argument_is_given()
    {
        using var data = new TempDirectory("showrunner-startup");
        int port = ServerProcess.FreePort();
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(TestServer.Dll);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{port}");
        info.Environment["SHOWRUNNER_DATA"] = data.Path;
        using var process = Process.Start(info)!;
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (true)
            {
                try
                {
                    if ((await http.GetAsync(new Uri("/readyz", UriKind.Relative))).IsSuccessStatusCode)
                    {
                        break;
                    }
                }
                catch (HttpRequestException)
                {
                    Assert.True(DateTime.UtcNow < deadline, "server not ready");
                }
                await Task.Delay(50);
            }
            Assert.True(File.Exists(Path.Combine(data.Path, "showrunner.db")));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }
}
