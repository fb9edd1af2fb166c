using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Showrunner.Testing;
using Xunit.Abstractions;

namespace Showrunner.EndToEnd.Tests;

/// <summary>
/// LOST and DUP under crashes: concurrent game servers send batches (with re-sent ids and retries
/// after failures) while the server is killed with SIGKILL at random moments and restarted on the
/// same data. The oracle is the clients' own record of what was acknowledged, checked against what
/// is read back over HTTP and from the database file: every acknowledged action is stored exactly
/// once, with the seq it was acknowledged with. Set SHOWRUNNER_CRASH_SEED to replay a run.
/// </summary>
[Trait("Category", "Fault")]
public sealed class CrashTests(ITestOutputHelper output)
{
    private const int Clients = 6;
    private const int Kills = 6;

    private sealed record Sent(string Id, string Json);

    [Fact]
    public async Task Every_acknowledged_action_survives_kill_9_exactly_once_with_its_original_seq()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("SHOWRUNNER_CRASH_SEED"), out int s) ? s : Environment.TickCount;
        output.WriteLine($"seed={seed} (replay with SHOWRUNNER_CRASH_SEED={seed})");
        var random = new Random(seed);
        using var data = new TempDirectory("showrunner-crash");
        using var server = new ServerProcess(TestServer.Dll, data.Path, ServerProcess.FreePort());
        server.Start();
        await server.WaitReadyAsync(TimeSpan.FromSeconds(60));

        // id -> (partition, seq) as first acknowledged; every later acknowledgement must agree.
        var acknowledged = new ConcurrentDictionary<string, (int Partition, long Seq)>();
        var violations = new ConcurrentQueue<string>();
        long retries = 0, resent = 0, batches = 0;
        using var stop = new CancellationTokenSource();
        int[] clientSeeds = Enumerable.Range(0, Clients).Select(_ => random.Next()).ToArray();

        var clients = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            var clientRandom = new Random(clientSeeds[c]);
            var history = new List<Sent>();
            using var http = server.CreateClient(TimeSpan.FromSeconds(5));
            long counter = 0;
            while (!stop.IsCancellationRequested)
            {
                var batch = new List<Sent>();
                int size = clientRandom.Next(10, 60);
                for (int i = 0; i < size; i++)
                {
                    if (history.Count > 0 && clientRandom.NextDouble() < 0.15)
                    {
                        batch.Add(history[clientRandom.Next(history.Count)]);
                        Interlocked.Increment(ref resent);
                        continue;
                    }
                    string id = $"c{c}-{counter++}";
                    string at = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
                    var sent = new Sent(id, $"{{\"id\":\"{id}\",\"player\":\"player-{clientRandom.Next(500)}\",\"type\":\"crash.count\",\"at\":\"{at}\",\"data\":{{\"n\":{counter}}}}}");
                    batch.Add(sent);
                    history.Add(sent);
                }
                string body = "{\"actions\":[" + string.Join(",", batch.Select(b => b.Json)) + "]}";
                // A client retries the same batch until it is answered: after a kill, the retry is
                // where duplicates of committed-but-unanswered actions come from.
                while (true)
                {
                    try
                    {
                        using var response = await http.PostAsync(new Uri("/v1/actions", UriKind.Relative),
                            new StringContent(body, Encoding.UTF8, "application/json"));
                        if (response.StatusCode == HttpStatusCode.OK)
                        {
                            var results = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["results"]!.AsArray();
                            Record(batch, results, acknowledged, violations);
                            Interlocked.Increment(ref batches);
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
                        // The server is down (killed) or the connection was cut mid-request.
                    }
                    catch (TaskCanceledException)
                    {
                        // Timed out: the outcome is unknown, so the batch is sent again.
                    }
                    Interlocked.Increment(ref retries);
                    await Task.Delay(20);
                }
            }
        })).ToArray();

        for (int kill = 0; kill < Kills; kill++)
        {
            await Task.Delay(random.Next(300, 1500));
            long before = acknowledged.Count;
            server.Kill();
            output.WriteLine($"kill {kill + 1}: {before} ids acknowledged so far");
            server.Start();
            await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
        }
        await Task.Delay(500);
        stop.Cancel();
        await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(violations.IsEmpty, string.Join("\n", violations.Take(20)));
        output.WriteLine($"batches answered={batches} ids acknowledged={acknowledged.Count} re-sent actions={resent} client retries={retries}");
        Assert.True(acknowledged.Count > 1000, $"too little traffic to mean anything: {acknowledged.Count}");
        Assert.True(retries >= Kills, $"the kills should have forced retries: {retries}");

        // One last unclean stop, then read everything back from a fresh process.
        server.Kill();
        server.Start();
        await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
        using (var http = server.CreateClient())
        {
            var ids = acknowledged.Keys.ToArray();
            await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (id, _) =>
            {
                using var response = await http.GetAsync(new Uri("/v1/actions/" + id, UriKind.Relative));
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    violations.Enqueue($"LOST: acknowledged {id} is not stored ({(int)response.StatusCode})");
                    return;
                }
                var stored = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
                var expected = acknowledged[id];
                if ((long)stored["seq"]! != expected.Seq || (int)stored["partition"]! != expected.Partition)
                {
                    violations.Enqueue($"DUP/ORDER: {id} acknowledged as {expected} but stored as ({stored["partition"]}, {stored["seq"]})");
                }
            });
        }
        server.Kill();
        Assert.True(violations.IsEmpty, string.Join("\n", violations.Take(20)));

        // The database file itself: ids unique, each partition's seqs 1..head without gaps, heads agree.
        using var connection = new SqliteConnection($"Data Source={Path.Combine(data.Path, "showrunner.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        Assert.Equal(0L, Scalar(connection, "SELECT COUNT(*) - COUNT(DISTINCT id) FROM actions"));
        Assert.Equal(0L, Scalar(connection,
            "SELECT COUNT(*) FROM (SELECT partition, COUNT(*) AS n, MIN(seq) AS lo, MAX(seq) AS hi FROM actions GROUP BY partition) WHERE lo <> 1 OR hi <> n"));
        Assert.Equal(0L, Scalar(connection,
            "SELECT COUNT(*) FROM partition_heads h LEFT JOIN (SELECT partition, MAX(seq) AS hi FROM actions GROUP BY partition) a USING (partition) WHERE h.head <> COALESCE(a.hi, 0)"));
        long stored = Scalar(connection, "SELECT COUNT(*) FROM actions");
        Assert.True(stored >= acknowledged.Count, $"{stored} stored < {acknowledged.Count} acknowledged");
        output.WriteLine($"stored={stored} (acknowledged={acknowledged.Count}; the rest were committed but their answer was cut by a kill and the client had stopped retrying)");
    }

    private static void Record(List<Sent> batch, JsonArray results, ConcurrentDictionary<string, (int, long)> acknowledged, ConcurrentQueue<string> violations)
    {
        if (results.Count != batch.Count)
        {
            violations.Enqueue($"{results.Count} results for {batch.Count} actions");
            return;
        }
        for (int i = 0; i < batch.Count; i++)
        {
            var result = results[i]!;
            string status = (string)result["status"]!;
            if ((string?)result["id"] != batch[i].Id)
            {
                violations.Enqueue($"result {i} is for {(string?)result["id"]}, expected {batch[i].Id}");
                continue;
            }
            if (status is not ("accepted" or "duplicate"))
            {
                violations.Enqueue($"{batch[i].Id} was {status}: {result.ToJsonString()}");
                continue;
            }
            var ack = ((int)result["partition"]!, (long)result["seq"]!);
            var first = acknowledged.GetOrAdd(batch[i].Id, ack);
            if (first != ack)
            {
                violations.Enqueue($"DUP: {batch[i].Id} acknowledged as {first} and later as {ack}");
            }
        }
    }

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }
}
