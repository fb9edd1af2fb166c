using System.Text.Json;
using Showrunner.Testing;

namespace Showrunner.Cli.Tests;

/// <summary>A real server, started once for the class on a loopback port with a new data directory (the example release active).</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private readonly TempDirectory _directory = new("showrunner-cli-server");
    internal ServerProcess Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // One operator, no second person: the two-person rule is off (ApprovalCommandTests covers the 202 answers).
        Server = new ServerProcess(ServerProcess.LocateServerDll(), _directory.Path, ServerProcess.FreePort(), "--Showrunner:Approvals:Enabled=false");
        Server.Start();
        await Server.WaitReadyAsync(TimeSpan.FromSeconds(30));
    }

    public Task DisposeAsync()
    {
        Server.Dispose();
        _directory.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary><c>publish</c>, <c>activate</c> and <c>rollback</c> against a real server over HTTP.</summary>
[Trait("Category", "Integration")]
public sealed class ServerCommandTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private string Url => fixture.Server.BaseAddress.ToString();
    private string Key => fixture.Server.AdminKey;

    private static string Example(string name) => Path.Combine(AppContext.BaseDirectory, "examples", name);

    private static (int ExitCode, string Output, string Errors) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        int exitCode = ShowrunnerCommand.Run(args, output, errors);
        return (exitCode, output.ToString(), errors.ToString());
    }

    private static string IdOf(string example)
    {
        var (exitCode, output, _) = Run("check", Example(example), "--json");
        Assert.Equal(0, exitCode);
        return JsonDocument.Parse(output).RootElement.GetProperty("id").GetString()!;
    }

    private JsonElement Active()
    {
        using var client = fixture.Server.CreateClient();
        return JsonDocument.Parse(client.GetStringAsync(new Uri("/v1/releases/active", UriKind.Relative)).GetAwaiter().GetResult()).RootElement;
    }

    [Fact]
    public void Publish_activate_refuse_and_roll_back_from_the_command_line()
    {
        string summer = IdOf("summer-week-1");
        string casino = IdOf("casino-weekend");
        string weekly = IdOf("weekly-tournament");
        Assert.Equal(summer, Active().GetProperty("release").GetProperty("id").GetString());
        long version = Active().GetProperty("version").GetInt64();

        // Publishing alone changes nothing that is active; the second time is a no-op.
        var published = Run("publish", Example("casino-weekend"), "--server", Url, "--key", Key);
        Assert.Equal((0, $"published: casino-weekend-aug {casino}\n", ""), published);
        Assert.Equal(0, Run("publish", Example("casino-weekend"), "--server", Url, "--key", Key).ExitCode);
        Assert.Contains("already published", Run("publish", Example("casino-weekend"), "--server", Url, "--key", Key).Output, StringComparison.Ordinal);
        Assert.Equal(version, Active().GetProperty("version").GetInt64());

        // A stale expected version is refused with the server's code, and nothing changes.
        var stale = Run("activate", casino, "--server", Url, "--key", Key, "--expected-version", (version - 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(1, stale.ExitCode);
        Assert.Contains("error: version_conflict (409)", stale.Errors, StringComparison.Ordinal);
        Assert.Equal(summer, Active().GetProperty("release").GetProperty("id").GetString());

        var activated = Run("publish", Example("weekly-tournament"), "--server", Url, "--key", Key, "--activate", "--expected-version",
            version.ToString(System.Globalization.CultureInfo.InvariantCulture), "--reason", "season start");
        Assert.Equal(0, activated.ExitCode);
        Assert.Contains($"active: arena-weekly {weekly} (version {version + 1}, activate; rollback returns to {summer})", activated.Output, StringComparison.Ordinal);

        // The weekly tournament recurs, so it is always live: a candidate without it is refused.
        var refused = Run("activate", casino, "--server", Url, "--key", Key);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("error: release_incompatible (422)", refused.Errors, StringComparison.Ordinal);
        Assert.Contains("compat.event_removed", refused.Errors, StringComparison.Ordinal);

        var back = Run("rollback", "--server", Url, "--key", Key, "--json", "--reason", "wrong season");
        Assert.Equal(0, back.ExitCode);
        var state = JsonDocument.Parse(back.Output).RootElement;
        Assert.Equal((version + 2, summer, "rollback", "wrong season"),
            (state.GetProperty("version").GetInt64(), state.GetProperty("release").GetProperty("id").GetString(), state.GetProperty("kind").GetString(), state.GetProperty("reason").GetString()));
        var nothing = Run("rollback", "--server", Url, "--key", Key);
        Assert.Equal(1, nothing.ExitCode);
        Assert.Contains("nothing_to_roll_back", nothing.Errors, StringComparison.Ordinal);

        // Each act that changed something is in the audit log: two publishes, the activation, the
        // rollback. Its chain verifies over HTTP and on disk (read-only, the server still running).
        var overHttp = Run("audit", "verify", "--server", Url, "--api-key", Key, "--json");
        Assert.True(overHttp.ExitCode == 0, overHttp.Output + overHttp.Errors);
        var report = JsonDocument.Parse(overHttp.Output).RootElement;
        Assert.Equal(4, report.GetProperty("entries").GetInt32());
        var onDisk = Run("audit", "verify", "--data", fixture.Server.DataDirectory, "--expect-head", report.GetProperty("head_hash").GetString()!);
        Assert.Equal((0, $"ok: 4 entries, head {report.GetProperty("head_hash").GetString()}\n", ""), onDisk);
    }

    [Fact]
    public void A_release_with_problems_is_not_sent()
    {
        string directory = Path.Combine(Path.GetTempPath(), "showrunner-bad-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            File.WriteAllText(Path.Combine(directory, "bad.hcl"), "event \"x\" {\n  title = 5\n}\n");
            var (exitCode, output, errors) = Run("publish", directory, "--server", "http://127.0.0.1:1");
            Assert.Equal(1, exitCode);
            Assert.Equal("", output);
            Assert.Contains("bad.hcl:", errors, StringComparison.Ordinal);
            Assert.DoesNotContain("cannot reach", errors, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Usage_errors_exit_2_and_an_unreachable_server_exits_1()
    {
        Assert.Equal(2, Run("activate", "not-an-id", "--server", Url, "--key", Key).ExitCode);
        Assert.Equal(2, Run("rollback", "--server", "ftp://example").ExitCode);
        Assert.Equal(2, Run("rollback", "--server", Url, "--key", Key, "--expected-version", "three").ExitCode);
        Assert.Equal(2, Run("publish", "/no/such/dir", "--server", Url, "--key", Key).ExitCode);
        var unreachable = Run("rollback", "--server", "http://127.0.0.1:1");
        Assert.Equal(1, unreachable.ExitCode);
        Assert.Contains("cannot reach", unreachable.Errors, StringComparison.Ordinal);
    }
}
