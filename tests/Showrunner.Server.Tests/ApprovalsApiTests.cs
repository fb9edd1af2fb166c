using System.Net;
using System.Text.Json.Nodes;
using Showrunner.Server.Security;
using static Showrunner.Server.Tests.AuditApiTests;

namespace Showrunner.Server.Tests;

/// <summary>
/// The two-person rule over HTTP, with test principals standing in for keys: a guarded request
/// (manual grant, correction, activation) answers 202 and waits; only a different person with the
/// approver role can approve it, once, before it expires; approval executes it on behalf of the
/// requester and records both people; rejection or expiry executes nothing.
/// </summary>
[Trait("Category", "Component")]
public sealed class ApprovalsApiTests
{
    private static Uri U(string path) => new(path, UriKind.Relative);

    private const string GrantBody = """{"request_id":"ops-1","player":"p-9","rewards":{"gems":100},"reason":"outage #12"}""";

    private sealed class Setup : IDisposable
    {
        public required ShowrunnerFactory Factory { get; init; }
        public required HttpClient Alice { get; init; }   // approver who makes the requests: may not approve her own
        public required HttpClient Bob { get; init; }     // approver
        public required HttpClient Carol { get; init; }   // admin
        public required HttpClient Viewer { get; init; }
        public required HttpClient Dave { get; init; }    // another operator
        public required string ReleaseId { get; init; }

        public async Task<long> LedgerEntriesAsync() => (long)(await Ok(await Viewer.GetAsync(U("/v1/ledger"))))["entries"]!;

        public void Dispose()
        {
            foreach (var client in new[] { Alice, Bob, Carol, Viewer, Dave })
            {
                client.Dispose();
            }
            Factory.Dispose();
        }
    }

    /// <summary>A server with the two-person rule on (its defaults) and an active release, itself activated through an approval.</summary>
    private static async Task<Setup> StartAsync(Dictionary<string, string?>? settings = null)
    {
        var factory = new ShowrunnerFactory(new(settings ?? []) { ["Showrunner:Approvals:Enabled"] = "true" });
        await factory.ReadyClientAsync();
        var setup = new Setup
        {
            Factory = factory,
            Alice = TestPrincipals.As(factory, "alice", Role.Approver),
            Bob = TestPrincipals.As(factory, "bob", Role.Approver),
            Carol = TestPrincipals.As(factory, "carol", Role.Admin),
            Viewer = TestPrincipals.As(factory, "vic", Role.Viewer),
            Dave = TestPrincipals.As(factory, "dave", Role.Operator),
            ReleaseId = "",
        };
        await Ok(await setup.Alice.PostAsync(U("/v1/releases"), Bundle(Source, out string id)), HttpStatusCode.Created);
        var pending = await Ok(await setup.Alice.PostAsync(U($"/v1/releases/{id}/activate"), Json("""{"reason":"launch"}""")), HttpStatusCode.Accepted);
        var approved = await Ok(await setup.Bob.PostAsync(U($"/v1/approvals/{pending["approval"]!["id"]}/approve"), null));
        Assert.Equal(("executed", 200), ((string?)approved["approval"]!["status"], (int)approved["approval"]!["result_status"]!));
        return new Setup { Factory = factory, Alice = setup.Alice, Bob = setup.Bob, Carol = setup.Carol, Viewer = setup.Viewer, Dave = setup.Dave, ReleaseId = id };
    }

