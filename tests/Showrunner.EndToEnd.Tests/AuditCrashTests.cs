using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Showrunner.Core.Audit;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Testing;
using Xunit.Abstractions;

namespace Showrunner.EndToEnd.Tests;

/// <summary>
/// LOST and DUP for the audit log under kill -9: operators send manual grants (retrying after
/// failures, as a client would) while the server is killed with SIGKILL at random moments and
/// restarted. The oracle is the clients' record of which grants were acknowledged: each has exactly
/// one <c>grant.create</c> entry, no act has two, every entry's grant is in the ledger, and the chain
/// read from the database file verifies. Set SHOWRUNNER_CRASH_SEED to replay a run.
/// </summary>
[Trait("Category", "Fault")]
public sealed class AuditCrashTests(ITestOutputHelper output)
{
    private const int Clients = 3;
    private const int Kills = 3;

    private static readonly string Release = ReleaseFixtures.Source("noop-action-only");

    [Fact]
    public async Task Every_acknowledged_act_has_exactly_one_audit_entry_after_kill_9_and_the_chain_verifies()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("SHOWRUNNER_CRASH_SEED"), out int s) ? s : Environment.TickCount;
        output.WriteLine($"seed={seed} (replay with SHOWRUNNER_CRASH_SEED={seed})");
        var random = new Random(seed);
        using var data = new TempDirectory("showrunner-crash-audit");
        using var server = new ServerProcess(TestServer.Dll, data.Path, ServerProcess.FreePort(), "--Showrunner:LoadExample=false",
            "--Showrunner:Approvals:Enabled=false");
        server.Start();
        await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
        using (var admin = server.CreateClient(TimeSpan.FromSeconds(10)))
        {
            var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("audit.hcl", Release)]);
            Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
            var content = new ByteArrayContent(bundle.CanonicalBytes);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
            Assert.Equal(HttpStatusCode.Created, (await admin.PostAsync(new Uri("/v1/releases", UriKind.Relative), content)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync(new Uri($"/v1/releases/{bundle.Id}/activate", UriKind.Relative), null)).StatusCode);
        }

        var acknowledged = new ConcurrentDictionary<string, string>(); // request id -> grant id
        var violations = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var clients = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            using var http = server.CreateClient(TimeSpan.FromSeconds(5));
            int next = 0;
            string? unanswered = null;
            while (!stop.IsCancellationRequested)
            {
                // A request that got no answer is sent again first (its retry must not record a second act).
                string requestId = unanswered ?? $"c{c}-{next++}";
                string body = $$"""{"request_id":"{{requestId}}","player":"p-{{requestId}}","rewards":{"gems":1},"reason":"crash test"}""";
                try
                {
                    using var response = await http.PostAsync(new Uri("/v1/grants", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
                    string text = await response.Content.ReadAsStringAsync();
                    if (response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK)
                    {
                        string grantId = (string)JsonNode.Parse(text)!["grant_id"]!;
                        if (acknowledged.TryGetValue(requestId, out var earlier) && earlier != grantId)
                        {
                            violations.Enqueue($"{requestId}: acknowledged as {earlier}, then as {grantId}");
                        }
                        acknowledged[requestId] = grantId;
                        unanswered = null;
                    }
                    else if (response.StatusCode is not (HttpStatusCode.ServiceUnavailable or HttpStatusCode.Conflict or HttpStatusCode.InternalServerError))
                    {
                        violations.Enqueue($"{requestId}: {(int)response.StatusCode} {text}");
                        unanswered = null;
                    }
                    else
                    {
                        unanswered = requestId;
                    }
                }
                catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
                {
                    // The server is down or was killed mid-request: the outcome is unknown, retry it.
                    unanswered = requestId;
                    await Task.Delay(50);
                }
            }
        })).ToList();

        for (int kill = 0; kill < Kills; kill++)
        {
            await Task.Delay(random.Next(300, 1200));
            server.Kill();
            server.Start();
            await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
        }
        await Task.Delay(500);
        await stop.CancelAsync();
        await Task.WhenAll(clients);
        server.Kill();
        Assert.True(violations.IsEmpty, string.Join("\n", violations.Take(10)));
        Assert.True(acknowledged.Count >= 10, $"only {acknowledged.Count} grants were acknowledged");

        using var connection = new SqliteConnection($"Data Source={Path.Combine(data.Path, "showrunner.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        var entries = new List<AuditEntry>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT seq, at, actor, action, target, before_value, after_value, reason, details, prev_hash, hash FROM audit_entries ORDER BY seq";
            using var reader = command.ExecuteReader();
            string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            while (reader.Read())
            {
                entries.Add(new AuditEntry(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                    Text(5), Text(6), Text(7), Text(8), (byte[])reader.GetValue(9), (byte[])reader.GetValue(10)));
            }
        }
        var verification = AuditChain.Verify(entries);
        Assert.True(verification.IsValid, $"{verification.Code} at entry {verification.FirstBadSeq}: {verification.Detail}");
        var ledger = new HashSet<string>(StringComparer.Ordinal);
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT grant_id FROM ledger_entries";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                ledger.Add(Convert.ToHexStringLower((byte[])reader.GetValue(0)));
            }
        }
        var granted = entries.Where(e => e.Action == "grant.create").GroupBy(e => e.Target).ToDictionary(g => g.Key, g => g.Count());
        // Nothing acknowledged is missing, nothing is recorded twice, nothing recorded that did not happen.
        Assert.All(acknowledged, a => Assert.True(granted.GetValueOrDefault(a.Value) == 1, $"{a.Key} ({a.Value}): {granted.GetValueOrDefault(a.Value)} entries"));
        Assert.All(granted, g => Assert.True(g.Value == 1 && ledger.Contains(g.Key), $"{g.Key}: {g.Value} entries, in the ledger: {ledger.Contains(g.Key)}"));
        output.WriteLine($"acknowledged={acknowledged.Count} audited grants={granted.Count} ledger grants={ledger.Count} entries={entries.Count}");
    }
}
