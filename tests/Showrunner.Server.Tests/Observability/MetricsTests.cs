using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Runtime.Observability;
using Showrunner.Server.Observability;
using Showrunner.Testing;
using N = Showrunner.Runtime.Observability.ShowrunnerMetrics.Names;

namespace Showrunner.Server.Tests.Observability;

/// <summary>
/// After a known workload, every pipeline metric has exactly the value the workload implies —
/// read through the in-process collector and through <c>GET /metrics</c>. Each test has its own
/// server, and a collector sees only its own host's meter, so the counts are exact even while
/// other tests run in the same process.
/// </summary>
[Trait("Category", "Component")]
public sealed class MetricsTests
{
    internal static readonly string Release = ReleaseFixtures.Source("hunt-bronze-silver", ("start", "2026-11-22T00:00:00Z"));

    private static Uri U(string path) => new(path, UriKind.Relative);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    internal static string Kill(string id, string player, string target = "dragon") =>
        $$$"""{"id":"{{{id}}}","player":"{{{player}}}","type":"combat.kill","at":"2026-11-22T11:59:00Z","data":{"target":"{{{target}}}"}}""";

    internal static string Batch(params string[] actions) => "{\"actions\":[" + string.Join(",", actions) + "]}";

    private static async Task<(ShowrunnerFactory Factory, HttpClient Client)> StartAsync()
    {
        // Checkpoints are signed by the test (the service's interval is longer than any test).
        var factory = new ShowrunnerFactory(new() { ["Showrunner:CheckpointIntervalMs"] = "60000" });
        var client = await factory.ReadyClientAsync();
        var (bundle, diagnostics) = Core.Rules.Bundle.ReleaseBundle.Build([new Core.Rules.Syntax.SourceText("metrics.hcl", Release)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        var content = new ByteArrayContent(bundle.CanonicalBytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync(U("/v1/releases"), content)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(U($"/v1/releases/{bundle.Id}/activate"), null)).StatusCode);
        await factory.Services.GetRequiredService<LifecycleCoordinator>().TickAsync();
        return (factory, client);
    }

    private static async Task<JsonArray> PostAsync(HttpClient client, string body)
    {
        using var response = await client.PostAsync(U("/v1/actions"), Json(body));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!["results"]!.AsArray();
    }

    /// <summary>
    /// The workload: p-1 kills 4 dragons (20 points: bronze then silver), p-2 kills 2 (bronze), one
    /// repeat of an id (duplicate), one action that fails the release's schema (invalid_field_type),
    /// one with a bad type (invalid_type), and two refused batches (malformed JSON, wrong media type).
    /// </summary>
    internal static async Task RunWorkloadAsync(HttpClient client)
    {
        var first = await PostAsync(client, Batch(Kill("k1", "p-1"), Kill("k2", "p-1"), Kill("k3", "p-2")));
        Assert.All(first, r => Assert.Equal("accepted", (string?)r!["status"]));
        var second = await PostAsync(client, Batch(Kill("k4", "p-1"), Kill("k5", "p-1"), Kill("k6", "p-2"), Kill("k1", "p-1"),
            """{"id":"bad-data","player":"p-3","type":"combat.kill","at":"2026-11-22T11:59:00Z","data":{"target":7}}""",
            """{"id":"bad-type","player":"p-3","type":"Combat","at":"2026-11-22T11:59:00Z","data":{}}"""));
        Assert.Equal(["accepted", "accepted", "accepted", "duplicate", "rejected", "rejected"], second.Select(r => (string)r!["status"]!));
        Assert.Equal(["invalid_field_type", "invalid_type"], second.Skip(4).Select(r => (string)r!["code"]!));
        using (var malformed = await client.PostAsync(U("/v1/actions"), Json("{\"actions\":[")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        }
        using (var text = await client.PostAsync(U("/v1/actions"), new StringContent("x", Encoding.UTF8, "text/plain")))
        {
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.StatusCode);
        }
    }

    [Fact]
    public async Task A_known_workload_gives_exact_counts_for_every_pipeline_stage()
    {
        var (factory, client) = await StartAsync();
        using var _ = factory;
        await RunWorkloadAsync(client);
        var snapshot = factory.Services.GetRequiredService<MetricsCollector>().Snapshot();

        Assert.Equal(9, snapshot.Counter(N.ActionsReceived));
        Assert.Equal(6, snapshot.Counter(N.ActionsAccepted));
        Assert.Equal(1, snapshot.Counter(N.ActionsDuplicates));
        Assert.Equal(2, snapshot.Counter(N.ActionsRejected));
        Assert.Equal(1, snapshot.Counter(N.ActionsRejected, ("code", "invalid_field_type")));
        Assert.Equal(1, snapshot.Counter(N.ActionsRejected, ("code", "invalid_type")));
        Assert.Equal(2, snapshot.Counter(N.BatchesRefused));
        Assert.Equal(1, snapshot.Counter(N.BatchesRefused, ("code", "unsupported_media_type")));

        // Grants: p-1 bronze and silver, p-2 bronze, all caused by actions of event "hunt".
        Assert.Equal(3, snapshot.Counter(N.Grants, ("event", "hunt")));
        Assert.Equal(3, snapshot.Counter(N.Grants, ("event", "hunt"), ("kind", "action")));
        Assert.Equal(300, snapshot.Counter(N.CurrencyGranted, ("event", "hunt"), ("currency", "gems")));
        Assert.Equal(1, snapshot.Counter(N.CurrencyGranted, ("event", "hunt"), ("currency", "blade")));
        Assert.Equal(0, snapshot.Counter(N.CurrencyReversed));

        // Two acknowledged batches; the commits wrote exactly the accepted actions.
        var ack = snapshot.Histogram(N.AckLatency)!;
        Assert.Equal(2, ack.Count);
        Assert.True(ack.Sum > 0);
        var batches = snapshot.Histogram(N.CommitBatchSize)!;
        Assert.Equal(6, batches.Sum);
        Assert.InRange(batches.Count, 2, 6);
        Assert.Equal(batches.Count, snapshot.Histogram(N.CommitLatency)!.Count);
        Assert.Equal(0, snapshot.Counter(N.CommitFailures));
        // Every unit of work waited in an inbox once: at most one unit per partition per batch.
        Assert.InRange(snapshot.Histogram(N.QueueWait)!.Count, 2, 6);
        Assert.Equal(0, snapshot.Sum(N.PartitionQueueDepth));
        Assert.Equal(0, snapshot.Sum(N.PartitionQueueDepthMax));
        Assert.Equal(0, snapshot.Sum(N.RolloutActive));

        // The families carry their unit, description and kind.
        var accepted = snapshot.Find(N.ActionsAccepted)!;
        Assert.Equal((MetricKind.Counter, "{action}"), (accepted.Kind, accepted.Unit));
        Assert.False(string.IsNullOrWhiteSpace(accepted.Description));
        Assert.Equal(MetricKind.Histogram, snapshot.Find(N.AckLatency)!.Kind);
        Assert.Equal(MetricKind.Gauge, snapshot.Find(N.PartitionQueueDepth)!.Kind);
    }

    [Fact]
    public async Task Metrics_endpoint_shows_the_same_values_in_prometheus_text()
    {
        var (factory, client) = await StartAsync();
        using var _ = factory;
        await RunWorkloadAsync(client);
        await factory.Services.GetRequiredService<Runtime.Ledger.CheckpointSigner>().SignIfChangedAsync();
        await factory.Services.GetRequiredService<OutboxGaugeService>().RefreshAsync(CancellationToken.None);

        using var response = await client.GetAsync(U("/metrics"));
        string text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        var samples = PrometheusTextTests.Parse(text);

        Assert.Equal(9, samples["showrunner_actions_received_total"]);
        Assert.Equal(6, samples["showrunner_actions_accepted_total"]);
        Assert.Equal(1, samples["showrunner_actions_duplicates_total"]);
        Assert.Equal(1, samples["showrunner_actions_rejected_total{code=\"invalid_field_type\"}"]);
        Assert.Equal(1, samples["showrunner_actions_rejected_total{code=\"invalid_type\"}"]);
        Assert.Equal(3, samples["showrunner_grants_total{event=\"hunt\",kind=\"action\"}"]);
        Assert.Equal(300, samples["showrunner_currency_granted_total{currency=\"gems\",event=\"hunt\"}"]);
        Assert.Equal(2, samples["showrunner_ack_latency_seconds_count"]);
        Assert.Equal(2, samples["showrunner_ack_latency_seconds_bucket{le=\"+Inf\"}"]);
        Assert.Equal(6, samples["showrunner_commit_batch_size_sum"]);
        // Three grants are pending delivery (no webhook in the tests), none dead-lettered; the checkpoint covers them all.
        Assert.Equal(3, samples["showrunner_outbox_backlog"]);
        Assert.Equal(0, samples["showrunner_outbox_dead_letters"]);
        Assert.Equal(0, samples["showrunner_ledger_uncovered_entries"]);
        Assert.InRange(samples["showrunner_ledger_checkpoints_total"], 1, 2);
        Assert.Equal(0, samples["showrunner_ledger_checkpoint_age_seconds"]);
        Assert.Contains("# TYPE showrunner_ack_latency_seconds histogram\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE showrunner_actions_accepted_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE showrunner_outbox_backlog gauge\n", text, StringComparison.Ordinal);
        Assert.Contains("# HELP showrunner_actions_accepted_total Actions durably committed and acknowledged as new.\n", text, StringComparison.Ordinal);

        // The checkpoint ages with the clock; new grants are uncovered until the next checkpoint.
        factory.Clock.Advance(TimeSpan.FromSeconds(42));
        var kill = await client.PostAsync(U("/v1/actions"), Json(Batch(Kill("k7", "p-2"), Kill("k8", "p-2"))));
        Assert.Equal(HttpStatusCode.OK, kill.StatusCode);
        var later = factory.Services.GetRequiredService<MetricsCollector>().Snapshot();
        // The hosted signer runs on real time beside the manual clock: if it signed after the
        // grant, the grant is covered and the checkpoint is new (age 0); otherwise exactly one
        // entry waits and the old checkpoint is 42 s old. Either way the two gauges agree.
        var (age, uncovered) = (later.Sum(N.LedgerCheckpointAge), later.Sum(N.LedgerUncoveredEntries));
        Assert.True((age, uncovered) is (42, 1) or (0, 0), $"checkpoint age {age} s with {uncovered} uncovered entries");
    }

    [Fact]
    public async Task Metrics_need_a_viewer_key()
    {
        using var factory = new ShowrunnerFactory();
        _ = await factory.ReadyClientAsync();
        var (_, viewer) = await factory.CreateKeyAsync(role: "viewer");
        var (_, gameServer) = await factory.CreateKeyAsync(title: "default");
        using var anonymous = factory.ClientWith(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(U("/metrics"))).StatusCode);
        using var server = factory.ClientWith(gameServer);
        Assert.Equal(HttpStatusCode.Forbidden, (await server.GetAsync(U("/metrics"))).StatusCode);
        using var scraper = factory.ClientWith(viewer);
        Assert.Equal(HttpStatusCode.OK, (await scraper.GetAsync(U("/metrics"))).StatusCode);
    }

