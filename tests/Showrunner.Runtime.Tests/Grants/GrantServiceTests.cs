using Microsoft.Extensions.Logging.Abstractions;
using Showrunner.Contracts.Grants;
using Showrunner.Core.Ledger;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Runtime;
using Showrunner.Runtime.Approvals;
using Showrunner.Runtime.Audit;
using Showrunner.Runtime.Grants;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Ledger;
using Showrunner.Runtime.Releases;
using Showrunner.Storage.Audit;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Runtime.Tests.Grants;

/// <summary>
/// Manual grants and corrections as a service, without HTTP: a request is granted once and a repeat
/// reads it back; other content under the same request id is refused; every rule names its field;
/// with the two-person rule the command is stored (as the text earlier versions stored) and executed
/// through the service when approved; a request stored by the previous version executes the same way.
/// </summary>
[Trait("Category", "Component")]
public sealed class GrantServiceTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private const string Source = """
        release "grants" {}
        currency "gems" {}
        safety_bounds { max_currency_per_grant = { gems = 5000 } }
        """;

    private readonly TempDirectory _directory = new();
    private readonly ManualClock _clock = new(Start);
    private SqliteActionStore _store = null!;
    private IngestPipeline _pipeline = null!;
    private ReleaseRegister _register = null!;
    private AuditTrail _audit = null!;
    private RuntimeHarness _runtime = null!;

    public async Task InitializeAsync()
    {
        _runtime = RuntimeHarness.Create(new RuntimeSettings
        {
            StoreProvider = new SqliteStoreProvider(),
            DataDirectory = _directory.Path,
            ReadConnections = 2,
            Ingest = new IngestOptions { PartitionCount = 4, ExecutorCount = 2 },
        }, _clock);
        _runtime.Open();
        _store = (SqliteActionStore)_runtime.Store;
        _pipeline = _runtime.Pipeline;
        _register = _runtime.Register;
        await _register.InitializeAsync(null);
        await _pipeline.StartAsync();
        _audit = _runtime.Get<AuditTrail>();
    }

    public async Task DisposeAsync()
    {
        await _runtime.DisposeAsync();
        _directory.Dispose();
    }

    private async Task ActivateAsync()
    {
        var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("r.hcl", Source)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        await _register.PublishAsync(bundle.CanonicalBytes, bundle.Id);
        Assert.Equal(ChangeStatus.Changed, (await _register.ActivateAsync(bundle.Id, 0, null)).Status);
    }

    /// <summary>The service, and (two-person rule on) the approval service with the grant kinds registered as the server registers them.</summary>
    private (GrantService Grants, ApprovalService Approvals) Create(bool twoPersonRule)
    {
        var approvals = new ApprovalService(_store.Approvals, _audit, new ApprovalOptions { Enabled = twoPersonRule }, _clock, NullLogger<ApprovalService>.Instance);
        // The approval options differ per test: the approval service is made here, the rest is the runtime's.
        var grants = new GrantService(_store, _pipeline, _audit, approvals, _runtime.Get<LedgerIntegrity>());
        foreach (string kind in new[] { GrantService.GrantKind, GrantService.CorrectionKind })
        {
            approvals.Register(kind, GrantCommandContract.Wire, async (command, execution, _) =>
            {
                var result = await grants.ExecuteApprovedAsync(kind, command, execution);
                return new ApprovalOutcome(result.Status == GrantStatus.Created ? 201 : result.Status == GrantStatus.Existing ? 200 : 409,
                    "{\"grant_id\":\"" + result.Entry?.GrantId + "\",\"refusal\":\"" + result.Refusal?.Code + "\"}");
            });
        }
        return (grants, approvals);
    }

    private static ManualGrantCommand Grant(long gems = 100, string requestId = "ops-1") =>
        new(requestId, "outage #12", "p-9", null, 0, [new RewardLine("gems", gems)]);

    [Fact]
    public async Task A_grant_is_made_once_a_repeat_reads_it_back_and_other_content_under_its_request_id_is_refused()
    {
        await ActivateAsync();
        var (grants, _) = Create(twoPersonRule: false);

        var created = await grants.RequestGrantAsync(Grant(), "key:alice", "/v1/grants");
        Assert.Equal(GrantStatus.Created, created.Status);
        Assert.Equal(("p-9", "manual", "key:alice", "outage #12", CauseKind.Operator), (created.Entry!.Player, created.Entry.Rule, created.Entry.Author, created.Entry.Reason, created.Entry.CauseKind));
        var repeat = await grants.RequestGrantAsync(Grant(), "key:alice", "/v1/grants");
        Assert.Equal((GrantStatus.Existing, created.Entry.GrantId), (repeat.Status, repeat.Entry!.GrantId));
        Assert.Equal(GrantRefusalCode.Conflict, (await grants.RequestGrantAsync(Grant(gems: 101), "key:alice", "/v1/grants")).Refusal!.Code);
        // Another author repeating the request id is other content too: the author is part of the grant.
        Assert.Equal(GrantRefusalCode.Conflict, (await grants.RequestGrantAsync(Grant(), "key:bob", "/v1/grants")).Refusal!.Code);
        Assert.Single(_store.Audit.Query(new AuditQuery(100, AfterSeq: 0)), e => e.Action == "grant.create");
    }

    [Theory]
    [InlineData(0L, "rewards.gems")]
    [InlineData(5001L, "rewards")]
    [InlineData(-5L, "rewards.gems")]
    public async Task A_broken_rule_is_refused_naming_its_field_and_nothing_is_granted(long gems, string field)
    {
        await ActivateAsync();
        var (grants, _) = Create(twoPersonRule: false);
        var refused = await grants.RequestGrantAsync(Grant(gems), "key:alice", "/v1/grants");
        Assert.Equal((GrantStatus.Refused, GrantRefusalCode.InvalidRequest, field), (refused.Status, refused.Refusal!.Code, refused.Refusal.Field));
        Assert.Equal(GrantRefusalCode.InvalidRequest, (await grants.RequestGrantAsync(Grant() with { RequestId = "../x" }, "key:alice", "/v1/grants")).Refusal!.Code);
        Assert.Empty(_store.Ledger.EntriesOfPlayer("p-9", null, 10));
    }

    [Fact]
    public async Task Without_an_active_release_nothing_is_granted()
    {
        var (grants, _) = Create(twoPersonRule: false);
        Assert.Equal(GrantRefusalCode.NoActiveRelease, (await grants.RequestGrantAsync(Grant(), "key:alice", "/v1/grants")).Refusal!.Code);
    }

    [Fact]
    public async Task A_correction_applies_to_the_corrected_grants_player_and_unknown_grants_are_refused_first()
    {
        await ActivateAsync();
        var (grants, _) = Create(twoPersonRule: false);
        var original = (await grants.RequestGrantAsync(Grant(), "key:alice", "/v1/grants")).Entry!;
        Assert.Equal(GrantRefusalCode.InvalidGrantId, grants.CheckCorrectable("xyz")!.Code);
        Assert.Equal(GrantRefusalCode.GrantNotFound, grants.CheckCorrectable(new string('0', 64))!.Code);
        Assert.Null(grants.CheckCorrectable(original.GrantId.ToUpperInvariant()));

        var correction = await grants.RequestCorrectionAsync(new GrantCorrectionCommand(original.GrantId, "ops-2", "paid 40 too many", [new RewardLine("gems", -40)]),
            "key:bob", "/v1/rewards/x/corrections");
        Assert.Equal(GrantStatus.Created, correction.Status);
        Assert.Equal(("p-9", CauseKind.Correction, "correction:" + original.GrantId, -40L),
            (correction.Entry!.Player, correction.Entry.CauseKind, correction.Entry.Rule, correction.Entry.Rewards[0].Amount));
    }

    [Fact]
    public async Task With_the_two_person_rule_the_command_is_stored_as_before_and_executed_through_the_service_when_approved()
    {
        await ActivateAsync();
        var (grants, approvals) = Create(twoPersonRule: true);
        var waiting = await grants.RequestGrantAsync(Grant(), "key:alice", "/v1/grants");
        Assert.Equal((GrantStatus.AwaitingApproval, ApprovalRequestStatus.Created), (waiting.Status, waiting.ApprovalStatus));
        // Byte for byte the text the server stored before commands were typed (GET /v1/approvals shows it as "request").
        Assert.Equal("""{"request_id":"ops-1","player":"p-9","run":0,"rewards":{"gems":100},"reason":"outage #12"}""", waiting.Approval!.Body);
        Assert.Empty(_store.Ledger.EntriesOfPlayer("p-9", null, 10));

        var decided = await approvals.ApproveAsync(waiting.Approval.Id, "key:bob", null);
        Assert.Equal((DecisionStatus.Executed, 201), (decided.Status, decided.Outcome!.Status));
        var entry = Assert.Single(_store.Ledger.EntriesOfPlayer("p-9", null, 10));
        var act = _store.Audit.Query(new AuditQuery(100, AfterSeq: 0)).Single(e => e.Action == "grant.create");
        Assert.Equal("key:alice", act.Actor);
        Assert.Contains("\"approved_by\":\"key:bob\"", act.Details, StringComparison.Ordinal);
        // The requester asking again reads the grant back: nothing more to approve.
        Assert.Equal(GrantStatus.Existing, (await grants.RequestGrantAsync(Grant(), "key:alice", "/v1/grants")).Status);
        Assert.Equal(Convert.ToHexStringLower(entry.GrantId), (await grants.RequestGrantAsync(Grant(), "key:alice", "/v1/grants")).Entry!.GrantId);
    }

    [Theory]
    [InlineData(GrantService.GrantKind, """{"request_id":"ops-1","player":"p-9","run":0,"rewards":{"gems":100},"reason":"outage #12"}""")]
    [InlineData(GrantService.GrantKind, """{"request_id":"ops-1","player":"p-é <9>","event":"summer","run":3,"rewards":{"gems":100,"gems2":1},"reason":"x"}""")]
    public async Task A_request_stored_by_the_previous_version_executes_unchanged(string kind, string stored)
    {
        await ActivateAsync();
        var (grants, approvals) = Create(twoPersonRule: true);
        // As the previous version stored it: its own text, not through the contract.
        var (_, approval) = await approvals.RequestAsync(kind, "subject", "/v1/grants", stored, "key:alice", "why");
        var decided = await approvals.ApproveAsync(approval!.Id, "key:bob", null);
        Assert.Equal(DecisionStatus.Executed, decided.Status);
        // Read as the same command it was: written again through the contract, the same text.
        var command = System.Text.Json.JsonSerializer.Deserialize(stored, GrantCommandContract.Wire)!;
        Assert.Equal(stored, approvals.CommandText(kind, command));
        _ = grants;
    }

    [Fact]
    public async Task A_stored_correction_of_the_previous_version_executes_against_its_grant()
    {
        await ActivateAsync();
        var (grants, approvals) = Create(twoPersonRule: false);
        var original = (await grants.RequestGrantAsync(Grant(), "key:alice", "/v1/grants")).Entry!;
        string stored = $$"""{"corrects":"{{original.GrantId}}","request_id":"ops-2","run":0,"rewards":{"gems":-40},"reason":"paid 40 too many"}""";
        var (_, approval) = await approvals.RequestAsync(GrantService.CorrectionKind, "subject", "/v1/rewards/x/corrections", stored, "key:dave", null);
        var decided = await approvals.ApproveAsync(approval!.Id, "key:carol", null);
        Assert.Equal((DecisionStatus.Executed, 201), (decided.Status, decided.Outcome!.Status));
        Assert.Equal(2, _store.Ledger.EntriesOfPlayer("p-9", null, 10).Count);
    }
}
