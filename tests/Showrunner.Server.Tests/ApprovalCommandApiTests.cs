using System.Net;
using Showrunner.Server.Security;
using Showrunner.Storage.Audit;
using static Showrunner.Server.Tests.AuditApiTests;

namespace Showrunner.Server.Tests;

/// <summary>
/// Approvals hold typed commands: a grant request stored by the previous version (its own text) is
/// approved and executed as before, and a stored command this version cannot read is refused with
/// <c>409 approval_command_unreadable</c>, changes nothing, and can still be rejected.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ApprovalCommandApiTests
{
    private static Uri U(string path) => new(path, UriKind.Relative);

    private static StoredApproval Stored(ShowrunnerFactory factory, string body, string requestedBy) =>
        factory.Store.Approvals.Insert(new StoredApproval(0, "grant.create", "subject", "/v1/grants", body, requestedBy, "why",
            ShowrunnerFactory.Now.UtcTicks, ShowrunnerFactory.Now.AddHours(1).UtcTicks, ApprovalStatuses.Pending));

    [Fact]
    public async Task A_stored_grant_of_the_previous_version_executes_and_an_unreadable_one_is_refused_without_change()
    {
        using var factory = new ShowrunnerFactory(new() { ["Showrunner:Approvals:Enabled"] = "true", ["Showrunner:Approvals:ActivationPercent"] = "100" });
        using var admin = await factory.ReadyClientAsync();
        using var alice = TestPrincipals.As(factory, "cmd-alice", Role.Approver);
        using var bob = TestPrincipals.As(factory, "cmd-bob", Role.Approver);
        await Ok(await alice.PostAsync(U("/v1/releases"), Bundle(Source, out string release)), HttpStatusCode.Created);
        await Ok(await alice.PostAsync(U($"/v1/releases/{release}/activate"), null));

        var legacy = Stored(factory, """{"request_id":"ops-1","player":"p-9","run":0,"rewards":{"gems":100},"reason":"outage #12"}""", TestPrincipals.Actor("cmd-alice"));
        var executed = await Ok(await bob.PostAsync(U($"/v1/approvals/{legacy.Id}/approve"), null));
        Assert.Equal(("executed", 201, "created"), ((string?)executed["approval"]!["status"], (int)executed["approval"]!["result_status"]!,
            (string?)executed["approval"]!["result"]!["status"]));

        var unreadable = Stored(factory, """{"request_id":"ops-2","player":"p-9","rewards":{"gems":"lots"},"reason":"x","author":"y"}""", TestPrincipals.Actor("cmd-alice"));
        var problem = await ActionsApiTests.ProblemOf(await bob.PostAsync(U($"/v1/approvals/{unreadable.Id}/approve"), null), HttpStatusCode.Conflict,
            "approval_command_unreadable");
        Assert.Equal("pending", (string?)problem["approval"]!["status"]);
        Assert.Equal("pending", factory.Store.Approvals.Find(unreadable.Id)!.Status);
        Assert.Equal("rejected", (string?)(await Ok(await bob.PostAsync(U($"/v1/approvals/{unreadable.Id}/reject"), null)))["approval"]!["status"]);
    }
}
