using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Showrunner.Core.Ledger;

namespace Showrunner.Bench;

/// <summary>
/// <c>receipts</c>: what a player (or their support agent) reads back. Lists the rewards of
/// --sample-players random players (default 1,000; GET /v1/players/{p}/rewards?limit=500), then
/// fetches --receipts receipts of random grants among them (default 2,000) with --receipt-clients
/// concurrent clients (default 4), and checks --verify of those receipts (default 500) offline with
/// <see cref="ReceiptVerifier"/> against GET /v1/ledger/key?format=pem. Latencies are per request.
/// </summary>
/// <remarks>
/// Where the grants come from: --url (a running server), or --data DIR holding a store (the
/// server is started on it, e.g. after <c>live --data DIR</c>), or else a fresh directory with a
/// live load first (the live mode's options: --seconds, --rate, …). Verification runs after all
/// fetches, so it does not slow the clients. Players are drawn from --players with --seed.
/// </remarks>
internal static class ReceiptsBench
{
    /// <returns>The exit code: 1 when the live load had an answer other than accepted (<see cref="BenchResult.Check"/>) or a receipt failed to verify.</returns>
    public static async Task<int> RunAsync(BenchOptions options)
    {
        int loadCheck = 0;
        int samplePlayers = options.Int("sample-players", 1_000);
        int receipts = options.Int("receipts", 2_000);
        int clients = options.Int("receipt-clients", 4);
        int verify = options.Int("verify", 500);
        BenchServer server;
        if (options.Url is { } url)
        {
            server = BenchServer.AtUrl(url, options.Key);
        }
        else if (options.Data is { } data && File.Exists(Path.Combine(data, "showrunner.db")))
        {
            server = BenchServer.Create(options, data, deleteData: false);
            await server.StartAsync();
        }
        else
        {
            var (fresh, delete) = BenchServer.FreshDataDirectory(options, "receipts");
            server = BenchServer.Create(options, fresh, delete);
            await server.StartAsync();
            var bundle = LiveRelease.Build(TimeProvider.System.GetUtcNow(), options);
            LiveRelease.Describe(bundle, options);
            await server.ActivateAsync(bundle);
            Console.WriteLine($"## live load first ({options.Seconds} s + {options.Warmup} s warm-up), so that there are grants");
            loadCheck = (await LiveLoad.RunAsync(server, options, LiveBench.RunTag("r"))).Ingest.Check();
        }
        using (server)
        {
            var ledger = await server.GetJsonAsync("/v1/ledger");
            Console.WriteLine($"# ledger: {ledger["entries"]} entries, latest checkpoint {ledger["latest_checkpoint"]?["sequence"]}");
            Console.WriteLine($"# {samplePlayers} players, {receipts} receipts, {clients} concurrent clients, {verify} verified; seed {options.Seed}");

            var random = new Random(options.Seed);
            var players = SamplePlayers(random, options.Players, samplePlayers);
            var grantIds = new List<string>();
            var listMs = await RunConcurrentAsync(clients, players.Count, async (client, i) =>
            {
                var rewards = await GetJsonAsync(client, $"/v1/players/player-{players[i]}/rewards?limit=500");
                lock (grantIds)
                {
                    foreach (var reward in rewards["rewards"]!.AsArray())
                    {
                        grantIds.Add((string)reward!["grant_id"]!);
                    }
                }
            }, server.BaseAddress, server.Key);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"rewards list latency ms: {Percentiles.Format(listMs)}; {grantIds.Count} grants of {players.Count} players ({grantIds.Count / (double)players.Count:F1} per player)"));
            if (grantIds.Count == 0)
            {
                Console.WriteLine("no grants found: run a live load first (see --data / --seconds)");
                return 1;
            }

            // Random grants of the sampled players: distinct while there are enough, drawn again otherwise.
            grantIds.Sort(StringComparer.Ordinal);
            var chosen = grantIds.Count >= receipts
                ? [.. grantIds.OrderBy(_ => random.Next()).Take(receipts)]
                : Enumerable.Range(0, receipts).Select(_ => grantIds[random.Next(grantIds.Count)]).ToList();
            int verifyEvery = Math.Max(1, receipts / Math.Max(1, verify));
            var kept = new Dictionary<int, string>();
            long notFound = 0;
            var receiptMs = await RunConcurrentAsync(clients, chosen.Count, async (client, i) =>
            {
                using var response = await client.GetAsync(new Uri($"/v1/rewards/{chosen[i]}/receipt", UriKind.Relative));
                string json = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref notFound);
                    return;
                }
                if (i % verifyEvery == 0 && i / verifyEvery < verify)
                {
                    lock (kept)
                    {
                        kept[i] = json;
                    }
                }
            }, server.BaseAddress, server.Key);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"receipt latency ms ({clients} clients): {Percentiles.Format(receiptMs)}; {notFound} not 200"));

            string pem;
            using (var response = await server.Client.GetAsync(new Uri("/v1/ledger/key?format=pem", UriKind.Relative)))
            {
                response.EnsureSuccessStatusCode();
                pem = await response.Content.ReadAsStringAsync();
            }
            var failures = new SortedDictionary<string, int>(StringComparer.Ordinal);
            long verifyStarted = Stopwatch.GetTimestamp();
            foreach (var (_, json) in kept)
            {
                var verification = ReceiptVerifier.Verify(json, pem);
                if (!verification.IsValid)
                {
                    failures[verification.Code] = failures.GetValueOrDefault(verification.Code) + 1;
                }
            }
            double verifyMs = Stopwatch.GetElapsedTime(verifyStarted).TotalMilliseconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"receipts verified offline: {kept.Count}, failures {failures.Values.Sum()} (expected 0){(failures.Count > 0 ? ": " + string.Join(", ", failures.Select(f => $"{f.Key}={f.Value}")) : "")}; {verifyMs / Math.Max(1, kept.Count):F2} ms each"));
            return failures.Count > 0 ? 1 : loadCheck;
        }
    }

    private static List<int> SamplePlayers(Random random, int population, int count)
    {
        var chosen = new HashSet<int>();
        while (chosen.Count < Math.Min(count, population))
        {
            chosen.Add(random.Next(population));
        }
        return [.. chosen.Order()];
    }

    private static async Task<JsonNode> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    /// <summary>Runs work items 0..count-1 on <paramref name="clients"/> concurrent clients (one connection each); returns each item's latency in ms.</summary>
    private static async Task<List<double>> RunConcurrentAsync(int clients, int count, Func<HttpClient, int, Task> work, Uri baseAddress, string? key)
    {
        var latencies = new List<double>(count);
        int next = -1;
        var tasks = Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 1, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
            using var client = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
            BenchAuth.Apply(client, key);
            var mine = new List<double>();
            for (int i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
            {
                long started = Stopwatch.GetTimestamp();
                await work(client, i);
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            return mine;
        })).ToArray();
        foreach (var mine in await Task.WhenAll(tasks))
        {
            latencies.AddRange(mine);
        }
        return latencies;
    }
}