    [Fact]
    public async Task Two_servers_in_one_process_keep_their_counts_apart()
    {
        var (one, oneClient) = await StartAsync();
        using var _ = one;
        using var two = new ShowrunnerFactory();
        var twoClient = await two.ReadyClientAsync();
        await PostAsync(oneClient, Batch(Kill("x1", "p-1"), Kill("x2", "p-1")));
        await PostAsync(twoClient, Batch(Kill("y1", "p-1")));
        Assert.Equal(2, one.Services.GetRequiredService<MetricsCollector>().Counter(N.ActionsAccepted));
        Assert.Equal(1, two.Services.GetRequiredService<MetricsCollector>().Counter(N.ActionsAccepted));
    }

    [Fact]
    public async Task A_full_inbox_counts_an_overloaded_batch_and_nothing_else()
    {
        using var factory = new ShowrunnerFactory(new() { ["Showrunner:PartitionInboxCapacity"] = "2" });
        var client = await factory.ReadyClientAsync();
        using var response = await client.PostAsync(U("/v1/actions"), Json(Batch(Kill("o1", "p-1"), Kill("o2", "p-1"), Kill("o3", "p-1"))));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var snapshot = factory.Services.GetRequiredService<MetricsCollector>().Snapshot();
        Assert.Equal(1, snapshot.Counter(N.BatchesRefused, ("code", "overloaded")));
        Assert.Equal(3, snapshot.Counter(N.ActionsReceived));
        Assert.Equal(0, snapshot.Counter(N.ActionsAccepted));
        Assert.Equal(0, snapshot.Histogram(N.AckLatency)!.Count);
    }
}
