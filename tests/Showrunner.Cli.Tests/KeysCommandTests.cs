using System.Text.Json;

namespace Showrunner.Cli.Tests;

/// <summary><c>keys create|list|revoke</c> against a real server, and the API key every server command sends.</summary>
[Trait("Category", "Integration")]
public sealed class KeysCommandTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private string Url => fixture.Server.BaseAddress.ToString();
    private string Key => fixture.Server.AdminKey;

    private static (int ExitCode, string Output, string Errors) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        int exitCode = ShowrunnerCommand.Run(args, output, errors);
        return (exitCode, output.ToString(), errors.ToString());
    }

    [Fact]
    public void Keys_are_created_listed_and_revoked_from_the_command_line()
    {
        var created = Run("keys", "create", "--name", "cli ops", "--role", "operator", "--server", Url, "--key", Key);
        Assert.True(created.ExitCode == 0, created.Errors);
        string[] lines = created.Output.Split('\n');
        Assert.Matches("^created operator key [0-9a-f]{12} \\(role operator\\) for 'cli ops'$", lines[0]);
        Assert.StartsWith("secret (shown once, store it now): sr_", lines[1], StringComparison.Ordinal);
        string secret = lines[1][(lines[1].IndexOf("sr_", StringComparison.Ordinal))..];
        string id = secret[3..15];

        // The new key works at its role (outbox status needs viewer or above) and not beyond (keys are an admin's).
        Assert.Equal(0, Run("outbox", "status", "--server", Url, "--key", secret).ExitCode);
        var refused = Run("keys", "list", "--server", Url, "--api-key", secret);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("error: forbidden (403)", refused.Errors, StringComparison.Ordinal);

        var gameServer = Run("keys", "create", "--name", "eu-1", "--title", "default", "--server", Url, "--key", Key, "--json");
        Assert.Equal(0, gameServer.ExitCode);
        var json = JsonDocument.Parse(gameServer.Output).RootElement;
        Assert.Equal(("game_server", "default"), (json.GetProperty("kind").GetString(), json.GetProperty("title").GetString()));

        var list = Run("keys", "list", "--server", Url, "--key", Key);
        Assert.Equal(0, list.ExitCode);
        Assert.Contains($"operator key {id} (role operator) for 'cli ops', created ", list.Output, StringComparison.Ordinal);
        Assert.Contains($"game-server key {json.GetProperty("id").GetString()} (title default) for 'eu-1'", list.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(secret[16..], list.Output, StringComparison.Ordinal);

        Assert.Equal($"revoked operator key {id} (role operator) for 'cli ops'\n", Run("keys", "revoke", id, "--server", Url, "--key", Key).Output);
        Assert.StartsWith("already revoked: ", Run("keys", "revoke", id, "--server", Url, "--key", Key).Output, StringComparison.Ordinal);
        var afterRevoke = Run("outbox", "status", "--server", Url, "--key", secret);
        Assert.Equal(1, afterRevoke.ExitCode);
        Assert.Contains("error: unauthorized (401)", afterRevoke.Errors, StringComparison.Ordinal);
        Assert.Contains("revoked ", Run("keys", "list", "--server", Url, "--key", Key).Output, StringComparison.Ordinal);
        var listed = JsonDocument.Parse(Run("keys", "list", "--server", Url, "--key", Key, "--json").Output).RootElement.GetProperty("keys");
        Assert.Contains(listed.EnumerateArray(), k => k.GetProperty("id").GetString() == id && k.GetProperty("revoked_at").ValueKind == JsonValueKind.String);
    }

    [Fact]
    public void The_last_admin_key_and_bad_arguments_are_refused()
    {
        var last = Run("keys", "revoke", Key[3..15], "--server", Url, "--key", Key);
        Assert.Equal(1, last.ExitCode);
        Assert.Contains("error: last_admin_key (409)", last.Errors, StringComparison.Ordinal);
        Assert.Equal(2, Run("keys", "create", "--name", "x", "--server", Url, "--key", Key).ExitCode);
        Assert.Equal(2, Run("keys", "create", "--name", "x", "--role", "viewer", "--title", "t", "--server", Url, "--key", Key).ExitCode);
        Assert.Equal(2, Run("keys", "revoke", "NOT-AN-ID", "--server", Url, "--key", Key).ExitCode);
        Assert.Equal(2, Run("keys", "list", "--server", Url, "--key", "has space").ExitCode);
        var badRole = Run("keys", "create", "--name", "x", "--role", "root", "--server", Url, "--key", Key);
        Assert.Equal(1, badRole.ExitCode);
        Assert.Contains("error: invalid_key_request (400)", badRole.Errors, StringComparison.Ordinal);
        var wrong = Run("rollback", "--server", Url, "--key", "sr_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("error: unauthorized (401)", wrong.Errors, StringComparison.Ordinal);
    }
}
