using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Showrunner.Core.Audit;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Server.Security;
using Showrunner.Storage.Audit;
using Showrunner.Testing;

namespace Showrunner.Server.Tests;

/// <summary>
/// Every operator act that exists leaves exactly one audit entry, with who, what and the
/// before/after ids, at the point it takes effect; acts that change nothing leave none; and
/// <c>GET /v1/audit</c> pages, filters and serves entries whose chain an outsider can recompute.
/// </summary>
[Trait("Category", "Component")]
public sealed class AuditApiTests
{
    internal static readonly string Source = ReleaseFixtures.Source("hunt-one-tier-audited");

    private static Uri U(string path) => new(path, UriKind.Relative);

    internal static async Task<JsonNode> Ok(HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.OK)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{response.StatusCode}: {body}");
        return JsonNode.Parse(body)!;
    }

    internal static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    internal static ByteArrayContent Bundle(string source, out string id)
    {
        var (bundle, diagnostics) = Core.Rules.Bundle.ReleaseBundle.Build([new Core.Rules.Syntax.SourceText("release.hcl", source)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        id = bundle.Id;
        var content = new ByteArrayContent(bundle.CanonicalBytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        return content;
    }

    /// <summary>Every entry, oldest first, as the store holds it.</summary>
    internal static List<StoredAuditEntry> Entries(ShowrunnerFactory factory) => [.. factory.Store.Audit.Query(new AuditQuery(10_000, AfterSeq: 0))];

    private static (string Actor, string Action, string Target, string? Before, string? After) Summary(StoredAuditEntry e) =>
        (e.Actor, e.Action, e.Target, e.Before, e.After);

    [Fact]
    public async Task Every_operator_act_leaves_exactly_one_entry_with_its_before_and_after()
    {
        using var factory = new ShowrunnerFactory();
        await factory.ReadyClientAsync();
        using var alice = TestPrincipals.As(factory, "ava", Role.Operator);
        using var carol = TestPrincipals.As(factory, "cora", Role.Admin);
        // Creating the two keys is recorded too (key.create); the acts under test follow.
        Assert.Equal(["key.create", "key.create"], Entries(factory).Select(e => e.Action));
        int count = Entries(factory).Count;
        async Task<StoredAuditEntry> Next()
        {
            var entries = Entries(factory);
            Assert.Equal(count + 1, entries.Count);
            count++;
            return entries[^1];
        }
        async Task Unchanged()
        {
            await Task.CompletedTask;
            Assert.Equal(count, Entries(factory).Count);
        }

        await Ok(await alice.PostAsync(U("/v1/releases"), Bundle(Source, out string a)), HttpStatusCode.Created);
        var published = await Next();
        Assert.Equal((TestPrincipals.Actor("ava"), "release.publish", a, (string?)null, (string?)a), Summary(published));
        Assert.Equal("audited", (string?)JsonNode.Parse(published.Details!)!["name"]);
        await Ok(await alice.PostAsync(U("/v1/releases"), Bundle(Source, out _)));
        await Unchanged();

        await Ok(await alice.PostAsync(U($"/v1/releases/{a}/activate"), Json("""{"reason":"launch"}""")));
        var activated = await Next();
        Assert.Equal((TestPrincipals.Actor("ava"), "release.activate", a, (string?)null, (string?)a), Summary(activated));
        Assert.Equal(("launch", """{"version_before":0,"version_after":1}"""), (activated.Reason, activated.Details));
        await Ok(await alice.PostAsync(U($"/v1/releases/{a}/activate"), null));
        await Unchanged();

        string sourceB = Source.Replace("release \"audited\"", "release \"audited-2\"", StringComparison.Ordinal);
        await Ok(await carol.PostAsync(U("/v1/releases"), Bundle(sourceB, out string b)), HttpStatusCode.Created);
        await Next();
        await Ok(await carol.PostAsync(U($"/v1/releases/{b}/activate"), null));
        var replaced = await Next();
        Assert.Equal((TestPrincipals.Actor("cora"), "release.activate", b, (string?)a, (string?)b), Summary(replaced));
        Assert.Equal("""{"version_before":1,"version_after":2}""", replaced.Details);

        await Ok(await alice.PostAsync(U("/v1/releases/rollback"), Json("""{"reason":"bad numbers"}""")));
        var rolledBack = await Next();
        Assert.Equal((TestPrincipals.Actor("ava"), "release.rollback", b, (string?)b, (string?)a), Summary(rolledBack));
        Assert.Equal(("bad numbers", """{"version_before":2,"version_after":3}"""), (rolledBack.Reason, rolledBack.Details));
        // A refused act leaves nothing: a stale expected version.
        await ActionsApiTests.ProblemOf(await alice.PostAsync(U($"/v1/releases/{b}/activate"), Json("""{"expected_version":1}""")), HttpStatusCode.Conflict, "version_conflict");
        await Unchanged();

        await factory.Services.GetRequiredService<LifecycleCoordinator>().TickAsync();
        await Ok(await alice.PostAsync(U("/v1/events/hunt/runs/0/pause"), null));
        Assert.Equal((TestPrincipals.Actor("ava"), "run.pause", "hunt", (string?)"active", (string?)"paused"), Summary(await Next()));
        await Ok(await alice.PostAsync(U("/v1/events/hunt/runs/0/resume"), null));
        Assert.Equal((TestPrincipals.Actor("ava"), "run.resume", "hunt", (string?)"paused", (string?)"active"), Summary(await Next()));
        await ActionsApiTests.ProblemOf(await alice.PostAsync(U("/v1/events/hunt/runs/0/resume"), null), HttpStatusCode.Conflict, "run.not_paused");
        await Unchanged();
        await Ok(await carol.PostAsync(U("/v1/events/hunt/runs/0/cancel"), null));
        var cancelled = await Next();
        Assert.Equal((TestPrincipals.Actor("cora"), "run.cancel", "hunt", (string?)"active", (string?)"cancelled"), Summary(cancelled));
        Assert.Equal("""{"run":0}""", cancelled.Details);

        const string grant = """{"request_id":"ops-1","player":"p-9","rewards":{"gems":100},"reason":"outage #12"}""";
        var created = await Ok(await alice.PostAsync(U("/v1/grants"), Json(grant)), HttpStatusCode.Created);
        string grantId = (string)created["grant_id"]!;
        Assert.Equal(TestPrincipals.Actor("ava"), (string?)created["author"]);
        var granted = await Next();
        Assert.Equal((TestPrincipals.Actor("ava"), "grant.create", grantId, (string?)null, (string?)grantId), Summary(granted));
        Assert.Equal("outage #12", granted.Reason);
        Assert.Equal("{\"grant_id\":\"" + grantId + "\",\"request_id\":\"ops-1\",\"player\":\"p-9\",\"event\":\"manual\",\"run\":0,\"rewards\":{\"gems\":100}}", granted.Details);
        await Ok(await alice.PostAsync(U("/v1/grants"), Json(grant)));
        await Unchanged();

        var corrected = await Ok(await carol.PostAsync(U($"/v1/rewards/{grantId}/corrections"),
            Json("""{"request_id":"ops-2","rewards":{"gems":-40},"reason":"paid 40 too many"}""")), HttpStatusCode.Created);
        string correctionId = (string)corrected["grant_id"]!;
        Assert.Equal((TestPrincipals.Actor("cora"), "grant.correct", grantId, (string?)grantId, (string?)correctionId), Summary(await Next()));

        var outbox = factory.Store.Outbox;
        await outbox.RecordAttemptAsync(grantId, Storage.Outbox.AttemptRecord.DeadLettered(factory.Clock.GetUtcNow(), 410, "HTTP 410"));
        await Ok(await alice.PostAsync(U("/v1/outbox/redeliver"), Json("""{"scope":"dead_lettered"}""")));
        var redelivered = await Next();
        Assert.Equal((TestPrincipals.Actor("ava"), "outbox.redeliver", "dead_lettered", (string?)null, (string?)"1"), Summary(redelivered));
        Assert.Equal("""{"grant_ids":null}""", redelivered.Details);
        // Nothing left to move: nothing changed, nothing recorded.
        await Ok(await alice.PostAsync(U("/v1/outbox/redeliver"), Json("""{"scope":"dead_lettered"}""")));
        await Unchanged();

        var verification = AuditChain.Verify(Entries(factory).Select(ToEntry));
        Assert.Equal((AuditVerification.Ok, (long)count), (verification.Code, verification.Entries));
    }

    internal static AuditEntry ToEntry(StoredAuditEntry e) => new(e.Seq, e.AtTicks, e.Actor, e.Action, e.Target, e.Before, e.After, e.Reason, e.Details, e.PrevHash, e.Hash);

    [Fact]
    public async Task The_actor_is_the_authenticated_key()
    {
        using var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        await Ok(await client.PostAsync(U("/v1/releases"), Bundle(Source, out string id)), HttpStatusCode.Created);
        Assert.Equal(("key:" + factory.AdminKey[3..15], "release.publish", id), (Entries(factory)[0].Actor, Entries(factory)[0].Action, Entries(factory)[0].Target));
    }

    [Fact]
    public async Task The_log_pages_both_ways_filters_exactly_and_serves_hashes_an_outsider_can_check()
    {
        using var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        var audit = factory.Services.GetRequiredService<Runtime.Audit.AuditTrail>();
        for (int i = 1; i <= 7; i++)
        {
            await audit.RecordAsync(new Runtime.Audit.AuditRecord(i % 2 == 0 ? "key:ben" : "key:ava", i <= 4 ? "flag.set" : "key.create", "t-" + (i % 3), null,
                i.ToString(System.Globalization.CultureInfo.InvariantCulture), i == 3 ? "why" : null, i == 5 ? "{\"scope\":\"all\"}" : null));
            factory.Clock.Advance(TimeSpan.FromSeconds(1));
        }

        var newest = await Ok(await client.GetAsync(U("/v1/audit?limit=3")));
        Assert.Equal((7, "newest_first"), ((int)newest["head"]!["seq"]!, (string?)newest["order"]));
        Assert.Equal([7, 6, 5], newest["entries"]!.AsArray().Select(e => (int)e!["seq"]!));
        Assert.Equal("/v1/audit?limit=3&before=5", (string?)newest["next"]);
        var older = await Ok(await client.GetAsync(U((string)newest["next"]!)));
        Assert.Equal([4, 3, 2], older["entries"]!.AsArray().Select(e => (int)e!["seq"]!));
        var last = await Ok(await client.GetAsync(U((string)older["next"]!)));
        Assert.Equal([1], last["entries"]!.AsArray().Select(e => (int)e!["seq"]!));
        Assert.Null(last["next"]);

        var ascending = await Ok(await client.GetAsync(U("/v1/audit?after=2&limit=4")));
        Assert.Equal(("oldest_first", "/v1/audit?limit=4&after=6"), ((string?)ascending["order"], (string?)ascending["next"]));
        Assert.Equal([3, 4, 5, 6], ascending["entries"]!.AsArray().Select(e => (int)e!["seq"]!));

        var filtered = await Ok(await client.GetAsync(U("/v1/audit?actor=key:ben&action=flag.set")));
        Assert.Equal([4, 2], filtered["entries"]!.AsArray().Select(e => (int)e!["seq"]!));
        var byTarget = await Ok(await client.GetAsync(U("/v1/audit?target=t-0&limit=1")));
        Assert.Equal([6], byTarget["entries"]!.AsArray().Select(e => (int)e!["seq"]!));
        Assert.Equal("/v1/audit?limit=1&before=6&target=t-0", (string?)byTarget["next"]);

        // Every field as stored, details as the exact text hashed; the served chain recomputes.
        string text = await client.GetStringAsync(U("/v1/audit?after=0&limit=500"));
        var all = JsonNode.Parse(text)!["entries"]!.AsArray();
        Assert.Contains(
            """{"seq":5,"at":"2026-11-22T12:00:04Z","actor":"key:ava","action":"key.create","target":"t-2","before":null,"after":"5","reason":null,"details":"{\"scope\":\"all\"}",""" +
            $"\"prev_hash\":\"{all[3]!["hash"]}\",\"hash\":\"{all[4]!["hash"]}\"}}", text, StringComparison.Ordinal);
        var served = all.Select(e => new AuditEntry((long)e!["seq"]!, Core.Actions.Rfc3339.TryParseUtc((string)e["at"]!, out long at, out _) ? at : 0,
            (string)e["actor"]!, (string)e["action"]!, (string)e["target"]!, (string?)e["before"], (string?)e["after"], (string?)e["reason"], (string?)e["details"],
            Convert.FromHexString((string)e["prev_hash"]!), Convert.FromHexString((string)e["hash"]!)));
        var verification = AuditChain.Verify(served);
        Assert.Equal((AuditVerification.Ok, 7L), (verification.Code, verification.Entries));
        Assert.Equal((string?)newest["head"]!["hash"], Convert.ToHexStringLower(verification.HeadHash));
        var head = await Ok(await client.GetAsync(U("/v1/audit/head")));
        Assert.Equal($$"""{"seq":7,"hash":"{{newest["head"]!["hash"]}}"}""", head.ToJsonString());
    }

    [Fact]
    public async Task Bad_parameters_are_refused_by_name()
    {
        using var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        foreach (var (query, parameter) in new[]
        {
            ("limit=0", "limit"), ("limit=501", "limit"), ("limit=x", "limit"), ("after=-1", "after"), ("after=1.5", "after"),
            ("before=0", "before"), ("action=", "action"), ("actor=" + new string('a', 257), "actor"), ("target=%01", "target"),
        })
        {
            var problem = await ActionsApiTests.ProblemOf(await client.GetAsync(U("/v1/audit?" + query)), HttpStatusCode.BadRequest, "invalid_parameter");
            Assert.Equal(parameter, (string?)problem["parameter"]);
        }
        var empty = await Ok(await client.GetAsync(U("/v1/audit")));
        Assert.Equal("""{"head":{"seq":0,"hash":"0000000000000000000000000000000000000000000000000000000000000000"},"order":"newest_first","entries":[],"next":null}""",
            empty.ToJsonString());
    }
}
