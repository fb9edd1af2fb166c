using System.Security.Cryptography;
using Showrunner.Testing;

namespace Showrunner.Bench;

/// <summary>
/// The HTTP fuzzer of the end-to-end tests (tests/Shared/HttpFuzz.cs), run long: a random seed
/// (printed; --seed N replays it), requests in blocks of 5,000 until --seconds (default 600) pass,
/// against a server it starts (--configuration, default Release; a fresh data directory) or one at
/// --url with --key. Prints every violation with the request that caused it and exits 1 when
/// there is one. docs/testing.md, "The HTTP fuzzer".
/// </summary>
internal static class FuzzBench
{
    private const int Block = 5_000;

    public static async Task<int> RunAsync(BenchOptions options)
    {
        // A positive 31-bit seed: --seed is read as an int by the other modes' options too.
        ulong seed = options.Text("seed") is { } text ? ulong.Parse(text, System.Globalization.CultureInfo.InvariantCulture)
            : (ulong)RandomNumberGenerator.GetInt32(1, int.MaxValue);
        int seconds = options.Int("seconds", 600);
        Console.WriteLine($"fuzz: seed {seed} (replay: --seed {seed}), {seconds} s");
        ServerProcess? server = null;
        string? data = null;
        try
        {
            int port;
            string key;
            if (options.Url is { } url)
            {
                port = new Uri(url).Port;
                key = options.Key ?? throw new ArgumentException("--url needs --key (or SHOWRUNNER_KEY).");
            }
            else
            {
                data = options.Data ?? Path.Combine(Path.GetTempPath(), "showrunner-fuzz-" + Environment.ProcessId);
                server = new ServerProcess(ServerProcess.LocateServerDll(options.Configuration), data, ServerProcess.FreePort());
                server.Start();
                await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
                port = server.Port;
                key = server.AdminKey;
            }
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            var context = await HttpFuzz.ReadContextAsync(client);
            var fuzzer = new HttpFuzzer(port, key, client, TimeSpan.FromSeconds(5));
            var deadline = DateTime.UtcNow.AddSeconds(seconds);
            for (ulong block = 0; DateTime.UtcNow < deadline && fuzzer.Violations.Count == 0; block++)
            {
                // Block b of seed s is the same requests on every run: a failure replays with --seed.
                await fuzzer.RunAsync(HttpFuzz.Generate(context, seed + (block * 0x9E3779B97F4A7C15UL), Block), deadline, Console.WriteLine);
            }
            var ready = await RawHttp.SendAsync(port, RawHttp.Request("GET", "/readyz", [], null), TimeSpan.FromSeconds(5));
            Console.WriteLine($"fuzz: seed {seed}: {fuzzer.Sent} requests; answers by status: {fuzzer.Summary}; /readyz {ready.Status}");
            Console.WriteLine($"by endpoint: {fuzzer.EndpointSummary}");
            foreach (string violation in fuzzer.Violations)
            {
                Console.WriteLine("VIOLATION " + violation);
            }
            return fuzzer.Violations.Count == 0 && ready.Status == 200 ? 0 : 1;
        }
        finally
        {
            server?.Dispose();
            if (options.Data is null && data is not null && Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }
}
