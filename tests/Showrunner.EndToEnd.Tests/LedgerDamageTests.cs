using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Showrunner.Core.Partitioning;
using Showrunner.Testing;
using Xunit.Abstractions;

namespace Showrunner.EndToEnd.Tests;

/// <summary>
/// A ledger edited on disk is found at start and never served as healthy, over the real server
/// process: four partitions are tampered with in four ways (an entry's canonical bytes, a player
/// column, a deleted row, two rows swapped); the restart logs each at its first bad entry, the
/// reads of those partitions answer 503 <c>ledger_damaged</c> (never 500, and never a grant under
/// a player its bytes do not name), the other partitions still serve and take grants, and the
/// dashboard's self-check and the metric report the damaged partitions; an untampered restart
/// reports <c>ok</c>. Also: the files the server creates are 0600 and the directory it creates 0700.
/// </summary>
[Trait("Category", "Fault")]
public sealed class LedgerDamageTests(ITestOutputHelper output)
{
    private const int Partitions = 8;
    private const int GrantsPerPlayer = 20;
    private static readonly string[] Arguments = ["--partitions", "8", "--Showrunner:Approvals:Enabled", "false"];

    private static Uri U(string path) => new(path, UriKind.Relative);

    /// <summary>A player id in each partition (the first "player-N" that routes there).</summary>
    private static string[] PlayerPerPartition()
    {
        var router = new PartitionRouter(Partitions);
        var players = new string[Partitions];
        for (int i = 0; players.Any(p => p is null); i++)
        {
            string player = "player-" + i.ToString(CultureInfo.InvariantCulture);
            players[router.PartitionOf(player)] ??= player;
        }
        return players;
    }

