using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Bench;

/// <summary>
/// <c>chaos</c>: a fault campaign against the real server (bench/chaos/run-chaos.sh sets up the
/// file system and runs it). Game servers send batches of the live release's actions — some ids
/// sent again, every unanswered batch retried as is — while one fault at a time hits the server:
/// SIGKILL and restart, SIGSTOP then SIGCONT, a full disk, a slow disk, and 5× overload from
/// extra senders. The oracle is the senders' own record of what was acknowledged (id → partition,
/// seq). At the end the server is stopped with SIGTERM and the data directory is checked: every
/// acknowledged id stored exactly once with its acknowledged seq, no grant id twice, and
/// <c>showrunner ledger verify</c>, <c>reconcile</c> and <c>audit verify</c> pass.
/// </summary>
/// <remarks>
/// Options: --seconds (default 120) --seed (default: random, printed) --clients (4) --players
/// (5,000) --goal-target (3,000: the community goal of event 0 is reached early, so its bulk grant
/// and its late participants happen under faults) --think-ms (100 ms between a sender's batches)
/// --faults kill,stop,diskfull,slow,overload --fs DIR (the file system holding --data; needed for
/// disk-full episodes) --block-device MAJ:MIN (its block device; needed for slow-disk episodes,
/// through the cgroup v1 blkio write throttle) --max-faults N (default: one per 4 s).
/// Bounded: every fault lasts at most 10 s, every request 30 s, every start 10 minutes, and the
/// campaign ends by itself; the exit code is 1 if anything acknowledged was lost or doubled or a
/// check failed, 3 if only an unexpected status (5xx other than 503), a hang or a slow stop was seen.
/// </remarks>
internal static class ChaosCampaign
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ReadyAfterFaultTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Ready again later than this after a fault ended (a restart included) is reported as a finding.</summary>
    private static readonly TimeSpan SlowRecovery = TimeSpan.FromSeconds(30);
    private const string BlkioWriteIops = "/sys/fs/cgroup/blkio/blkio.throttle.write_iops_device";

    public static async Task<int> RunAsync(BenchOptions options)
    {
        int seconds = options.Int("seconds", 120);
        int seed = options.Text("seed") is { } given ? int.Parse(given, CultureInfo.InvariantCulture) : Environment.TickCount & int.MaxValue;
        int clients = options.Int("clients", 4);
        int players = options.Int("players", 5_000);
        int thinkMs = options.Int("think-ms", 100);
        int maxFaults = options.Int("max-faults", Math.Max(1, seconds / 4));
        string data = options.Data ?? throw new ArgumentException("chaos needs --data DIR (a fresh data directory, on --fs for disk faults).");
        if (File.Exists(Path.Combine(data, "showrunner.db")))
        {
            throw new ArgumentException($"--data {data} already holds a store; the campaign needs a fresh data directory.");
        }
        string? fs = options.Text("fs");
        string? device = options.Text("block-device");
        var faults = (options.Text("faults") ?? "kill,stop,diskfull,slow,overload").Split(',', StringSplitOptions.RemoveEmptyEntries).ToList();
        if (fs is null && faults.Remove("diskfull"))
        {
            Console.WriteLine("# no --fs: disk-full episodes left out");
        }
        if ((device is null || !File.Exists(BlkioWriteIops)) && faults.Remove("slow"))
        {
            Console.WriteLine($"# no --block-device or no {BlkioWriteIops}: slow-disk episodes left out");
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"# chaos: {seconds} s, seed {seed} (replay with --seed {seed}), {clients} senders, {players} players, faults {string.Join(",", faults)}, at most {maxFaults}"));
        Console.WriteLine($"# machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}; data {data}");

        var random = new Random(seed);
        var tally = new Tally();
        Directory.CreateDirectory(data);
        using var server = BenchServer.Create(options, data, deleteData: false);
        await server.StartAsync();
        var release = LiveRelease.Build(DateTimeOffset.UtcNow, options.Arguments.Contains("--goal-target") ? options : options with
        {
            Arguments = [.. options.Arguments, "--goal-target", "3000"],
        });
        await server.ActivateAsync(release);
        string key = server.Key!;

        using var stop = new CancellationTokenSource();
        int[] senderSeeds = [.. Enumerable.Range(0, clients).Select(_ => random.Next())];
        var senders = Enumerable.Range(0, clients)
            .Select(c => Task.Run(() => SendAsync(server.BaseAddress, key, $"c{c}", senderSeeds[c], players, 10, 40, thinkMs, tally, stop.Token)))
            .ToList();

        var campaign = Stopwatch.StartNew();
        var deadline = TimeSpan.FromSeconds(seconds);
        int done = 0;
        while (campaign.Elapsed < deadline && done < maxFaults)
        {
            await Task.Delay(random.Next(2_000, 6_000));
            if (campaign.Elapsed >= deadline)
            {
                break;
            }
            string fault = faults.Count == 0 ? "none" : faults[random.Next(faults.Count)];
            // How long the fault is held; a kill is instant (what follows is the restart).
            int lengthMs = random.Next(1_000, 10_001);
            if (fault == "kill")
            {
                lengthMs = 0;
            }
            long acknowledgedBefore = tally.Acknowledged.Count;
            var started = Stopwatch.GetTimestamp();
            tally.Fault = fault;
            switch (fault)
            {
                case "kill":
                    server.Kill();
                    tally.Kills++;
                    await server.StartAsync();
                    break;
                case "stop":
                    Signal(server, "STOP");
                    tally.Stops++;
                    await Task.Delay(lengthMs);
                    Signal(server, "CONT");
                    break;
                case "diskfull":
                    tally.DiskFull++;
                    long filled = Fill(Path.Combine(fs!, "chaos-filler"));
                    await Task.Delay(lengthMs);
                    // Sometimes the process dies while the disk is full, and starts once there is room again.
                    bool killed = random.NextDouble() < 0.25;
                    if (killed)
                    {
                        server.Kill();
                        tally.Kills++;
                    }
                    File.Delete(Path.Combine(fs!, "chaos-filler"));
                    if (killed)
                    {
                        await server.StartAsync();
                    }
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  (filled {filled / 1048576} MiB{(killed ? ", killed while full" : "")})"));
                    break;
                case "slow":
                    tally.SlowDisk++;
                    int iops = random.Next(5, 40);
                    File.WriteAllText(BlkioWriteIops, $"{device} {iops}");
                    await Task.Delay(lengthMs);
                    File.WriteAllText(BlkioWriteIops, $"{device} 0");
                    break;
                case "overload":
                    tally.Overloads++;
                    using (var burst = CancellationTokenSource.CreateLinkedTokenSource(stop.Token))
                    {
                        var extra = Enumerable.Range(0, clients * 5)
                            .Select(c => Task.Run(() => SendAsync(server.BaseAddress, key, $"o{tally.Overloads}-{c}", random.Next(), players, 100, 200, 0, tally, burst.Token)))
                            .ToList();
                        await Task.Delay(lengthMs);
                        await burst.CancelAsync();
                        await Task.WhenAll(extra);
                    }
                    break;
            }
            done++;
            bool ready = await WaitReadyAsync(server.BaseAddress, ReadyAfterFaultTimeout);
            tally.Fault = "none";
            if (!ready)
            {
                tally.Findings.Enqueue($"not ready {ReadyAfterFaultTimeout.TotalSeconds:F0} s after a {fault} episode (t={campaign.Elapsed.TotalSeconds:F0} s)");
                Console.WriteLine(server.Process?.RecentOutput);
                break;
            }
            var again = Stopwatch.GetElapsedTime(started);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"t={campaign.Elapsed.TotalSeconds,5:F0}s {fault,-9} {lengthMs,5} ms, ready again after {again.TotalSeconds:F1} s; acknowledged {acknowledgedBefore} -> {tally.Acknowledged.Count}"));
            if (again > TimeSpan.FromMilliseconds(lengthMs) + SlowRecovery)
            {
                tally.Findings.Enqueue(string.Create(CultureInfo.InvariantCulture,
                    $"ready only {(again - TimeSpan.FromMilliseconds(lengthMs)).TotalSeconds:F0} s after a {fault} episode ended (t={campaign.Elapsed.TotalSeconds:F0} s)"));
                Console.WriteLine(string.Join('\n', (server.Process?.RecentOutput ?? "").Split('\n').TakeLast(15).Select(l => "  | " + l)));
            }
        }
        await stop.CancelAsync();
        await Task.WhenAll(senders).WaitAsync(TimeSpan.FromMinutes(2));

        // A clean stop must finish within a bound, whatever happened before.
        int? pid = server.Process?.ProcessId;
        var stopping = Stopwatch.GetTimestamp();
        if (pid is not null)
        {
            Signal(server, "TERM");
            while (server.Process!.ProcessId is not null && Stopwatch.GetElapsedTime(stopping) < StopTimeout)
            {
                await Task.Delay(50);
            }
            if (server.Process.ProcessId is not null)
            {
                tally.Findings.Enqueue($"SIGTERM did not stop the server within {StopTimeout.TotalSeconds:F0} s");
            }
            server.Kill();
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# stopped with SIGTERM in {Stopwatch.GetElapsedTime(stopping).TotalSeconds:F1} s"));

        var check = CheckStore(data, tally);
        var verify = RunCli("ledger", "verify", "--data", data);
        var reconcile = RunCli("reconcile", "--data", data);
        var audit = RunCli("audit", "verify", "--data", data);
        Print(tally, check, campaign.Elapsed, verify, reconcile, audit);
        bool failed = check.Lost > 0 || check.Doubled > 0 || check.GrantsDoubled > 0 || check.SeqMismatch > 0 || !tally.Violations.IsEmpty
            || verify.ExitCode != 0 || reconcile.ExitCode != 0 || audit.ExitCode != 0;
        return failed ? 1 : tally.Unexpected > 0 || tally.Timeouts > 0 || !tally.Findings.IsEmpty ? 3 : 0;
    }

    /// <summary>What the senders saw and what the campaign did.</summary>
    private sealed class Tally
    {
        /// <summary>Id → (partition, seq) as first acknowledged.</summary>
        public ConcurrentDictionary<string, (int Partition, long Seq)> Acknowledged { get; } = new(StringComparer.Ordinal);
        public ConcurrentQueue<string> Violations { get; } = new();
        public ConcurrentQueue<string> Findings { get; } = new();
        public ConcurrentDictionary<string, long> Unanswered { get; } = new(StringComparer.Ordinal);
        public volatile string Fault = "none";
        public long Batches;
        public long Resent;
        public long Refused503;
        public long Refused429;
        public long Unexpected;
        public long ConnectionErrors;
        public long Timeouts;
        public long Rejected;
        public int Kills;
        public int Stops;
        public int DiskFull;
        public int SlowDisk;
        public int Overloads;
    }

    private sealed record StoreCheck(long Stored, long Lost, long Doubled, long SeqMismatch, long Grants, long GrantsDoubled, long GoalGrants);

    /// <summary>
    /// One game server: batches of <paramref name="minBatch"/>–<paramref name="maxBatch"/> actions
    /// (15 % of them ids it sent before, same content), each retried as is until answered; stops
    /// (abandoning the batch in hand) when <paramref name="stop"/> fires.
    /// </summary>
    private static async Task SendAsync(Uri baseAddress, string key, string name, int seed, int players, int minBatch, int maxBatch, int thinkMs,
        Tally tally, CancellationToken stop)
    {
        var random = new Random(seed);
        var history = new List<(string Id, string Json)>();
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = RequestTimeout };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        long counter = 0;
        while (!stop.IsCancellationRequested)
        {
            var batch = new List<(string Id, string Json)>();
            int size = random.Next(minBatch, maxBatch + 1);
            string at = Core.Actions.Rfc3339.Format(DateTime.UtcNow.Ticks);
            var ids = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < size; i++)
            {
                if (history.Count > 0 && random.NextDouble() < 0.15)
                {
                    var again = history[random.Next(history.Count)];
                    if (ids.Add(again.Id))
                    {
                        batch.Add(again);
                        Interlocked.Increment(ref tally.Resent);
                    }
                    continue;
                }
                string id = string.Create(CultureInfo.InvariantCulture, $"{name}-{counter++}");
                string json = string.Create(CultureInfo.InvariantCulture,
                    $"{{\"id\":\"{id}\",\"player\":\"player-{random.Next(players)}\",\"type\":\"{LiveRelease.ActionType}\",\"at\":\"{at}\",\"data\":{{\"zone\":{random.Next(LiveRelease.ZoneCount)}}}}}");
                ids.Add(id);
                batch.Add((id, json));
                if (history.Count < 10_000)
                {
                    history.Add((id, json));
                }
                else
                {
                    history[random.Next(history.Count)] = (id, json);
                }
            }
            string body = "{\"actions\":[" + string.Join(",", batch.Select(b => b.Json)) + "]}";
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var content = new StringContent(body, Encoding.UTF8, "application/json");
                    using var response = await http.PostAsync(new Uri("/v1/actions", UriKind.Relative), content, stop);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        var results = JsonNode.Parse(await response.Content.ReadAsStringAsync(stop))!["results"]!.AsArray();
                        Record(batch, results, tally);
                        Interlocked.Increment(ref tally.Batches);
                        break;
                    }
                    if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                    {
                        Interlocked.Increment(ref tally.Refused503);
                    }
                    else if (response.StatusCode == HttpStatusCode.TooManyRequests)
                    {
                        Interlocked.Increment(ref tally.Refused429);
                    }
                    else
                    {
                        Interlocked.Increment(ref tally.Unexpected);
                        string text = await response.Content.ReadAsStringAsync(stop);
                        tally.Findings.Enqueue($"HTTP {(int)response.StatusCode} during '{tally.Fault}': {text[..Math.Min(300, text.Length)]}");
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (TaskCanceledException)
                {
                    // No answer within the request timeout: the outcome is unknown; the batch is sent again.
                    Interlocked.Increment(ref tally.Timeouts);
                    tally.Unanswered.AddOrUpdate(tally.Fault, 1, (_, n) => n + 1);
                }
                catch (HttpRequestException)
                {
                    // Killed, stopping or restarting: the connection was refused or cut.
                    Interlocked.Increment(ref tally.ConnectionErrors);
                }
                try
                {
                    await Task.Delay(50 + random.Next(150), stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            if (thinkMs > 0)
            {
                try
                {
                    await Task.Delay(thinkMs, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private static void Record(List<(string Id, string Json)> batch, JsonArray results, Tally tally)
    {
        if (results.Count != batch.Count)
        {
            tally.Violations.Enqueue($"{results.Count} results for {batch.Count} actions");
            return;
        }
        for (int i = 0; i < batch.Count; i++)
        {
            var result = results[i]!;
            string status = (string)result["status"]!;
            if ((string?)result["id"] != batch[i].Id)
            {
                tally.Violations.Enqueue($"result {i} is for {(string?)result["id"]}, expected {batch[i].Id}");
                continue;
            }
            if (status is not ("accepted" or "duplicate"))
            {
                Interlocked.Increment(ref tally.Rejected);
                tally.Violations.Enqueue($"{batch[i].Id} was {status}: {result.ToJsonString()}");
                continue;
            }
            var ack = ((int)result["partition"]!, (long)result["seq"]!);
            var first = tally.Acknowledged.GetOrAdd(batch[i].Id, ack);
            if (first != ack)
            {
                tally.Violations.Enqueue($"DUP: {batch[i].Id} acknowledged as {first} and later as {ack}");
            }
        }
    }

    /// <summary>Takes every free byte of the file system holding <paramref name="path"/>: <c>fallocate</c> of the free space, then writes until ENOSPC.</summary>
    private static long Fill(string path)
    {
        long free = new DriveInfo(Path.GetDirectoryName(path)!).AvailableFreeSpace;
        using (var fallocate = Process.Start(new ProcessStartInfo("fallocate",
            ["-l", Math.Max(4096, free - (64 << 10)).ToString(CultureInfo.InvariantCulture), path])
        { UseShellExecute = false, RedirectStandardError = true })!)
        {
            fallocate.WaitForExit();
        }
        using var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write);
        file.Seek(0, SeekOrigin.End);
        var chunk = new byte[1 << 12];
        try
        {
            // Bounded: the 64 KiB left plus whatever the server frees meanwhile, capped at 64 MiB.
            for (int i = 0; i < (64 << 20) / chunk.Length; i++)
            {
                file.Write(chunk);
                file.Flush(flushToDisk: true);
            }
        }
        catch (IOException)
        {
            // The disk is full: what this episode is for.
        }
        return file.Length;
    }

    private static void Signal(BenchServer server, string signal)
    {
        if (server.Process?.ProcessId is not { } pid)
        {
            return;
        }
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, pid.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit();
    }

    private static async Task<bool> WaitReadyAsync(Uri baseAddress, TimeSpan timeout)
    {
        using var probe = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            try
            {
                using var response = await probe.GetAsync(new Uri("/readyz", UriKind.Relative));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Busy.
            }
            await Task.Delay(100);
        }
        return false;
    }

    /// <summary>The oracle against the database file: every acknowledged id once, with its acknowledged (partition, seq); grant ids unique.</summary>
    private static StoreCheck CheckStore(string data, Tally tally)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(data, "showrunner.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        var stored = new Dictionary<string, (int Partition, long Seq)>(StringComparer.Ordinal);
        long doubled = 0;
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT id, partition, seq FROM actions";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (!stored.TryAdd(reader.GetString(0), (reader.GetInt32(1), reader.GetInt64(2))))
                {
                    doubled++;
                }
            }
        }
        long lost = 0, mismatch = 0;
        foreach (var (id, ack) in tally.Acknowledged)
        {
            if (!stored.TryGetValue(id, out var found))
            {
                if (lost++ < 20)
                {
                    tally.Violations.Enqueue($"LOST: acknowledged {id} {ack} is not stored");
                }
            }
            else if (found != ack)
            {
                if (mismatch++ < 20)
                {
                    tally.Violations.Enqueue($"SEQ: {id} acknowledged as {ack}, stored as {found}");
                }
            }
        }
        long grants = Scalar(connection, "SELECT COUNT(*) FROM ledger_entries");
        long grantsDoubled = Scalar(connection, "SELECT COUNT(*) FROM (SELECT grant_id FROM ledger_entries NOT INDEXED GROUP BY grant_id HAVING COUNT(*) > 1)");
        long goalGrants = Scalar(connection, "SELECT COUNT(*) FROM ledger_entries NOT INDEXED WHERE cause_kind = 'community_goal'");
        return new StoreCheck(stored.Count, lost, doubled, mismatch, grants, grantsDoubled, goalGrants);
    }

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Runs the Release build of the <c>showrunner</c> CLI; returns its exit code and its last output line.</summary>
    private static (int ExitCode, string Summary) RunCli(params string[] arguments)
    {
        string dll = Path.Combine(ServerProcess.RepositoryRoot(), "src", "Showrunner.Cli", "bin", "Release", "net10.0", "showrunner.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            return (-1, "timed out after 10 minutes");
        }
        string text = (output.Result + errors.Result).Trim();
        return (process.ExitCode, string.Join(" | ", text.Split('\n').Select(l => l.Trim()).TakeLast(8)));
    }

    private static void Print(Tally tally, StoreCheck check, TimeSpan elapsed, (int ExitCode, string Summary) verify,
        (int ExitCode, string Summary) reconcile, (int ExitCode, string Summary) audit)
    {
        Console.WriteLine("## chaos campaign result");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"duration            {elapsed.TotalSeconds:F0} s"));
        Console.WriteLine($"acknowledged        {tally.Acknowledged.Count} ids ({tally.Batches} batches answered, {tally.Resent} ids sent again)");
        Console.WriteLine($"stored              {check.Stored} actions, {check.Grants} grants ({check.GoalGrants} of them for the community goal)");
        Console.WriteLine($"kills (SIGKILL)     {tally.Kills}");
        Console.WriteLine($"stops (SIGSTOP)     {tally.Stops}");
        Console.WriteLine($"disk-full episodes  {tally.DiskFull}");
        Console.WriteLine($"slow-disk episodes  {tally.SlowDisk}");
        Console.WriteLine($"overload bursts     {tally.Overloads}");
        Console.WriteLine($"refused             {tally.Refused503} × 503, {tally.Refused429} × 429");
        Console.WriteLine($"connection errors   {tally.ConnectionErrors} (killed or restarting)");
        Console.WriteLine($"unanswered in {RequestTimeout.TotalSeconds:F0} s  {tally.Timeouts} ({string.Join(", ", tally.Unanswered.Select(kv => $"{kv.Key}: {kv.Value}"))})");
        Console.WriteLine($"other statuses      {tally.Unexpected}");
        Console.WriteLine($"rejected actions    {tally.Rejected}");
        Console.WriteLine($"lost                {check.Lost}");
        Console.WriteLine($"doubled             {check.Doubled} actions, {check.GrantsDoubled} grant ids, {check.SeqMismatch} acknowledged with another seq");
        Console.WriteLine($"ledger verify       exit {verify.ExitCode}: {verify.Summary}");
        Console.WriteLine($"reconcile           exit {reconcile.ExitCode}: {reconcile.Summary}");
        Console.WriteLine($"audit verify        exit {audit.ExitCode}: {audit.Summary}");
        foreach (string violation in tally.Violations.Take(20))
        {
            Console.WriteLine("VIOLATION " + violation);
        }
        foreach (string finding in tally.Findings.Take(20))
        {
            Console.WriteLine("FINDING " + finding);
        }
    }
}