    [Fact]
    public async Task A_manual_grant_waits_for_a_second_approver_and_is_granted_once_on_behalf_of_the_requester()
    {
        using var s = await StartAsync();
        var response = await s.Alice.PostAsync(U("/v1/grants"), Json(GrantBody));
        var accepted = await Ok(response, HttpStatusCode.Accepted);
        var approval = accepted["approval"]!;
        long id = (long)approval["id"]!;
        Assert.Equal($"/v1/approvals/{id}", response.Headers.Location?.ToString());
        Assert.Equal(("grant.create", "pending", TestPrincipals.Actor("alice"), "/v1/grants", "2026-11-22T13:00:00Z", true),
            ((string?)approval["kind"], (string?)approval["status"], (string?)approval["requested_by"], (string?)approval["path"], (string?)approval["expires_at"],
                (bool)accepted["created"]!));
        Assert.Equal("""{"request_id":"ops-1","player":"p-9","run":0,"rewards":{"gems":100},"reason":"outage #12"}""", approval["request"]!.ToJsonString());
        Assert.Equal(0, await s.LedgerEntriesAsync());

        // The same request again is the same approval; the same request id with other content is refused.
        var again = await Ok(await s.Alice.PostAsync(U("/v1/grants"), Json(GrantBody)), HttpStatusCode.Accepted);
        Assert.Equal((id, false), ((long)again["approval"]!["id"]!, (bool)again["created"]!));
        await ActionsApiTests.ProblemOf(await s.Alice.PostAsync(U("/v1/grants"), Json(GrantBody.Replace("100", "200", StringComparison.Ordinal))),
            HttpStatusCode.Conflict, "grant_conflict");
        // A request that could never be granted is refused before it waits for anyone.
        await ActionsApiTests.ProblemOf(await s.Alice.PostAsync(U("/v1/grants"), Json(GrantBody.Replace("gems", "coins", StringComparison.Ordinal))),
            HttpStatusCode.BadRequest, "invalid_grant_request");

        await ActionsApiTests.ProblemOf(await s.Alice.PostAsync(U($"/v1/approvals/{id}/approve"), null), HttpStatusCode.Forbidden, "same_person");
        await ActionsApiTests.ProblemOf(await s.Viewer.PostAsync(U($"/v1/approvals/{id}/approve"), null), HttpStatusCode.Forbidden, "forbidden");
        await ActionsApiTests.ProblemOf(await s.Dave.PostAsync(U($"/v1/approvals/{id}/approve"), null), HttpStatusCode.Forbidden, "forbidden");
        await ActionsApiTests.ProblemOf(await s.Dave.PostAsync(U($"/v1/approvals/{id}/reject"), null), HttpStatusCode.Forbidden, "forbidden");
        Assert.Equal(0, await s.LedgerEntriesAsync());

        var executed = await Ok(await s.Bob.PostAsync(U($"/v1/approvals/{id}/approve"), Json("""{"reason":"checked the outage report"}""")));
        var decided = executed["approval"]!;
        Assert.Equal(("executed", TestPrincipals.Actor("bob"), "checked the outage report", 201),
            ((string?)decided["status"], (string?)decided["decided_by"], (string?)decided["decision_reason"], (int)decided["result_status"]!));
        var grant = decided["result"]!;
        Assert.Equal(("created", TestPrincipals.Actor("alice"), "operator", "p-9"), ((string?)grant["status"], (string?)grant["author"], (string?)grant["cause_kind"], (string?)grant["player"]));
        string grantId = (string)grant["grant_id"]!;
        Assert.Equal(1, await s.LedgerEntriesAsync());

        await ActionsApiTests.ProblemOf(await s.Bob.PostAsync(U($"/v1/approvals/{id}/approve"), null), HttpStatusCode.Conflict, "approval_decided");
        await ActionsApiTests.ProblemOf(await s.Carol.PostAsync(U($"/v1/approvals/{id}/approve"), null), HttpStatusCode.Conflict, "approval_decided");
        await ActionsApiTests.ProblemOf(await s.Carol.PostAsync(U($"/v1/approvals/{id}/reject"), null), HttpStatusCode.Conflict, "approval_decided");
        // The requester repeating the request now reads the grant back: nothing more to approve.
        var existing = await Ok(await s.Alice.PostAsync(U("/v1/grants"), Json(GrantBody)));
        Assert.Equal(("existing", grantId), ((string?)existing["status"], (string?)existing["grant_id"]));
        Assert.Equal(1, await s.LedgerEntriesAsync());
        var rewards = await Ok(await s.Viewer.GetAsync(U("/v1/players/p-9/rewards")));
        Assert.Equal(grantId, (string?)Assert.Single(rewards["rewards"]!.AsArray())!["grant_id"]);

        // Both people are on record: the request, the approval, and the grant naming both.
        var entries = Entries(s.Factory);
        string approvalId = id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal([(TestPrincipals.Actor("alice"), "approval.request", approvalId), (TestPrincipals.Actor("bob"), "approval.approve", approvalId), (TestPrincipals.Actor("alice"), "grant.create", grantId)],
            entries.TakeLast(3).Select(e => (e.Actor, e.Action, e.Target)));
        var act = JsonNode.Parse(entries[^1].Details!)!;
        Assert.Equal((id, TestPrincipals.Actor("alice"), TestPrincipals.Actor("bob")), ((long)act["approval"]!, (string?)act["requested_by"], (string?)act["approved_by"]));
        Assert.Equal("checked the outage report", entries[^2].Reason);
    }

