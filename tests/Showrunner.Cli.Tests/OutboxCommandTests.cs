using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Showrunner.Cli.Tests;

/// <summary>
/// <c>outbox status</c> and <c>outbox redeliver</c> against a real server (no webhook configured,
/// so nothing moves the rows but the commands). The rows are written straight into the server's
/// database, as the group committer writes them, with the states the worker would leave.
/// </summary>
[Trait("Category", "Integration")]
public sealed class OutboxCommandTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly long T0 = new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero).UtcTicks;

    private string Url => fixture.Server.BaseAddress.ToString();
    private string Key => fixture.Server.AdminKey;

    private static (int ExitCode, string Output, string Errors) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        int exitCode = ShowrunnerCommand.Run(args, output, errors);
        return (exitCode, output.ToString(), errors.ToString());
    }

    /// <summary>Writes one outbox row: status 0 pending, 2 dead-lettered; attempts as the worker would have counted them.</summary>
    private void Insert(string grantId, int status, int attempts, long enqueuedAt)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(fixture.Server.DataDirectory, "showrunner.db"),
            Pooling = false,
        }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA busy_timeout = 5000";
        command.ExecuteNonQuery();
        command.CommandText = "INSERT INTO outbox (grant_id, payload, status, attempts, total_attempts, enqueued_at, next_attempt_at, last_attempt_at, last_error, dead_lettered_at) " +
            "VALUES ($g, X'7B7D', $s, $a, $a, $t, $t, CASE WHEN $a > 0 THEN $t END, CASE WHEN $a > 0 THEN 'HTTP 503' END, CASE WHEN $s = 2 THEN $t END)";
        command.Parameters.AddWithValue("$g", grantId);
        command.Parameters.AddWithValue("$s", status);
        command.Parameters.AddWithValue("$a", attempts);
        command.Parameters.AddWithValue("$t", enqueuedAt);
        command.ExecuteNonQuery();
    }

    [Fact]
    public void Status_and_redeliver_from_the_command_line()
    {
        var empty = Run("outbox", "status", "--server", Url, "--key", Key);
        Assert.Equal((0, "webhook: not configured: grants stay pending until the server runs with Showrunner:Outbox:WebhookUrl\n" +
            "pending 0, delivered 0, dead-lettered 0\n", ""), empty);

        Insert("d-1", status: 2, attempts: 12, T0);
        Insert("d-2", status: 2, attempts: 12, T0 + 1);
        Insert("d-3", status: 2, attempts: 1, T0 + 2);
        Insert("f-1", status: 0, attempts: 3, T0 - TimeSpan.TicksPerMinute);
        Insert("p-1", status: 0, attempts: 0, T0);
        Assert.Equal("pending 2 (oldest enqueued 2026-11-22T11:59:00Z), delivered 0, dead-lettered 3\n",
            Run("outbox", "status", "--server", Url, "--key", Key).Output.Split('\n', 2)[1]);

        var one = Run("outbox", "redeliver", "--grant", "d-1", "--grant", "f-1", "--server", Url, "--key", Key);
        Assert.Equal((0, "moved 1 dead-lettered grant back to pending, due now\n" +
            "note: the server has no webhook configured; they are delivered once it runs with one\n", ""), one);

        var rest = Run("outbox", "redeliver", "--server", Url, "--key", Key, "--json");
        Assert.Equal(0, rest.ExitCode);
        var answer = JsonDocument.Parse(rest.Output).RootElement;
        Assert.Equal(("dead_lettered", 2), (answer.GetProperty("scope").GetString(), answer.GetProperty("moved").GetInt32()));

        // f-1 is still being retried: only --all-failed brings it forward; p-1 was never attempted.
        Assert.Equal("moved 1 failed or dead-lettered grant back to pending, due now", Run("outbox", "redeliver", "--all-failed", "--server", Url, "--key", Key).Output.Split('\n')[0]);
        Assert.Equal("moved 0 failed or dead-lettered grants back to pending, due now\n", Run("outbox", "redeliver", "--all-failed", "--server", Url, "--key", Key).Output);

        var status = JsonDocument.Parse(Run("outbox", "status", "--server", Url, "--key", Key, "--json").Output).RootElement;
        Assert.Equal((5, 0, false), (status.GetProperty("pending").GetInt32(), status.GetProperty("dead_lettered").GetInt32(), status.GetProperty("webhook_configured").GetBoolean()));
        Assert.Equal(JsonValueKind.Null, status.GetProperty("circuit").ValueKind);
    }

    [Fact]
    public void Usage_errors_exit_2_and_an_unreachable_server_exits_1()
    {
        Assert.Equal(2, Run("outbox", "redeliver", "--grant", " ", "--server", Url, "--key", Key).ExitCode);
        Assert.Equal(2, Run("outbox", "redeliver", "--grant").ExitCode);
        Assert.Equal(2, Run("outbox", "status", "--server", "ftp://example").ExitCode);
        Assert.Equal(2, Run("outbox").ExitCode);
        var tooMany = Run(["outbox", "redeliver", "--server", Url, "--key", Key, .. Enumerable.Range(0, 1_001).SelectMany(i => new[] { "--grant", "g-" + i })]);
        Assert.Equal(2, tooMany.ExitCode);
        Assert.Contains("at most 1000", tooMany.Errors, StringComparison.Ordinal);
        var unreachable = Run("outbox", "status", "--server", "http://127.0.0.1:1");
        Assert.Equal(1, unreachable.ExitCode);
        Assert.Contains("cannot reach", unreachable.Errors, StringComparison.Ordinal);
    }
}
