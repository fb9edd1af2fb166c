using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Showrunner.Runtime.Audit;
using Showrunner.Storage.Audit;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Cli.Tests.Audit;

/// <summary>
/// <c>showrunner audit verify</c> on a data directory the real audit trail wrote, and over HTTP: an
/// untouched log passes with its head; each tampering an attacker with the file (or a lying
/// server) could do — edit a field, delete, reorder or truncate rows — fails at the first bad
/// entry with exit code 1; usage errors exit 2.
/// </summary>
[Trait("Category", "Integration")]
public sealed class AuditVerifyCommandTests : IDisposable
{
    private const int Count = 8;
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _directory = new("showrunner-audit-verify");

    public AuditVerifyCommandTests()
    {
        var clock = new ManualClock(Start);
        using var store = new SqliteActionStore(new SqliteStoreOptions { DataDirectory = _directory.Path, ReadConnections = 1 }, clock);
        store.Open(4);
        using var trail = new AuditTrail(store.Audit, clock, NullLogger<AuditTrail>.Instance);
        for (int i = 1; i <= Count; i++)
        {
            trail.RecordAsync(new AuditRecord("key:k" + (i % 3), i % 2 == 0 ? "release.activate" : "grant.create", "t-" + i, i % 2 == 0 ? "b-" + i : null, "a-" + i,
                i % 3 == 0 ? null : "reason " + i, i % 4 == 0 ? null : "{\"i\":" + i + "}")).GetAwaiter().GetResult();
            clock.Advance(TimeSpan.FromSeconds(1));
        }
        Entries = [.. store.Audit.Query(new AuditQuery(100, AfterSeq: 0))];
    }

    /// <summary>The entries as written, oldest first.</summary>
    internal List<StoredAuditEntry> Entries { get; }

    private string Head(int seq) => Convert.ToHexStringLower(Entries[seq - 1].Hash);