    private static async Task<JsonNode> Json(HttpResponseMessage response, HttpStatusCode expected)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"expected {expected}, got {response.StatusCode}: {body}");
        return JsonNode.Parse(body)!;
    }

    private static async Task<string> GrantAsync(HttpClient client, string player, string requestId)
    {
        using var content = new StringContent(
            $$"""{"request_id":"{{requestId}}","player":"{{player}}","rewards":{"gems":100},"reason":"ledger damage test"}""", Encoding.UTF8, "application/json");
        return (string)(await Json(await client.PostAsync(U("/v1/grants"), content), HttpStatusCode.Created))["grant_id"]!;
    }

    /// <summary>The 503 <c>ledger_damaged</c> problem, checked to name the partition and (when given) the first bad entry.</summary>
    private static async Task DamagedAsync(HttpResponseMessage response, int partition, long? firstBadIndex)
    {
        var problem = await Json(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("ledger_damaged", (string?)problem["code"]);
        Assert.Equal(partition, (int)problem["partition"]!);
        if (firstBadIndex is { } index)
        {
            Assert.Equal(index, (long)problem["first_bad_index"]!);
        }
    }

    /// <summary>Polls the dashboard until its ledger self-check has run (it runs within seconds of start).</summary>
    private static async Task<JsonNode> LedgerSectionAsync(HttpClient client, Func<JsonNode, bool> until)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var ledger = (await Json(await client.GetAsync(U("/v1/dashboard")), HttpStatusCode.OK))["ledger"]!;
            if (ledger["verification"] is JsonObject && until(ledger))
            {
                return ledger;
            }
            Assert.True(DateTime.UtcNow < deadline, "the dashboard's ledger self-check did not report within 30 s: " + ledger.ToJsonString());
            await Task.Delay(200);
        }
    }

    private static async Task<double> DamagedGaugeAsync(HttpClient client)
    {
        string text = await (await client.GetAsync(U("/metrics"))).Content.ReadAsStringAsync();
        string line = text.Split('\n').Single(l => l.StartsWith("showrunner_ledger_damaged_partitions ", StringComparison.Ordinal));
        return double.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture);
    }

    private static int Execute(string database, string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = new SqliteConnection($"Data Source={database};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        return command.ExecuteNonQuery();
    }

    [Fact]
    public async Task Tampered_partitions_are_found_at_start_and_refused_with_ledger_damaged_while_the_others_serve()
    {
        using var temp = new TempDirectory("showrunner-ledger-damage");
        string data = Path.Combine(temp.Path, "data");
        string[] players = PlayerPerPartition();
        var grants = new string[Partitions][];
        using (var server = new ServerProcess(TestServer.Dll, data, ServerProcess.FreePort(), Arguments))
        {
            server.Start();
            await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
            using var client = server.CreateClient(TimeSpan.FromSeconds(30));
            for (int p = 0; p < 6; p++)
            {
                grants[p] = new string[GrantsPerPlayer];
                for (int i = 0; i < GrantsPerPlayer; i++)
                {
                    grants[p][i] = await GrantAsync(client, players[p], $"g-{p}-{i}");
                }
            }
            // A receipt needs a checkpoint covering its grant: asking for the last ones signs one now.
            for (int p = 0; p < 6; p++)
            {
                await Json(await client.GetAsync(U($"/v1/rewards/{grants[p][^1]}/receipt")), HttpStatusCode.OK);
            }
            server.Kill();
        }

        // An untouched data directory: the start finds nothing, the self-check says ok.
        using (var server = new ServerProcess(TestServer.Dll, data, ServerProcess.FreePort(), Arguments))
        {
            server.Start();
            await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
            using var client = server.CreateClient(TimeSpan.FromSeconds(30));
            var ledger = await LedgerSectionAsync(client, _ => true);
            Assert.Equal("ok", (string?)ledger["verification"]!["result"]);
            Assert.Empty(ledger["damaged_partitions"]!.AsArray());
            Assert.Equal(0, await DamagedGaugeAsync(client));
            Assert.Contains(server.OutputLines, l => l.Contains("Ledger tails checked", StringComparison.Ordinal) && l.Contains("; 0 damaged", StringComparison.Ordinal));
            server.Kill();
        }

        // What an attacker (or a broken disk) with the file could do; the append-only triggers go first.
        string database = Path.Combine(data, "showrunner.db");
        foreach (string trigger in new[] { "ledger_entries_append_only_update", "ledger_entries_append_only_delete" })
        {
            Execute(database, $"DROP TRIGGER IF EXISTS {trigger}");
        }
        // Partition 0, entry 5: its reason is rewritten in the canonical bytes (still a well-formed entry).
        using (var connection = new SqliteConnection($"Data Source={database};Pooling=False"))
        {
            connection.Open();
            using var read = connection.CreateCommand();
            read.CommandText = "SELECT entry FROM ledger_entries WHERE partition = 0 AND idx = 5";
            string entry = Encoding.UTF8.GetString((byte[])read.ExecuteScalar()!);
            Assert.Contains("ledger damage test", entry, StringComparison.Ordinal);
            Assert.Equal(1, Execute(database, "UPDATE ledger_entries SET entry = $e WHERE partition = 0 AND idx = 5",
                ("$e", Encoding.UTF8.GetBytes(entry.Replace("ledger damage test", "ledger damage TEST", StringComparison.Ordinal)))));
        }
        // Partition 1, entry 4: the player column names partition 4's player.
        Assert.Equal(1, Execute(database, "UPDATE ledger_entries SET player = $p WHERE partition = 1 AND idx = 4", ("$p", players[4])));
        // Partition 2: entry 3 deleted. Partition 3: entries 1 and 2 swapped.
        Assert.Equal(1, Execute(database, "DELETE FROM ledger_entries WHERE partition = 2 AND idx = 3"));
        Execute(database, "UPDATE ledger_entries SET idx = -1 WHERE partition = 3 AND idx = 1");
        Execute(database, "UPDATE ledger_entries SET idx = 1 WHERE partition = 3 AND idx = 2");
        Assert.Equal(1, Execute(database, "UPDATE ledger_entries SET idx = 2 WHERE partition = 3 AND idx = -1"));

        using (var server = new ServerProcess(TestServer.Dll, data, ServerProcess.FreePort(), Arguments))
        {
            server.Start();
            await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
            using var client = server.CreateClient(TimeSpan.FromSeconds(30));
            var expected = new (int Partition, string Check, long Index)[]
            {
                (0, "chain.hash_mismatch", 5), (1, "ledger.columns_mismatch", 4), (2, "chain.index_gap", 3), (3, "chain.prev_hash_mismatch", 1),
            };
            foreach (var (partition, check, index) in expected)
            {
                Assert.Contains(server.OutputLines, l => l.Contains($"Ledger partition {partition} is damaged ({check}, first bad entry {index}, found by startup)", StringComparison.Ordinal));
            }
            output.WriteLine(string.Join('\n', server.OutputLines.Where(l => l.Contains("Ledger", StringComparison.Ordinal))));

            // Every read of a damaged partition answers the code: the edited entry, an intact entry before it, its receipt, its player's rewards.
            await DamagedAsync(await client.GetAsync(U($"/v1/rewards/{grants[0][5]}")), 0, 5);
            await DamagedAsync(await client.GetAsync(U($"/v1/rewards/{grants[0][5]}/receipt")), 0, 5);
            await DamagedAsync(await client.GetAsync(U($"/v1/rewards/{grants[0][0]}/receipt")), 0, 5);
            await DamagedAsync(await client.GetAsync(U($"/v1/players/{players[0]}/rewards")), 0, 5);
            await DamagedAsync(await client.GetAsync(U($"/v1/players/{players[2]}/events")), 2, 3);
            await DamagedAsync(await client.GetAsync(U($"/v1/rewards/{grants[3][7]}")), 3, 1);
            // The grant whose column now names partition 4's player is never listed under that player.
            await DamagedAsync(await client.GetAsync(U($"/v1/players/{players[4]}/rewards")), 1, 4);
            await DamagedAsync(await client.GetAsync(U($"/v1/players/{players[1]}/rewards")), 1, 4);

            // The other partitions serve, and take new grants.
            var rewards = await Json(await client.GetAsync(U($"/v1/players/{players[5]}/rewards")), HttpStatusCode.OK);
            Assert.Equal(GrantsPerPlayer, rewards["rewards"]!.AsArray().Count);
            Assert.All(rewards["rewards"]!.AsArray(), r => Assert.Equal(players[5], (string?)r!["player"]));
            await Json(await client.GetAsync(U($"/v1/rewards/{grants[5][3]}/receipt")), HttpStatusCode.OK);
            string fresh = await GrantAsync(client, players[5], "g-after");
            await Json(await client.GetAsync(U($"/v1/rewards/{fresh}/receipt")), HttpStatusCode.OK);

            var ledger = await LedgerSectionAsync(client, l => (string?)l["verification"]!["result"] != "ok");
            Assert.Equal("ledger_damaged", (string?)ledger["verification"]!["result"]);
            Assert.False((bool)ledger["verification"]!["ok"]!);
            var damaged = ledger["damaged_partitions"]!.AsArray();
            Assert.Equal(expected.Select(e => (e.Partition, e.Check, (long?)e.Index)),
                damaged.Select(d => ((int)d!["partition"]!, (string)d["check"]!, (long?)d["first_bad_index"])));
            Assert.All(damaged, d => Assert.Equal("startup", (string?)d!["found_by"]));
            Assert.Equal(4, await DamagedGaugeAsync(client));
            Assert.DoesNotContain(server.OutputLines, l => l.Contains("Unhandled failure", StringComparison.Ordinal));
            server.Kill();
        }
    }

    [Fact]
    public async Task The_data_directory_the_server_creates_is_0700_and_every_file_in_it_0600()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        using var temp = new TempDirectory("showrunner-modes");
        string data = Path.Combine(temp.Path, "data");
        using (var server = new ServerProcess(TestServer.Dll, data, ServerProcess.FreePort(), Arguments))
        {
            server.Start();
            await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
            using var client = server.CreateClient(TimeSpan.FromSeconds(30));
            // A grant and its receipt: the WAL holds commits and a checkpoint, the -shm exists.
            string grant = await GrantAsync(client, "player-modes", "g-modes");
            await Json(await client.GetAsync(U($"/v1/rewards/{grant}/receipt")), HttpStatusCode.OK);

            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(data));
            var files = Directory.GetFiles(data).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
            output.WriteLine(string.Join(", ", files));
            foreach (string name in new[] { "showrunner.db", "showrunner.db-wal", "showrunner.db-shm", "showrunner.lock", "admin.key", "token.key", "ledger-signing-key.pem" })
            {
                Assert.Contains(name, files);
            }
            foreach (string? name in files)
            {
                var mode = File.GetUnixFileMode(Path.Combine(data, name!));
                Assert.True(mode == (UnixFileMode.UserRead | UnixFileMode.UserWrite), $"{name} has mode {mode}");
            }
            server.Kill();
        }

        // An existing directory other users may enter is left alone, with a warning; files an older version left 0644 are narrowed.
        File.SetUnixFileMode(data, (UnixFileMode)Convert.ToInt32("755", 8));
        File.SetUnixFileMode(Path.Combine(data, "showrunner.db"), (UnixFileMode)Convert.ToInt32("644", 8));
        using (var server = new ServerProcess(TestServer.Dll, data, ServerProcess.FreePort(), Arguments))
        {
            server.Start();
            await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
            Assert.Equal((UnixFileMode)Convert.ToInt32("755", 8), File.GetUnixFileMode(data));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(data, "showrunner.db")));
            Assert.Contains(server.OutputLines, l => l.Contains($"Data directory {data} has mode 0755", StringComparison.Ordinal));
            Assert.Contains(server.OutputLines, l => l.Contains("Narrowed showrunner.db", StringComparison.Ordinal));
            server.Kill();
        }
    }
}