    [Fact]
    public async Task An_expired_request_cannot_be_approved_and_nothing_is_executed()
    {
        using var s = await StartAsync(new() { ["Showrunner:Approvals:ExpiryMinutes"] = "10" });
        var accepted = await Ok(await s.Alice.PostAsync(U("/v1/grants"), Json(GrantBody)), HttpStatusCode.Accepted);
        long id = (long)accepted["approval"]!["id"]!;
        Assert.Equal("2026-11-22T12:10:00Z", (string?)accepted["approval"]!["expires_at"]);
        s.Factory.Clock.Advance(TimeSpan.FromMinutes(10));
        var problem = await ActionsApiTests.ProblemOf(await s.Bob.PostAsync(U($"/v1/approvals/{id}/approve"), null), HttpStatusCode.Conflict, "approval_expired");
        Assert.Equal("expired", (string?)problem["approval"]!["status"]);
        Assert.Equal("expired", (string?)(await Ok(await s.Viewer.GetAsync(U($"/v1/approvals/{id}"))))["status"]);
        Assert.Equal(0, await s.LedgerEntriesAsync());
        Assert.DoesNotContain(Entries(s.Factory), e => e.Action == "grant.create");
        // The only approval is the release's activation (approval 1) in the set-up.
        Assert.Equal(["1"], Entries(s.Factory).Where(e => e.Action == "approval.approve").Select(e => e.Target));
        // Asked again, it is a new request.
        var renewed = await Ok(await s.Alice.PostAsync(U("/v1/grants"), Json(GrantBody)), HttpStatusCode.Accepted);
        Assert.NotEqual(id, (long)renewed["approval"]!["id"]!);
    }

    [Fact]
    public async Task A_rejected_request_is_not_executed_and_cannot_be_approved_afterwards()
    {
        using var s = await StartAsync();
        long id = (long)(await Ok(await s.Alice.PostAsync(U("/v1/grants"), Json(GrantBody)), HttpStatusCode.Accepted))["approval"]!["id"]!;
        await ActionsApiTests.ProblemOf(await s.Alice.PostAsync(U($"/v1/approvals/{id}/reject"), null), HttpStatusCode.Forbidden, "same_person");
        var rejected = await Ok(await s.Carol.PostAsync(U($"/v1/approvals/{id}/reject"), Json("""{"reason":"no outage that day"}""")));
        Assert.Equal(("rejected", TestPrincipals.Actor("carol"), (int?)null), ((string?)rejected["approval"]!["status"], (string?)rejected["approval"]!["decided_by"],
            (int?)rejected["approval"]!["result_status"]));
        await ActionsApiTests.ProblemOf(await s.Bob.PostAsync(U($"/v1/approvals/{id}/approve"), null), HttpStatusCode.Conflict, "approval_decided");
        Assert.Equal(0, await s.LedgerEntriesAsync());
        Assert.Equal((TestPrincipals.Actor("carol"), "approval.reject", "no outage that day"), (Entries(s.Factory)[^1].Actor, Entries(s.Factory)[^1].Action, Entries(s.Factory)[^1].Reason));
    }

