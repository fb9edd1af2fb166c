using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Showrunner.Core.Ledger;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Testing;
using Xunit.Abstractions;

namespace Showrunner.EndToEnd.Tests;

/// <summary>
/// LOST and DUP for grants under kill -9: game servers send tier-crossing actions (with re-sent
/// ids and retries) while the real server is killed at random and restarted. Afterwards the
/// database file is read directly: every tier implied by an acknowledged action was granted,
/// every grant is implied by a stored action and appears once, every partition's hash chain and
/// Merkle root verify against the last signed checkpoint, and a receipt issued before the kills
/// still verifies, with a consistency proof from its checkpoint to the latest one.
/// Set SHOWRUNNER_CRASH_SEED to replay a run.
/// </summary>
[Trait("Category", "Fault")]
public sealed class GrantsCrashTests(ITestOutputHelper output)
{
    private const int Clients = 4;
    private const int Kills = 4;
    private const int Players = 60;
    private static readonly long[] Thresholds = [10, 20, 40, 80, 160, 320];

    private static string Release()
    {
        string start = DateTime.UtcNow.AddDays(-1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var tiers = string.Join("\n", Thresholds.Select(t => $$"""
              tier "t{{t}}" {
                at     = {{t}}
                reward = { gems = {{t}} }
              }
            """));
        return ReleaseFixtures.Source("marathon-generated-tiers", ("start", start), ("tiers", tiers));
    }

    [Fact]
    public async Task Every_grant_survives_kill_9_exactly_once_and_the_ledger_verifies()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("SHOWRUNNER_CRASH_SEED"), out int s) ? s : Environment.TickCount;
        output.WriteLine($"seed={seed} (replay with SHOWRUNNER_CRASH_SEED={seed})");
        var random = new Random(seed);
        using var data = new TempDirectory("showrunner-crash-grants");
        using var server = new ServerProcess(TestServer.Dll, data.Path, ServerProcess.FreePort(), "--Showrunner:LoadExample=false",
            "--Showrunner:CheckpointIntervalMs=200", "--Showrunner:SnapshotEveryActions=50", "--Showrunner:Approvals:Enabled=false");
        server.Start();
        await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
        using var admin = server.CreateClient(TimeSpan.FromSeconds(10));
        var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("crash.hcl", Release())]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        var content = new ByteArrayContent(bundle.CanonicalBytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsync(new Uri("/v1/releases", UriKind.Relative), content)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync(new Uri($"/v1/releases/{bundle.Id}/activate", UriKind.Relative), null)).StatusCode);

        var acknowledged = new ConcurrentDictionary<string, string>(); // id -> player
        var violations = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        int[] clientSeeds = Enumerable.Range(0, Clients).Select(_ => random.Next()).ToArray();
        var clients = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            var clientRandom = new Random(clientSeeds[c]);
            var history = new List<(string Id, string Player, string Json)>();
            using var http = server.CreateClient(TimeSpan.FromSeconds(5));
            long counter = 0;
            while (!stop.IsCancellationRequested)
            {
                var batch = new List<(string Id, string Player, string Json)>();
                for (int i = clientRandom.Next(5, 40); i > 0; i--)
                {
                    if (history.Count > 0 && clientRandom.NextDouble() < 0.15)
                    {
                        batch.Add(history[clientRandom.Next(history.Count)]);
                        continue;
                    }
                    string id = $"g{c}-{counter++}";
                    string player = "player-" + clientRandom.Next(Players).ToString(CultureInfo.InvariantCulture);
                    string at = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
                    var sent = (id, player, $$"""{"id":"{{id}}","player":"{{player}}","type":"combat.kill","at":"{{at}}","data":{"target":"dragon"} """.TrimEnd() + "}");
                    batch.Add(sent);
                    history.Add(sent);
                }
                string body = "{\"actions\":[" + string.Join(",", batch.Select(b => b.Json)) + "]}";
                while (true)
                {
                    try
                    {
                        using var response = await http.PostAsync(new Uri("/v1/actions", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
                        if (response.StatusCode == HttpStatusCode.OK)
                        {
                            var results = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["results"]!.AsArray();
                            for (int i = 0; i < batch.Count; i++)
                            {
                                string status = (string)results[i]!["status"]!;
                                if (status is "accepted" or "duplicate")
                                {
                                    acknowledged[batch[i].Id] = batch[i].Player;
                                }
                                else
                                {
                                    violations.Enqueue($"{batch[i].Id}: {results[i]!.ToJsonString()}");
                                }
                            }
                            break;
                        }
                        if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
                        {
                            violations.Enqueue($"unexpected status {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                            return;
                        }
                    }
                    catch (HttpRequestException)
                    {
                        // Killed, or the connection was cut: the outcome is unknown, send again.
                    }
                    catch (TaskCanceledException)
                    {
                        // Timed out: send again.
                    }
                    await Task.Delay(20);
                }
            }
        })).ToArray();

        // A receipt issued before the kills.
        string? receipt = null;
        for (int attempt = 0; receipt is null && attempt < 100; attempt++)
        {
            await Task.Delay(100);
            var rewards = JsonNode.Parse(await admin.GetStringAsync(new Uri("/v1/players/player-1/rewards", UriKind.Relative)))!["rewards"]!.AsArray();
            if (rewards.Count > 0)
            {
                receipt = await admin.GetStringAsync(new Uri($"/v1/rewards/{(string)rewards[0]!["grant_id"]!}/receipt", UriKind.Relative));
            }
        }
        Assert.NotNull(receipt);
        string keyPem = await admin.GetStringAsync(new Uri("/v1/ledger/key?format=pem", UriKind.Relative));

        for (int kill = 0; kill < Kills; kill++)
        {
            await Task.Delay(random.Next(300, 1500));
            server.Kill();
            output.WriteLine($"kill {kill + 1}: {acknowledged.Count} ids acknowledged so far");
            server.Start();
            await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
        }
        await Task.Delay(500);
        stop.Cancel();
        await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(violations.IsEmpty, string.Join("\n", violations.Take(20)));
        Assert.True(acknowledged.Count > 500, $"too little traffic: {acknowledged.Count}");

        // A last kill and restart; wait for a checkpoint over everything, then read the store.
        server.Kill();
        server.Start();
        await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
        for (int attempt = 0; attempt < 100; attempt++)
        {
            var summary = JsonNode.Parse(await admin.GetStringAsync(new Uri("/v1/ledger", UriKind.Relative)))!;
            if ((long)summary["uncheckpointed_entries"]! == 0 && summary["latest_checkpoint"] is not null)
            {
                break;
            }
            await Task.Delay(100);
        }
        var first = ReceiptVerifier.Verify(receipt, keyPem);
        Assert.True(first.IsValid, $"the receipt from before the kills: {first.Code} {first.Detail}");
        var latest = JsonNode.Parse(await admin.GetStringAsync(new Uri("/v1/ledger/checkpoints/latest", UriKind.Relative)))!;
        var consistency = JsonNode.Parse(await admin.GetStringAsync(new Uri(
            $"/v1/ledger/consistency?from={first.Checkpoint!.Sequence}&to={(long)latest["sequence"]!}", UriKind.Relative)))!;
        server.Kill();
        using var key = LedgerPublicKey.FromPem(keyPem).Key!;
        SignedCheckpoint Parse(JsonNode node) => new(Checkpoint.Decode(Convert.FromBase64String((string)node["checkpoint"]!)).Checkpoint!,
            Convert.FromBase64String((string)node["signature"]!));
        var proofs = consistency["proofs"]!.AsArray().Select(p => (IReadOnlyList<byte[]>)[.. p!["proof"]!.AsArray().Select(n => Convert.FromHexString((string)n!))]).ToList();
        var grew = CheckpointConsistency.Verify(Parse(consistency["from"]!), Parse(consistency["to"]!), proofs, key);
        Assert.True(grew.IsValid, grew.Detail);

        using var connection = new SqliteConnection($"Data Source={Path.Combine(data.Path, "showrunner.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        // Stored actions (a superset of the acknowledged ones) decide the points.
        var storedKills = new Dictionary<string, long>(StringComparer.Ordinal);
        var storedIds = new HashSet<string>(StringComparer.Ordinal);
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT id, player FROM actions WHERE type = 'combat.kill'";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                storedIds.Add(reader.GetString(0));
                storedKills[reader.GetString(1)] = storedKills.GetValueOrDefault(reader.GetString(1)) + 1;
            }
        }
        Assert.All(acknowledged.Keys, id => Assert.Contains(id, storedIds));
        var granted = new List<(string Player, string Rule)>();
        var checkpoint = Parse(latest).Checkpoint;
        for (int p = 0; p < checkpoint.Partitions.Count; p++)
        {
            var entries = new List<StoredEntry>();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT idx, entry, prev_hash, hash FROM ledger_entries WHERE partition = $p ORDER BY idx";
            command.Parameters.AddWithValue("$p", p);
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    entries.Add(new StoredEntry(reader.GetInt64(0), (byte[])reader.GetValue(1), (byte[])reader.GetValue(2), (byte[])reader.GetValue(3)));
                }
            }
            var verified = ChainVerifier.Verify(p, entries, checkpoint.Partitions[p]);
            Assert.True(verified.IsValid, $"partition {p}: {verified.Code} at {verified.FirstBadIndex}: {verified.Detail}");
            granted.AddRange(entries.Select(e => GrantEntry.Decode(e.Entry, e.PrevHash).Entry!).Select(e => (e.Player, e.Rule)));
        }
        var expected = storedKills.SelectMany(k => Thresholds.Where(t => t <= 5 * k.Value).Select(t => (k.Key, "tier:t" + t.ToString(CultureInfo.InvariantCulture)))).Order().ToList();
        Assert.Equal(expected, granted.Order().ToList());
        output.WriteLine($"acknowledged={acknowledged.Count} stored kills={storedIds.Count} grants={granted.Count}");
    }
}
