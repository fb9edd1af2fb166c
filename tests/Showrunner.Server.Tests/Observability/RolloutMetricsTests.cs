using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Server.Observability;
using Showrunner.Testing;
using N = Showrunner.Runtime.Observability.ShowrunnerMetrics.Names;

namespace Showrunner.Server.Tests.Observability;

/// <summary>A running rollout's step and gate values are gauges; a rollback with the reverse policy counts the rollback, the corrections and the reversed amounts.</summary>
[Trait("Category", "Component")]
public sealed class RolloutMetricsTests
{
    private static string Source(int gems) => ReleaseFixtures.Source("rollout-hunt-one-tier", ("title", "Hunt"), ("keep_earned", true), ("gems", gems));

    private static Uri U(string path) => new(path, UriKind.Relative);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<string> PublishAsync(HttpClient client, string source)
    {
        var (bundle, diagnostics) = Core.Rules.Bundle.ReleaseBundle.Build([new Core.Rules.Syntax.SourceText("r.hcl", source)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        var content = new ByteArrayContent(bundle.CanonicalBytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        using var response = await client.PostAsync(U("/v1/releases"), content);
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return bundle.Id;
    }

    private static async Task OkAsync(Task<HttpResponseMessage> sending, HttpStatusCode status = HttpStatusCode.OK)
    {
        using var response = await sending;
        Assert.True(response.StatusCode == status, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Gate_values_and_verdicts_are_gauges_and_a_reversing_rollback_is_counted()
    {
        using var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        string baseline = await PublishAsync(client, Source(10));
        await OkAsync(client.PostAsync(U($"/v1/releases/{baseline}/activate"), null));
        await factory.Services.GetRequiredService<LifecycleCoordinator>().TickAsync();
        string candidate = await PublishAsync(client, Source(100));
        const string plan = """{"steps":[{"percent":100}],"auto_advance":false,"on_rollback":"reverse","gates":{"min_actions":100000}}""";
        await OkAsync(client.PostAsync(U("/v1/rollout"), Json($$"""{"candidate":"{{candidate}}","salt":"s","reason":"test","plan":{{plan}}}""")),
            HttpStatusCode.Created);
        var actions = Enumerable.Range(0, 30).Select(i =>
            $$$"""{"id":"k-{{{i}}}","player":"r{{{i}}}","type":"combat.kill","at":"2026-11-22T11:59:00Z","data":{"target":"dragon"}}""");
        await OkAsync(client.PostAsync(U("/v1/actions"), Json("{\"actions\":[" + string.Join(",", actions) + "]}")));

        var collector = factory.Services.GetRequiredService<MetricsCollector>();
        var running = collector.Snapshot();
        Assert.Equal(1, running.Sum(N.RolloutActive));
        Assert.Equal(0, running.Sum(N.RolloutStep));
        (string, string)[] gems = [("gate", "reward_rate"), ("event", "hunt"), ("reward", "gems")];
        // 30 grants of 100 gems over 30 actions: 100,000 per 1,000 actions; the baseline had no action; allowed: 200% of it.
        Assert.Equal(100_000, running.Sum(N.RolloutGateValue, [.. gems, ("side", "candidate")]));
        Assert.Equal(0, running.Sum(N.RolloutGateValue, [.. gems, ("side", "baseline")]));
        Assert.Equal(200, running.Sum(N.RolloutGateValue, [.. gems, ("side", "threshold")]));
        // Below min_actions every gate is inconclusive (1).
        var statuses = running.Find(N.RolloutGateStatus)!.Series;
        Assert.Contains(statuses, s => s.Label("gate") == "p95_latency");
        Assert.All(statuses, s => Assert.Equal(1, s.Value));
        string text = PrometheusText.Render(running);
        Assert.Contains("showrunner_rollout_gate_value{event=\"hunt\",gate=\"reward_rate\",reward=\"gems\",side=\"candidate\"} 100000\n", text, StringComparison.Ordinal);
        Assert.Contains("showrunner_rollout_gate_status{event=\"\",gate=\"rejection_rate\",reward=\"\"} 1\n", text, StringComparison.Ordinal);

        await OkAsync(client.PostAsync(U("/v1/rollout/rollback"), Json("""{"reason":"wrong reward"}""")));
        var after = collector.Snapshot();
        Assert.Equal(0, after.Sum(N.RolloutActive));
        Assert.Empty(after.Find(N.RolloutGateValue)!.Series);
        Assert.Equal(1, after.Counter(N.RolloutRollbacks, ("trigger", "operator")));
        Assert.Equal(30, after.Counter(N.Grants, ("event", "hunt"), ("kind", "action")));
        Assert.Equal(30, after.Counter(N.Grants, ("event", "hunt"), ("kind", "correction")));
        Assert.Equal(3_000, after.Counter(N.CurrencyGranted, ("currency", "gems")));
        Assert.Equal(3_000, after.Counter(N.CurrencyReversed, ("event", "hunt"), ("currency", "gems")));
    }
}