    [Fact]
    public async Task A_correction_waits_for_approval_too()
    {
        using var s = await StartAsync();
        long first = (long)(await Ok(await s.Alice.PostAsync(U("/v1/grants"), Json(GrantBody)), HttpStatusCode.Accepted))["approval"]!["id"]!;
        string grantId = (string)(await Ok(await s.Bob.PostAsync(U($"/v1/approvals/{first}/approve"), null)))["approval"]!["result"]!["grant_id"]!;
        var accepted = await Ok(await s.Dave.PostAsync(U($"/v1/rewards/{grantId}/corrections"),
            Json("""{"request_id":"ops-2","rewards":{"gems":-40},"reason":"paid 40 too many"}""")), HttpStatusCode.Accepted);
        var approval = accepted["approval"]!;
        Assert.Equal(("grant.correct", $"/v1/rewards/{grantId}/corrections", grantId), ((string?)approval["kind"], (string?)approval["path"], (string?)approval["request"]!["corrects"]));
        Assert.Equal(1, await s.LedgerEntriesAsync());
        await ActionsApiTests.ProblemOf(await s.Dave.PostAsync(U($"/v1/approvals/{approval["id"]}/approve"), null), HttpStatusCode.Forbidden, "forbidden");
        var approved = await Ok(await s.Carol.PostAsync(U($"/v1/approvals/{approval["id"]}/approve"), null));
        var correction = approved["approval"]!["result"]!;
        Assert.Equal(("correction", TestPrincipals.Actor("dave"), -40), ((string?)correction["cause_kind"], (string?)correction["author"], (int)correction["rewards"]!["gems"]!));
        Assert.Equal(2, await s.LedgerEntriesAsync());
        var act = Entries(s.Factory)[^1];
        Assert.Equal((TestPrincipals.Actor("dave"), "grant.correct", grantId, grantId, (string?)correction["grant_id"]), (act.Actor, act.Action, act.Target, act.Before!, act.After));
        Assert.Equal(TestPrincipals.Actor("carol"), (string?)JsonNode.Parse(act.Details!)!["approved_by"]);
    }

    [Fact]
    public async Task An_activation_is_approved_at_the_version_it_was_asked_at_or_fails_with_the_refusal()
    {
        using var s = await StartAsync();
        string sourceB = Source.Replace("release \"audited\"", "release \"audited-b\"", StringComparison.Ordinal);
        string sourceC = Source.Replace("release \"audited\"", "release \"audited-c\"", StringComparison.Ordinal);
        await Ok(await s.Alice.PostAsync(U("/v1/releases"), Bundle(sourceB, out string b)), HttpStatusCode.Created);
        await Ok(await s.Alice.PostAsync(U("/v1/releases"), Bundle(sourceC, out string c)), HttpStatusCode.Created);
        var forB = await Ok(await s.Alice.PostAsync(U($"/v1/releases/{b}/activate"), null), HttpStatusCode.Accepted);
        Assert.Equal(("release.activate", b, 1), ((string?)forB["approval"]!["kind"], (string?)forB["approval"]!["subject"], (int)forB["approval"]!["request"]!["expected_version"]!));
        var forC = await Ok(await s.Dave.PostAsync(U($"/v1/releases/{c}/activate"), null), HttpStatusCode.Accepted);
        // Nothing is active but the first release until someone approves.
        Assert.Equal(s.ReleaseId, (string?)(await Ok(await s.Viewer.GetAsync(U("/v1/releases/active"))))["release"]!["id"]);

        var c1 = await Ok(await s.Bob.PostAsync(U($"/v1/approvals/{forC["approval"]!["id"]}/approve"), null));
        Assert.Equal(("executed", 2), ((string?)c1["approval"]!["status"], (int)c1["approval"]!["result"]!["version"]!));
        // B was asked for over version 1; the register moved on, so approving it now would replace a release its approver never saw.
        var b1 = await Ok(await s.Bob.PostAsync(U($"/v1/approvals/{forB["approval"]!["id"]}/approve"), null));
        Assert.Equal(("failed", 409, "version_conflict"), ((string?)b1["approval"]!["status"], (int)b1["approval"]!["result_status"]!,
            (string?)b1["approval"]!["result"]!["code"]));
        Assert.Equal(c, (string?)(await Ok(await s.Viewer.GetAsync(U("/v1/releases/active"))))["release"]!["id"]);
        var activation = Entries(s.Factory).Last(e => e.Action == "release.activate");
        Assert.Equal((TestPrincipals.Actor("dave"), s.ReleaseId, c), (activation.Actor, activation.Before!, activation.After!));

        // Rollback is the emergency lever: never held for approval.
        await Ok(await s.Alice.PostAsync(U("/v1/releases/rollback"), null));
        // Activating what is already active changes nothing and needs no approval.
        var unchanged = await Ok(await s.Alice.PostAsync(U($"/v1/releases/{s.ReleaseId}/activate"), null));
        Assert.False((bool)unchanged["changed"]!);
        await ActionsApiTests.ProblemOf(await s.Alice.PostAsync(U($"/v1/releases/{new string('e', 64)}/activate"), null), HttpStatusCode.NotFound, "release_not_found");
        await ActionsApiTests.ProblemOf(await s.Alice.PostAsync(U($"/v1/releases/{b}/activate"), Json("""{"expected_version":1}""")), HttpStatusCode.Conflict, "version_conflict");
    }

