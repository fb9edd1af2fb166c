using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Showrunner.Runtime.Tests.Outbox;
using Showrunner.Storage.Outbox;
using Showrunner.Testing;

namespace Showrunner.Server.Tests;

/// <summary>The outbox endpoints over HTTP, on the server's SQLite outbox; and the hosted worker delivering to a real receiver.</summary>
[Trait("Category", "Integration")]
public sealed class OutboxApiTests
{
    private const string Secret = "outbox-api-test-secret-0123456789abcdef";
    private static readonly DateTimeOffset T0 = ShowrunnerFactory.Now;
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    private static async Task<JsonNode> Ok(HttpResponseMessage response)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {body}");
        return JsonNode.Parse(body)!;
    }

    private static Uri Path(string path) => new(path, UriKind.Relative);

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<JsonNode> Get(HttpClient client, string path) => await Ok(await client.GetAsync(Path(path)));

    [Fact]
    public async Task Without_a_webhook_delivery_is_off_and_the_counts_show_what_waits()
    {
        using var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        var empty = await Get(client, "/v1/outbox");
        Assert.Equal("""
            {"webhook_configured":false,"target":null,"pending":0,"delivered":0,"dead_lettered":0,"oldest_pending_enqueued_at":null,"now":"2026-11-22T12:00:00Z","worker":null,"circuit":null}
            """, empty.ToJsonString());

        var outbox = factory.Store.Outbox;
        await outbox.EnqueueAsync("g-old", "{}"u8.ToArray(), T0 - Minute);
        await outbox.EnqueueAsync("g-new", "{}"u8.ToArray(), T0);
        await outbox.EnqueueAsync("g-done", "{}"u8.ToArray(), T0);
        await outbox.RecordAttemptAsync("g-done", AttemptRecord.Delivered(T0, 200));
        var status = await Get(client, "/v1/outbox");
        Assert.Equal((2, 1, 0, "2026-11-22T11:59:00Z"),
            ((int)status["pending"]!, (int)status["delivered"]!, (int)status["dead_lettered"]!, (string?)status["oldest_pending_enqueued_at"]));
        // Nothing runs to deliver them: they stay pending, never attempted.
        Assert.Equal((0, "pending"), ((int)(await Get(client, "/v1/outbox/g-old"))["attempts"]!, (string?)(await Get(client, "/v1/outbox/g-old"))["status"]));
    }

    [Fact]
    public async Task One_delivery_is_shown_by_grant_id_and_an_unknown_one_is_delivery_not_found()
    {
        using var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        var outbox = factory.Store.Outbox;
        await outbox.EnqueueAsync("g-1", "{}"u8.ToArray(), T0);
        await outbox.TakeDueAsync(T0, 1, T0 + Minute);
        await outbox.RecordAttemptAsync("g-1", AttemptRecord.Failed(T0, 503, "HTTP 503", T0 + 2 * Minute));

        var state = await Get(client, "/v1/outbox/g-1");
        Assert.Equal("""
            {"grant_id":"g-1","status":"pending","attempts":1,"total_attempts":1,"enqueued_at":"2026-11-22T12:00:00Z","next_attempt_at":"2026-11-22T12:02:00Z","last_attempt_at":"2026-11-22T12:00:00Z","last_status_code":503,"last_error":"HTTP 503","delivered_at":null,"dead_lettered_at":null}
            """, state.ToJsonString());
        var missing = await ActionsApiTests.ProblemOf(await client.GetAsync(Path("/v1/outbox/g-2")), HttpStatusCode.NotFound, "delivery_not_found");
        Assert.Contains("g-2", (string?)missing["detail"], StringComparison.Ordinal);
        await ActionsApiTests.ProblemOf(await client.GetAsync(Path("/v1/outbox/" + new string('a', 257))), HttpStatusCode.NotFound, "delivery_not_found");
    }

    [Fact]
    public async Task Dead_letters_are_listed_in_grant_id_order_in_pages_that_link_to_the_next()
    {
        using var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        var outbox = factory.Store.Outbox;
        foreach (string id in new[] { "d/3", "d-1", "d-2", "live" })
        {
            await outbox.EnqueueAsync(id, "{}"u8.ToArray(), T0);
        }
        foreach (string id in new[] { "d/3", "d-1", "d-2" })
        {
            await outbox.RecordAttemptAsync(id, AttemptRecord.DeadLettered(T0 + Minute, 410, "HTTP 410"));
        }

        var first = await Get(client, "/v1/outbox/dead-letters?limit=2");
        Assert.Equal(["d-1", "d-2"], first["dead_letters"]!.AsArray().Select(d => (string?)d!["grant_id"]));
        Assert.Equal(("dead_lettered", "2026-11-22T12:01:00Z", 410), ((string?)first["dead_letters"]![0]!["status"],
            (string?)first["dead_letters"]![0]!["dead_lettered_at"], (int)first["dead_letters"]![0]!["last_status_code"]!));
        Assert.Equal("/v1/outbox/dead-letters?limit=2&after=d-2", (string?)first["next"]);
        var second = await Get(client, (string)first["next"]!);
        Assert.Equal(["d/3"], second["dead_letters"]!.AsArray().Select(d => (string?)d!["grant_id"]));
        Assert.Null(second["next"]);
        var all = await Get(client, "/v1/outbox/dead-letters");
        Assert.Equal(3, all["dead_letters"]!.AsArray().Count);

        foreach (string query in new[] { "limit=0", "limit=501", "limit=x", "limit=-1" })
        {
            var problem = await ActionsApiTests.ProblemOf(await client.GetAsync(Path("/v1/outbox/dead-letters?" + query)), HttpStatusCode.BadRequest, "invalid_parameter");
            Assert.Equal("limit", (string?)problem["parameter"]);
        }
        var after = await ActionsApiTests.ProblemOf(await client.GetAsync(Path("/v1/outbox/dead-letters?after=")), HttpStatusCode.BadRequest, "invalid_parameter");
        Assert.Equal("after", (string?)after["parameter"]);
    }

    [Fact]
    public async Task Redeliver_moves_by_scope_and_grant_ids_and_answers_how_many_moved()
    {
        using var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        var outbox = factory.Store.Outbox;
        foreach (string id in new[] { "d-1", "d-2", "d-3", "f-1", "p-1" })
        {
            await outbox.EnqueueAsync(id, "{}"u8.ToArray(), T0);
        }
        foreach (string id in new[] { "d-1", "d-2", "d-3" })
        {
            await outbox.RecordAttemptAsync(id, AttemptRecord.DeadLettered(T0, 400, "HTTP 400"));
        }
        await outbox.RecordAttemptAsync("f-1", AttemptRecord.Failed(T0, 500, "HTTP 500", T0 + 30 * Minute));
        factory.Clock.Advance(Minute);

        var byId = await Ok(await client.PostAsync(Path("/v1/outbox/redeliver"), Json("""{"scope":"dead_lettered","grant_ids":["d-2","f-1","nope"]}""")));
        Assert.Equal("""{"scope":"dead_lettered","moved":1,"webhook_configured":false}""", byId.ToJsonString());
        var moved = await Get(client, "/v1/outbox/d-2");
        Assert.Equal(("pending", 0, 1, "2026-11-22T12:01:00Z"), ((string?)moved["status"], (int)moved["attempts"]!, (int)moved["total_attempts"]!, (string?)moved["next_attempt_at"]));

        Assert.Equal(2, (int)(await Ok(await client.PostAsync(Path("/v1/outbox/redeliver"), Json("""{"scope":"dead_lettered","grant_ids":null}"""))))["moved"]!);
        var allFailed = await Ok(await client.PostAsync(Path("/v1/outbox/redeliver"), Json("""{"scope":"all_failed"}""")));
        Assert.Equal(("all_failed", 1), ((string?)allFailed["scope"], (int)allFailed["moved"]!));
        Assert.Equal("2026-11-22T12:01:00Z", (string?)(await Get(client, "/v1/outbox/f-1"))["next_attempt_at"]);
        Assert.Equal(0, (int)(await Ok(await client.PostAsync(Path("/v1/outbox/redeliver"), Json("""{"scope":"all_failed"}"""))))["moved"]!);
        Assert.Equal(0, (int)(await Get(client, "/v1/outbox"))["dead_lettered"]!);
    }

    [Theory]
    [InlineData("""{"grant_ids":["g"]}""", "invalid_parameter", "scope")]
    [InlineData("""{"scope":"everything"}""", "invalid_parameter", "scope")]
    [InlineData("""{"scope":2}""", "invalid_parameter", "scope")]
    [InlineData("""{"scope":"dead_lettered","grant_ids":[]}""", "invalid_parameter", "grant_ids")]
    [InlineData("""{"scope":"dead_lettered","grant_ids":"g-1"}""", "invalid_parameter", "grant_ids")]
    [InlineData("""{"scope":"dead_lettered","grant_ids":["g-1",7]}""", "invalid_parameter", "grant_ids")]
    [InlineData("""{"scope":"dead_lettered","grant_ids":[""]}""", "invalid_parameter", "grant_ids")]
    [InlineData("""{"scope":"dead_lettered","grantIds":["g-1"]}""", "invalid_parameter", "grantIds")]
    [InlineData("""["dead_lettered"]""", "invalid_json", null)]
    [InlineData("""{"scope":""", "invalid_json", null)]
    [InlineData("", "invalid_json", null)]
    public async Task Redeliver_refuses_a_malformed_request_with_a_stable_code_and_moves_nothing(string body, string code, string? parameter)
    {
        using var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        await factory.Store.Outbox.EnqueueAsync("g-1", "{}"u8.ToArray(), T0);
        await factory.Store.Outbox.RecordAttemptAsync("g-1", AttemptRecord.DeadLettered(T0, 400, "HTTP 400"));

        var problem = await ActionsApiTests.ProblemOf(await client.PostAsync(Path("/v1/outbox/redeliver"), Json(body)), HttpStatusCode.BadRequest, code);
        Assert.Equal(parameter, (string?)problem["parameter"]);
        Assert.Equal("dead_lettered", (string?)(await Get(client, "/v1/outbox/g-1"))["status"]);
    }

    [Fact]
    public async Task Redeliver_refuses_another_media_type_too_many_ids_and_a_body_over_its_limit()
    {
        using var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        await ActionsApiTests.ProblemOf(await client.PostAsync(Path("/v1/outbox/redeliver"), new StringContent("""{"scope":"all_failed"}""", Encoding.UTF8, "text/plain")),
            HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        await ActionsApiTests.ProblemOf(await client.PostAsync(Path("/v1/outbox/redeliver"), null), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");

        string ids = string.Join(",", Enumerable.Range(0, 1_001).Select(i => $"\"g-{i}\""));
        var tooMany = await ActionsApiTests.ProblemOf(await client.PostAsync(Path("/v1/outbox/redeliver"), Json($$"""{"scope":"dead_lettered","grant_ids":[{{ids}}]}""")),
            HttpStatusCode.BadRequest, "invalid_parameter");
        Assert.Contains("at most 1000", (string?)tooMany["detail"], StringComparison.Ordinal);

        string huge = $$"""{"scope":"dead_lettered","grant_ids":["{{new string('a', 130 * 1024)}}"]}""";
        await ActionsApiTests.ProblemOf(await client.PostAsync(Path("/v1/outbox/redeliver"), Json(huge)), HttpStatusCode.RequestEntityTooLarge, "body_too_large");
    }

    [Fact]
    public async Task With_a_webhook_the_hosted_worker_delivers_signed_grants_and_reports_its_circuit()
    {
        await using var receiver = await WebhookReceiver.StartAsync(Secret);
        using var factory = new ShowrunnerFactory(new()
        {
            ["Showrunner:Outbox:WebhookUrl"] = receiver.Url + "?token=hidden",
            ["Showrunner:Outbox:WebhookSecret"] = Secret,
            ["Showrunner:Outbox:PollIntervalMs"] = "20",
        });
        var client = await factory.ReadyClientAsync();
        await factory.Store.Outbox.EnqueueAsync("g-1", "{\"grant_id\":\"g-1\"}"u8.ToArray(), T0);
        await factory.Store.Outbox.EnqueueAsync("g-2", "{\"grant_id\":\"g-2\"}"u8.ToArray(), T0);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        JsonNode status;
        while ((int)(status = await Get(client, "/v1/outbox"))["delivered"]! < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "not delivered within 15 s: " + status.ToJsonString());
            await Task.Delay(20);
        }
        Assert.Equal(["g-1", "g-2"], receiver.Acknowledged.Order(StringComparer.Ordinal));
        Assert.All(receiver.Requests, r => Assert.True(r.SignatureValid));
        Assert.Equal((true, receiver.Url, 0), ((bool)status["webhook_configured"]!, (string?)status["target"], (int)status["pending"]!));
        Assert.DoesNotContain("hidden", status.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(("closed", 0, 2), ((string?)status["circuit"]!["state"], (int)status["circuit"]!["consecutive_failures"]!, (int)status["worker"]!["delivered"]!));
        var state = await Get(client, "/v1/outbox/g-1");
        Assert.Equal(("delivered", 1, 200, "2026-11-22T12:00:00Z"), ((string?)state["status"], (int)state["attempts"]!, (int)state["last_status_code"]!, (string?)state["delivered_at"]));
    }

    [Fact]
    [Trait("Category", "Fault")]
    public async Task Grants_made_by_actions_reach_a_receiver_that_fails_times_out_and_recovers_each_once_with_one_body()
    {
        // An outage: the receiver's first 12 requests get 503, the next 6 hang past the attempt
        // timeout, the next 6 have their connection reset; then it recovers and answers 200.
        await using var receiver = await WebhookReceiver.StartAsync(Secret);
        int seen = 0;
        receiver.Behave = _ => Interlocked.Increment(ref seen) switch
        {
            <= 12 => new ReceiverBehavior.Answer(503),
            <= 18 => new ReceiverBehavior.Hang(TimeSpan.FromSeconds(30)),
            <= 24 => new ReceiverBehavior.Reset(),
            _ => ReceiverBehavior.Ok,
        };
        using var factory = new ShowrunnerFactory(new()
        {
            ["Showrunner:Outbox:WebhookUrl"] = receiver.Url,
            ["Showrunner:Outbox:WebhookSecret"] = Secret,
            ["Showrunner:Outbox:PollIntervalMs"] = "20",
            ["Showrunner:Outbox:AttemptTimeoutSeconds"] = "1",
            ["Showrunner:Outbox:BackoffBaseMs"] = "100",
            ["Showrunner:Outbox:BackoffCapSeconds"] = "1",
            ["Showrunner:Outbox:MaxInFlight"] = "8",
            ["Showrunner:Outbox:CircuitFailureThreshold"] = "4",
            ["Showrunner:Outbox:CircuitCoolDownMs"] = "500",
            ["Showrunner:Outbox:CircuitCoolDownMaxSeconds"] = "2",
        });
        var client = await factory.ReadyClientAsync();
        var (bundle, diagnostics) = Core.Rules.Bundle.ReleaseBundle.Build([new Core.Rules.Syntax.SourceText("r.hcl", ReleaseFixtures.Source("hunt-two-small-tiers"))]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        var content = new ByteArrayContent(bundle.CanonicalBytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync(Path("/v1/releases"), content)).StatusCode);
        await Ok(await client.PostAsync(Path($"/v1/releases/{bundle.Id}/activate"), null));
        var actions = Enumerable.Range(0, 24).Select(i =>
            $$"""{"id":"k-{{i}}","player":"p-{{i % 12}}","type":"combat.kill","at":"2026-11-22T11:59:00Z","data":{"target":"dragon"} """.TrimEnd() + "}");
        await Ok(await client.PostAsync(Path("/v1/actions"), Json($$"""{"actions":[{{string.Join(",", actions)}}]}""")));

        // 12 players x 2 tiers. The manual clock is moved on so that backoff and the circuit's cool-down pass.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        JsonNode status;
        while ((int)(status = await Get(client, "/v1/outbox"))["delivered"]! < 24)
        {
            Assert.True(DateTime.UtcNow < deadline, "not delivered within 60 s: " + status.ToJsonString());
            factory.Clock.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Delay(20);
        }
        Assert.Equal((0, 0), ((int)status["pending"]!, (int)status["dead_lettered"]!));

        // The oracle is the receiver: every grant of the ledger acknowledged, each grant id always with
        // the same body, that body naming the grant id of its Idempotency-Key and carrying the ledger's entry bytes.
        var ledger = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (int p = 0; p < 16; p++)
        {
            foreach (var row in factory.Store.Ledger.ReadEntries(p, 0, 1000))
            {
                ledger[Convert.ToHexStringLower(row.GrantId)] = row.Entry;
            }
        }
        Assert.Equal(24, ledger.Count);
        Assert.Equal(ledger.Keys.Order(StringComparer.Ordinal), receiver.Acknowledged.Order(StringComparer.Ordinal));
        foreach (var group in receiver.Requests.GroupBy(r => r.GrantId!))
        {
            Assert.Single(group.Select(r => Convert.ToBase64String(r.Body)).Distinct());
            var body = JsonNode.Parse(group.First().Body)!;
            Assert.Equal(group.Key, (string?)body["grant_id"]);
            Assert.Equal(ledger[group.Key], Convert.FromBase64String((string)body["entry"]!));
            Assert.All(group, r => Assert.True(r.SignatureValid));
        }
        Assert.True(receiver.Requests.Count >= 24 + 24, $"the outage should have cost retries: {receiver.Requests.Count} requests");
        Assert.Contains(receiver.Requests, r => r.Behavior is ReceiverBehavior.Hang);
        Assert.Contains(receiver.Requests, r => r.Behavior is ReceiverBehavior.Reset);
        var one = await Get(client, $"/v1/rewards/{ledger.Keys.First()}");
        Assert.Equal("delivered", (string?)one["delivery"]!["status"]);
    }

    [Fact]
    public async Task A_refused_grant_is_dead_lettered_by_the_hosted_worker_and_redelivered_on_request()
    {
        await using var receiver = await WebhookReceiver.StartAsync(Secret);
        bool refuse = true;
        receiver.Behave = _ => Volatile.Read(ref refuse) ? new ReceiverBehavior.Answer(401) : ReceiverBehavior.Ok;
        using var factory = new ShowrunnerFactory(new()
        {
            ["Showrunner:Outbox:WebhookUrl"] = receiver.Url,
            ["Showrunner:Outbox:WebhookSecret"] = Secret,
            ["Showrunner:Outbox:PollIntervalMs"] = "20",
        });
        var client = await factory.ReadyClientAsync();
        await factory.Store.Outbox.EnqueueAsync("g-1", "{}"u8.ToArray(), T0);
        await WaitForStatusAsync(client, "g-1", "dead_lettered");
        Assert.Equal("HTTP 401", (string?)(await Get(client, "/v1/outbox/g-1"))["last_error"]);

        Volatile.Write(ref refuse, false);
        var moved = await Ok(await client.PostAsync(Path("/v1/outbox/redeliver"), Json("""{"scope":"dead_lettered","grant_ids":["g-1"]}""")));
        Assert.Equal((1, true), ((int)moved["moved"]!, (bool)moved["webhook_configured"]!));
        await WaitForStatusAsync(client, "g-1", "delivered");
        var state = await Get(client, "/v1/outbox/g-1");
        Assert.Equal((1, 2), ((int)state["attempts"]!, (int)state["total_attempts"]!));
    }

    [Fact]
    public async Task Stopping_lets_an_attempt_in_flight_run_for_the_drain_timeout_then_records_it_as_retryable()
    {
        await using var receiver = await WebhookReceiver.StartAsync(Secret);
        receiver.Behave = _ => new ReceiverBehavior.Hang(TimeSpan.FromMinutes(1));
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        receiver.OnRequest = _ => arrived.TrySetResult();
        using var factory = new ShowrunnerFactory(new()
        {
            ["Showrunner:Outbox:WebhookUrl"] = receiver.Url,
            ["Showrunner:Outbox:WebhookSecret"] = Secret,
            ["Showrunner:Outbox:AttemptTimeoutSeconds"] = "60",
            ["Showrunner:Outbox:ClaimDurationSeconds"] = "120",
            ["Showrunner:Outbox:PollIntervalMs"] = "20",
        });
        var client = await factory.ReadyClientAsync();
        await factory.Store.Outbox.EnqueueAsync("g-1", "{}"u8.ToArray(), T0);
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(15));

        var service = factory.Services.GetRequiredService<Hosting.OutboxHostedService>();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await service.StopAsync(CancellationToken.None);
        Assert.InRange(watch.Elapsed, Hosting.OutboxHostedService.DrainTimeout - TimeSpan.FromMilliseconds(200), Hosting.OutboxHostedService.DrainTimeout + TimeSpan.FromSeconds(5));
        var state = await Get(client, "/v1/outbox/g-1");
        // Not the receiver's fault: due again at once (not after its 2-minute claim), never dead-lettered for it.
        Assert.Equal(("pending", 1, "2026-11-22T12:00:00Z"), ((string?)state["status"], (int)state["attempts"]!, (string?)state["next_attempt_at"]));
        Assert.StartsWith("cancelled", (string?)state["last_error"], StringComparison.Ordinal);
        Assert.Null((await Get(client, "/v1/outbox"))["worker"]);
    }

    private static async Task WaitForStatusAsync(HttpClient client, string grantId, string status)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        JsonNode state;
        while ((string?)(state = await Get(client, "/v1/outbox/" + grantId))["status"] != status)
        {
            Assert.True(DateTime.UtcNow < deadline, $"not {status} within 15 s: " + state.ToJsonString());
            await Task.Delay(20);
        }
    }
}
