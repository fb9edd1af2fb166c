using System.Globalization;
using Showrunner.Testing;
using Xunit.Abstractions;

namespace Showrunner.EndToEnd.Tests;

/// <summary>
/// The grammar-aware HTTP fuzzer (tests/Shared/HttpFuzz.cs) against the real server over loopback
/// sockets, with a fixed seed and a CI budget: no 5xx, no hang, every error a problem document,
/// nothing stored by a refused request, and the server still ready at the end. The long run with
/// a random seed is <c>bench fuzz</c> (docs/testing.md, "The HTTP fuzzer").
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class HttpFuzzTests(ITestOutputHelper output) : RunningServerTest("showrunner-fuzz")
{
    /// <summary>Requests per run: about 12 s on an idle 2-core machine (Debug build); the budget below bounds a loaded one.</summary>
    private const int DefaultCount = 2_500;
    /// <summary>Fewer requests than this within the budget fails the run instead of passing on a sample too small to mean much.</summary>
    private const int MinimumSent = 300;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task Generated_and_mutated_requests_to_every_endpoint_get_no_5xx_no_hang_and_change_nothing_when_refused()
    {
        ulong seed = Environment.GetEnvironmentVariable("SHOWRUNNER_FUZZ_SEED") is { Length: > 0 } text
            ? ulong.Parse(text, CultureInfo.InvariantCulture) : 20261212;
        int count = Environment.GetEnvironmentVariable("SHOWRUNNER_FUZZ_COUNT") is { Length: > 0 } n ? int.Parse(n, CultureInfo.InvariantCulture) : DefaultCount;
        output.WriteLine($"HTTP fuzz seed {seed} (replay: SHOWRUNNER_FUZZ_SEED={seed}), {count} requests");
        var deadline = DateTime.UtcNow + Budget;
        using var client = Server.CreateClient(TimeSpan.FromSeconds(10));
        var context = await HttpFuzz.ReadContextAsync(client);
        var requests = HttpFuzz.Generate(context, seed, count);
        var fuzzer = new HttpFuzzer(Server.Port, Server.AdminKey, client, TimeSpan.FromSeconds(5));
        // SHOWRUNNER_FUZZ_TRACE=1 prints every request and its answer.
        await fuzzer.RunAsync(requests, deadline, output.WriteLine, Environment.GetEnvironmentVariable("SHOWRUNNER_FUZZ_TRACE") == "1" ? output.WriteLine : null);
        output.WriteLine($"{fuzzer.Sent} of {count} requests sent; answers by status: {fuzzer.Summary}");
        output.WriteLine($"by endpoint: {fuzzer.EndpointSummary}");

        Assert.True(fuzzer.Violations.Count == 0, $"seed {seed}: {fuzzer.Violations.Count} violation(s):\n" + string.Join("\n", fuzzer.Violations));
        Assert.True(fuzzer.Sent >= Math.Min(count, MinimumSent), $"only {fuzzer.Sent} of {count} requests within {Budget.TotalSeconds} s");
        var ready = await RawHttp.SendAsync(Server.Port, RawHttp.Request("GET", "/readyz", [], null), TimeSpan.FromSeconds(5));
        Assert.Equal(200, ready.Status);
        Assert.DoesNotContain(Server.OutputLines, line => line.Contains("Unhandled failure", StringComparison.Ordinal));
    }
}