    [Fact]
    public async Task Configuration_decides_what_is_guarded()
    {
        using (var grantsOff = await StartAsync(new() { ["Showrunner:Approvals:Grants"] = "false" }))
        {
            await Ok(await grantsOff.Alice.PostAsync(U("/v1/grants"), Json(GrantBody)), HttpStatusCode.Created);
        }
        using var factory = new ShowrunnerFactory(new() { ["Showrunner:Approvals:Enabled"] = "true", ["Showrunner:Approvals:ActivationPercent"] = "100" });
        await factory.ReadyClientAsync();
        using var alice = TestPrincipals.As(factory, "alice", Role.Operator);
        await Ok(await alice.PostAsync(U("/v1/releases"), Bundle(Source, out string id)), HttpStatusCode.Created);
        await Ok(await alice.PostAsync(U($"/v1/releases/{id}/activate"), null));
        await Ok(await alice.PostAsync(U("/v1/grants"), Json(GrantBody)), HttpStatusCode.Accepted);
    }

    [Fact]
    public async Task Requests_list_newest_first_by_status_and_bad_ids_and_parameters_are_refused()
    {
        using var s = await StartAsync();
        for (int i = 0; i < 3; i++)
        {
            await Ok(await s.Alice.PostAsync(U("/v1/grants"), Json(GrantBody.Replace("ops-1", "ops-l" + i, StringComparison.Ordinal))), HttpStatusCode.Accepted);
        }
        var pending = await Ok(await s.Viewer.GetAsync(U("/v1/approvals?status=pending&limit=2")));
        Assert.Equal([4L, 3], pending["approvals"]!.AsArray().Select(a => (long)a!["id"]!));
        Assert.Equal("/v1/approvals?limit=2&before=3&status=pending", (string?)pending["next"]);
        var rest = await Ok(await s.Viewer.GetAsync(U((string)pending["next"]!)));
        Assert.Equal([2L], rest["approvals"]!.AsArray().Select(a => (long)a!["id"]!));
        Assert.Null(rest["next"]);
        var all = await Ok(await s.Viewer.GetAsync(U("/v1/approvals")));
        Assert.Equal([4L, 3, 2, 1], all["approvals"]!.AsArray().Select(a => (long)a!["id"]!));
        Assert.Equal("executed", (string?)all["approvals"]![3]!["status"]);

        foreach (var (query, parameter) in new[] { ("limit=0", "limit"), ("limit=501", "limit"), ("before=0", "before"), ("status=done", "status") })
        {
            var problem = await ActionsApiTests.ProblemOf(await s.Viewer.GetAsync(U("/v1/approvals?" + query)), HttpStatusCode.BadRequest, "invalid_parameter");
            Assert.Equal(parameter, (string?)problem["parameter"]);
        }
        foreach (string id in new[] { "99", "0", "x", "-1", "99999999999999999999" })
        {
            await ActionsApiTests.ProblemOf(await s.Viewer.GetAsync(U("/v1/approvals/" + id)), HttpStatusCode.NotFound, "approval_not_found");
            await ActionsApiTests.ProblemOf(await s.Bob.PostAsync(U($"/v1/approvals/{id}/approve"), null), HttpStatusCode.NotFound, "approval_not_found");
        }
        await ActionsApiTests.ProblemOf(await s.Bob.PostAsync(U("/v1/approvals/2/approve"), Json("""{"reason":""}""")), HttpStatusCode.BadRequest, "invalid_parameter");
        await ActionsApiTests.ProblemOf(await s.Bob.PostAsync(U("/v1/approvals/2/approve"), Json("""{"why":"x"}""")), HttpStatusCode.BadRequest, "invalid_parameter");
        await ActionsApiTests.ProblemOf(await s.Bob.PostAsync(U("/v1/approvals/2/approve"), Json("[1]")), HttpStatusCode.BadRequest, "invalid_json");
        await ActionsApiTests.ProblemOf(await s.Bob.PostAsync(U("/v1/approvals/2/approve"), new StringContent("x")), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        // None of the refusals decided anything.
        Assert.Equal("pending", (string?)(await Ok(await s.Viewer.GetAsync(U("/v1/approvals/2"))))["status"]);
    }
}