    internal static (int ExitCode, string Output, string Errors) Run(HttpMessageHandler? handler, params string[] args)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        int exitCode = ShowrunnerCommand.Run(args, output, errors, handler);
        return (exitCode, output.ToString(), errors.ToString());
    }

    private (int ExitCode, string Output, string Errors) Verify(params string[] extra) => Run(null, ["audit", "verify", "--data", _directory.Path, .. extra]);

    /// <summary>The problem of a --json run: (exit code, code, seq).</summary>
    private (int, string?, long?) Problem(params string[] extra)
    {
        var (exitCode, output, errors) = Verify([.. extra, "--json"]);
        Assert.True(output.Length > 0, errors);
        var problem = JsonDocument.Parse(output).RootElement.GetProperty("problem");
        return problem.ValueKind == JsonValueKind.Null
            ? (exitCode, null, null)
            : (exitCode, problem.GetProperty("code").GetString(), problem.GetProperty("seq").ValueKind == JsonValueKind.Null ? null : problem.GetProperty("seq").GetInt64());
    }

    private void Execute(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory.Path, SqliteActionStore.DatabaseFileName)};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        // An attacker with the file can drop the append-only triggers first.
        command.CommandText = "DROP TRIGGER IF EXISTS audit_entries_append_only_update; DROP TRIGGER IF EXISTS audit_entries_append_only_delete; " + sql;
        command.ExecuteNonQuery();
    }

    [Fact]
    public void An_untouched_log_verifies_with_its_head_in_text_and_json()
    {
        var (exitCode, output, errors) = Verify();
        Assert.Equal((0, $"ok: {Count} entries, head {Head(Count)}\n", ""), (exitCode, output, errors));
        var (jsonExit, json, _) = Verify("--json");
        Assert.Equal(0, jsonExit);
        var root = JsonDocument.Parse(json).RootElement;
        Assert.Equal((true, "data", Count, Count, Head(Count)), (root.GetProperty("ok").GetBoolean(), root.GetProperty("source").GetString(),
            root.GetProperty("entries").GetInt32(), root.GetProperty("head_seq").GetInt32(), root.GetProperty("head_hash").GetString()));
        // A head recorded earlier is still in the chain, whether it is the latest or an older one.
        Assert.Equal(0, Verify("--expect-head", Head(Count)).ExitCode);
        Assert.Equal(0, Verify("--expect-head", Head(3).ToUpperInvariant()).ExitCode);
    }

    public static TheoryData<string> Edits => new()
    {
        "actor = 'key:mallory'", "action = 'grant.correct'", "target = 'other'", "before_value = 'x'", "after_value = NULL", "reason = 'forged'",
        "details = '{\"i\":99}'", "at = at + 1", "hash = zeroblob(32)",
    };

    [Theory]
    [MemberData(nameof(Edits))]
    public void Editing_any_column_of_one_entry_fails_at_exactly_that_entry(string edit)
    {
        Execute($"UPDATE audit_entries SET {edit} WHERE seq = 5");
        var (exitCode, output, errors) = Verify();
        Assert.Equal(1, exitCode);
        Assert.StartsWith("error: audit.hash_mismatch: entry 5: ", errors, StringComparison.Ordinal);
        Assert.Equal("failed: entry 5 is the first bad entry (audit.hash_mismatch); 4 entries before it verify\n", output);
        Assert.Equal((1, "audit.hash_mismatch", (long?)5), Problem());
    }

    [Fact]
    public void A_stored_prev_hash_changed_fails_at_that_entry()
    {
        Execute("UPDATE audit_entries SET prev_hash = zeroblob(32) WHERE seq = 3");
        Assert.Equal((1, "audit.prev_hash_mismatch", (long?)3), Problem());
    }

    [Fact]
    public void Deleting_a_row_fails_at_the_missing_entry()
    {
        Execute("DELETE FROM audit_entries WHERE seq = 4");
        Assert.Equal((1, "audit.seq_gap", (long?)4), Problem());
        Assert.Contains("entries 4 to 4 are missing", Verify().Errors, StringComparison.Ordinal);
    }

    [Fact]
    public void Swapping_two_rows_fails_at_the_first_of_them()
    {
        Execute("UPDATE audit_entries SET seq = -1 WHERE seq = 6; UPDATE audit_entries SET seq = 6 WHERE seq = 7; UPDATE audit_entries SET seq = 7 WHERE seq = -1");
        Assert.Equal((1, "audit.prev_hash_mismatch", (long?)6), Problem());
    }

    [Fact]
    public void A_truncated_log_verifies_on_its_own_and_fails_against_the_head_kept_before()
    {
        Execute($"DELETE FROM audit_entries WHERE seq > 6");
        Assert.Equal((0, $"ok: 6 entries, head {Head(6)}\n", ""), Verify());
        var (exitCode, output, errors) = Verify("--expect-head", Head(Count));
        Assert.Equal(1, exitCode);
        Assert.StartsWith($"error: audit.head_missing: no entry hashes to the expected head {Head(Count)}; the log holds 6 entries", errors, StringComparison.Ordinal);
        Assert.Equal($"failed: audit.head_missing; 6 entries verify, head {Head(6)}\n", output);
        Assert.Equal((1, "audit.head_missing", (long?)null), Problem("--expect-head", Head(Count)));
    }

    [Fact]
    public void Usage_errors_exit_2()
    {
        Assert.Equal(2, Run(null, "audit", "verify").ExitCode);
        Assert.Equal(2, Run(null, "audit", "verify", "--data", _directory.Path, "--server", "http://127.0.0.1:1").ExitCode);
        var (exitCode, _, errors) = Verify("--expect-head", "abc");
        Assert.Equal(2, exitCode);
        Assert.Contains("--expect-head 'abc' is not a head hash", errors, StringComparison.Ordinal);
        Assert.Equal(2, Run(null, "audit", "verify", "--data", Path.Combine(_directory.Path, "missing")).ExitCode);
        Assert.Equal(2, Run(null, "audit", "verify", "--server", "ftp://x").ExitCode);
    }

    [Fact]
    public void An_empty_log_verifies_and_a_directory_that_is_not_a_data_directory_is_refused()
    {
        using var empty = new TempDirectory("showrunner-audit-empty");
        using (var store = new SqliteActionStore(new SqliteStoreOptions { DataDirectory = empty.Path, ReadConnections = 1 }, TimeProvider.System))
        {
            store.Open(4);
        }
        Assert.Equal((0, "ok: 0 entries, head none\n", ""), Run(null, "audit", "verify", "--data", empty.Path));
        using var other = new TempDirectory("showrunner-audit-other");
        var (exitCode, _, errors) = Run(null, "audit", "verify", "--data", other.Path);
        Assert.Equal(1, exitCode);
        Assert.StartsWith("error: data_directory_missing", errors, StringComparison.Ordinal);
    }

    // --server: the pages GET /v1/audit serves, from these entries, with a lie told where a test asks for one.
    private sealed class AuditServer(List<StoredAuditEntry> entries, long? claimedHead = null, Func<int, string, string>? tamper = null) : HttpMessageHandler
    {
        public List<string> Paths { get; } = [];

        // audit verify sends synchronously (one page at a time as it walks).
        protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) =>
            SendAsync(request, cancellationToken).GetAwaiter().GetResult();

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            string path = request.RequestUri!.PathAndQuery;
            Paths.Add(path);
            var query = System.Web.HttpUtility.ParseQueryString(request.RequestUri.Query);
            long after = long.Parse(query["after"]!, CultureInfo.InvariantCulture);
            int limit = int.Parse(query["limit"]!, CultureInfo.InvariantCulture);
            // Small pages (3), so the walk pages several times.
            var page = entries.Where(e => e.Seq > after).Take(Math.Min(limit, 3) + 1).ToList();
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteStartObject("head");
                w.WriteNumber("seq", claimedHead ?? entries.Count);
                w.WriteString("hash", Convert.ToHexStringLower(entries.Count == 0 ? new byte[32] : entries[^1].Hash));
                w.WriteEndObject();
                w.WriteStartArray("entries");
                foreach (var e in page.Take(3))
                {
                    w.WriteStartObject();
                    w.WriteNumber("seq", e.Seq);
                    w.WriteString("at", Core.Actions.Rfc3339.Format(e.AtTicks));
                    w.WriteString("actor", tamper?.Invoke((int)e.Seq, e.Actor) ?? e.Actor);
                    w.WriteString("action", e.Action);
                    w.WriteString("target", e.Target);
                    foreach (var (name, value) in new[] { ("before", e.Before), ("after", e.After), ("reason", e.Reason), ("details", e.Details) })
                    {
                        if (value is null)
                        {
                            w.WriteNull(name);
                        }
                        else
                        {
                            w.WriteString(name, value);
                        }
                    }
                    w.WriteString("prev_hash", Convert.ToHexStringLower(e.PrevHash));
                    w.WriteString("hash", Convert.ToHexStringLower(e.Hash));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                if (page.Count > 3)
                {
                    w.WriteString("next", "/v1/audit?after=" + page[2].Seq.ToString(CultureInfo.InvariantCulture));
                }
                else
                {
                    w.WriteNull("next");
                }
                w.WriteEndObject();
            }
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(buffer.ToArray()) });
        }
    }

    [Fact]
    public void Over_http_the_pages_are_walked_oldest_first_and_the_chain_recomputed()
    {
        using var server = new AuditServer(Entries);
        var (exitCode, output, errors) = Run(server, "audit", "verify", "--server", "http://audit.test", "--expect-head", Head(5));
        Assert.Equal((0, $"ok: {Count} entries, head {Head(Count)}\n", ""), (exitCode, output, errors));
        Assert.Equal(["/v1/audit?after=0&limit=500", "/v1/audit?after=3&limit=500", "/v1/audit?after=6&limit=500"], server.Paths);
    }

    [Fact]
    public void Over_http_an_edited_entry_fewer_entries_than_the_head_and_a_malformed_answer_are_reported()
    {
        using (var edited = new AuditServer(Entries, tamper: (seq, actor) => seq == 7 ? "key:mallory" : actor))
        {
            var (exitCode, _, errors) = Run(edited, "audit", "verify", "--server", "http://audit.test");
            Assert.Equal(1, exitCode);
            Assert.StartsWith("error: audit.hash_mismatch: entry 7: ", errors, StringComparison.Ordinal);
        }
        using (var withheld = new AuditServer(Entries.Take(5).ToList(), claimedHead: Count))
        {
            var (exitCode, _, errors) = Run(withheld, "audit", "verify", "--server", "http://audit.test");
            Assert.Equal(1, exitCode);
            Assert.Equal($"error: server.entries_withheld: the server reports its head at entry {Count}, but its pages held 5 entries\n", errors);
        }
        using (var empty = new AuditServer([], claimedHead: 0))
        {
            Assert.Equal((0, "ok: 0 entries, head none\n"), (Run(empty, "audit", "verify", "--server", "http://audit.test").ExitCode,
                Run(empty, "audit", "verify", "--server", "http://audit.test").Output));
        }
        using var broken = new StaticHandler(HttpStatusCode.OK, "{\"entries\":[]}");
        var (brokenExit, _, brokenErrors) = Run(broken, "audit", "verify", "--server", "http://audit.test");
        Assert.Equal(1, brokenExit);
        Assert.StartsWith("error: server.answer_invalid: GET /v1/audit?after=0&limit=500: 'head' is missing", brokenErrors, StringComparison.Ordinal);
        using var refusing = new StaticHandler(HttpStatusCode.Forbidden, "{\"code\":\"forbidden\"}");
        Assert.StartsWith("error: server.refused: GET /v1/audit?after=0&limit=500 answered 403", Run(refusing, "audit", "verify", "--server", "http://audit.test").Errors,
            StringComparison.Ordinal);
    }

    public void Dispose() => _directory.Dispose();
}

/// <summary>Answers every request with one status and body (JSON), remembering what was asked.</summary>
internal sealed class StaticHandler(HttpStatusCode status, string body) : HttpMessageHandler
{
    public List<(HttpMethod Method, string Path, string? Body)> Requests { get; } = [];

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) =>
        SendAsync(request, cancellationToken).GetAwaiter().GetResult();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Requests.Add((request.Method, request.RequestUri!.PathAndQuery, request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken)));
        return new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
    }
}
