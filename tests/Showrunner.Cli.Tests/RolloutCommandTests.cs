using System.Text.Json;
using Showrunner.Testing;

namespace Showrunner.Cli.Tests;

/// <summary><c>rollout start|status|advance|rollback</c> and <c>flags list|set</c> against a real server process.</summary>
[Trait("Category", "Integration")]
public sealed class RolloutCommandTests(ServerFixture fixture) : IClassFixture<ServerFixture>, IDisposable
{
    private readonly TempDirectory _sources = new("showrunner-cli-rollout");
    private string Url => fixture.Server.BaseAddress.ToString();
    private string Key => fixture.Server.AdminKey;

    private static string Source(string title) => ReleaseFixtures.Source("rollout-ten-year-hunt", ("title", title));

    private static (int ExitCode, string Output, string Errors) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        int exitCode = ShowrunnerCommand.Run(args, output, errors);
        return (exitCode, output.ToString(), errors.ToString());
    }

    private string Publish(string name, string title, bool activate)
    {
        string directory = Path.Combine(_sources.Path, name);
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "r.hcl"), Source(title));
        string[] args = activate ? ["publish", directory, "--activate", "--server", Url, "--key", Key, "--json"] : ["publish", directory, "--server", Url, "--key", Key, "--json"];
        var published = Run(args);
        Assert.True(published.ExitCode == 0, published.Output + published.Errors);
        using var json = JsonDocument.Parse(Run("check", directory, "--json").Output);
        return json.RootElement.GetProperty("id").GetString()!;
    }

    [Fact]
    public void A_rollout_is_started_watched_and_rolled_back_and_a_kill_switch_flipped_from_the_command_line()
    {
        Publish("v1", "Hunt", activate: true);
        string candidate = Publish("v2", "Hunt v2", activate: false);
        string plan = Path.Combine(_sources.Path, "plan.json");
        File.WriteAllText(plan, """{"steps":[{"percent":10,"min_soak_seconds":3600},{"percent":100}],"auto_advance":false}""");

        var started = Run("rollout", "start", candidate, "--plan", plan, "--salt", "cli", "--reason", "try v2", "--server", Url, "--key", Key);
        Assert.True(started.ExitCode == 0, started.Output + started.Errors);
        Assert.StartsWith("started: Rollout ", started.Output, StringComparison.Ordinal);
        var status = Run("rollout", "status", "--server", Url, "--key", Key);
        Assert.Equal(0, status.ExitCode);
        Assert.Contains($"running: cli-rollout ({candidate})", status.Output, StringComparison.Ordinal);
        Assert.Contains("step 0 of 2: live 10%", status.Output, StringComparison.Ordinal);
        Assert.Contains("salt cli", status.Output, StringComparison.Ordinal);

        var early = Run("rollout", "advance", "--server", Url, "--key", Key);
        Assert.Equal(1, early.ExitCode);
        Assert.Contains("soak_not_elapsed", early.Errors, StringComparison.Ordinal);

        Assert.Equal("event hunt is OFF\n", Run("flags", "set", "event", "hunt", "off", "--reason", "exploit", "--server", Url, "--key", Key).Output);
        var flags = Run("flags", "list", "--server", Url, "--key", Key);
        Assert.Matches("event  hunt +OFF  since .* by key:[0-9a-f]{12}: exploit", flags.Output);
        Assert.Equal("event hunt is on\n", Run("flags", "set", "event", "hunt", "on", "--server", Url, "--key", Key).Output);
        Assert.Equal(2, Run("flags", "set", "event", "hunt", "maybe", "--server", Url, "--key", Key).ExitCode);
        Assert.Equal(2, Run("flags", "set", "player", "hunt", "off", "--server", Url, "--key", Key).ExitCode);
        var unknown = Run("flags", "set", "config", "nope", "off", "--server", Url, "--key", Key);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("flag_target_unknown", unknown.Errors, StringComparison.Ordinal);

        var rolledBack = Run("rollout", "rollback", "--reason", "not today", "--server", Url, "--key", Key);
        Assert.True(rolledBack.ExitCode == 0, rolledBack.Errors);
        Assert.StartsWith("rolled_back: ", rolledBack.Output, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(Run("rollout", "status", "--server", Url, "--key", Key, "--json").Output);
        var rollout = json.RootElement.GetProperty("rollout");
        Assert.Equal("rolled_back", rollout.GetProperty("state").GetString());
        Assert.Equal(["start", "rollback"], rollout.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("kind").GetString()));
        Assert.Equal(2, Run("rollout", "start", candidate, "--plan", Path.Combine(_sources.Path, "missing.json"), "--server", Url, "--key", Key).ExitCode);
    }

    public void Dispose() => _sources.Dispose();
}
