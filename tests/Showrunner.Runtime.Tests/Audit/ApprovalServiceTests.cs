using Microsoft.Extensions.Logging.Abstractions;
using Showrunner.Core.Audit;
using Showrunner.Runtime.Approvals;
using Showrunner.Runtime.Audit;
using Showrunner.Storage.Audit;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Runtime.Tests.Audit;

/// <summary>
/// The two-person rule as a service, with a counting executor and a manual clock: a request runs
/// only when a different person approves it before it expires, exactly once, and every request
/// and decision is in the audit log.
/// </summary>
[Trait("Category", "Component")]
public sealed class ApprovalServiceTests : IDisposable
{
    private const string Kind = "test.act";
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _directory = new();
    private readonly ManualClock _clock = new(Start);
    private readonly SqliteActionStore _store;
    private readonly AuditTrail _audit;
    private readonly ApprovalService _service;
    private readonly List<ApprovalExecution> _executed = [];
    private ApprovalOutcome _outcome = new(201, "{\"done\":true}");

    public ApprovalServiceTests()
    {
        _store = new SqliteActionStore(new SqliteStoreOptions { DataDirectory = _directory.Path, ReadConnections = 1 }, _clock);
        _store.Open(4);
        _audit = new AuditTrail(_store.Audit, _clock, NullLogger<AuditTrail>.Instance);
        _service = new ApprovalService(_store.Approvals, _audit, new ApprovalOptions { Expiry = TimeSpan.FromMinutes(30) }, _clock,
            NullLogger<ApprovalService>.Instance);
        _service.Register(Kind, (execution, _) =>
        {
            lock (_executed)
            {
                _executed.Add(execution);
            }
            return Task.FromResult(_outcome);
        });
    }

    private async Task<StoredApproval> RequestAsync(string subject = "s-1", string body = "{\"x\":1}", string by = "key:alice")
    {
        var (status, approval) = await _service.RequestAsync(Kind, subject, "/v1/test", body, by, "because");
        Assert.Equal(ApprovalRequestStatus.Created, status);
        return approval!;
    }

    private List<(string Actor, string Action, string Target)> Audit() =>
        [.. _store.Audit.Query(new AuditQuery(100, AfterSeq: 0)).Select(e => (e.Actor, e.Action, e.Target))];

    [Fact]
    public async Task A_request_waits_and_a_different_approver_executes_it_once_on_behalf_of_the_requester()
    {
        var request = await RequestAsync();
        Assert.Equal((ApprovalStatuses.Pending, Start.AddMinutes(30).UtcTicks), (request.Status, request.ExpiresAtTicks));
        Assert.Empty(_executed);

        var result = await _service.ApproveAsync(request.Id, "key:bob", "checked");
        Assert.Equal(DecisionStatus.Executed, result.Status);
        var execution = Assert.Single(_executed);
        Assert.Equal(new ApprovalExecution(request.Id, Kind, "s-1", "{\"x\":1}", "key:alice", "key:bob"), execution);
        Assert.Equal((ApprovalStatuses.Executed, "key:bob", 201, "{\"done\":true}"),
            (result.Approval!.Status, result.Approval.DecidedBy, result.Approval.ResultStatus, result.Approval.Result));

        // A second approval, by anyone, changes nothing.
        Assert.Equal(DecisionStatus.AlreadyDecided, (await _service.ApproveAsync(request.Id, "key:carol", null)).Status);
        Assert.Equal(DecisionStatus.AlreadyDecided, (await _service.RejectAsync(request.Id, "key:carol", null)).Status);
        Assert.Single(_executed);
        string id = request.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal([("key:alice", "approval.request", id), ("key:bob", "approval.approve", id)], Audit());
        Assert.Equal(AuditVerification.Ok, AuditTrailTests.VerifyStored(_store.Audit).Code);
    }

    [Fact]
    public async Task The_requester_can_neither_approve_nor_reject_their_own_request()
    {
        var request = await RequestAsync();
        Assert.Equal(DecisionStatus.SamePerson, (await _service.ApproveAsync(request.Id, "key:alice", null)).Status);
        Assert.Equal(DecisionStatus.SamePerson, (await _service.RejectAsync(request.Id, "key:alice", null)).Status);
        Assert.Empty(_executed);
        Assert.Equal(ApprovalStatuses.Pending, _service.Find(request.Id)!.Status);
    }

    [Fact]
    public async Task A_rejected_request_is_never_executed()
    {
        var request = await RequestAsync();
        var rejected = await _service.RejectAsync(request.Id, "key:bob", "not now");
        Assert.Equal((DecisionStatus.Rejected, ApprovalStatuses.Rejected, "not now"), (rejected.Status, rejected.Approval!.Status, rejected.Approval.DecisionReason));
        Assert.Equal(DecisionStatus.AlreadyDecided, (await _service.ApproveAsync(request.Id, "key:carol", null)).Status);
        Assert.Empty(_executed);
        Assert.Equal(["approval.request", "approval.reject"], Audit().Select(a => a.Action));
    }

    [Fact]
    public async Task A_request_not_decided_before_its_expiry_is_expired_and_never_executed()
    {
        var request = await RequestAsync();
        _clock.Advance(TimeSpan.FromMinutes(30) - TimeSpan.FromTicks(1));
        Assert.Equal(ApprovalStatuses.Pending, _service.Find(request.Id)!.Status);
        _clock.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(ApprovalStatuses.Expired, _service.Find(request.Id)!.Status);
        var late = await _service.ApproveAsync(request.Id, "key:bob", null);
        Assert.Equal((DecisionStatus.Expired, ApprovalStatuses.Expired), (late.Status, late.Approval!.Status));
        Assert.Equal(DecisionStatus.Expired, (await _service.RejectAsync(request.Id, "key:bob", null)).Status);
        Assert.Empty(_executed);
        Assert.Equal(["approval.request"], Audit().Select(a => a.Action));
    }

    [Fact]
    public async Task The_same_request_again_returns_the_pending_one_and_other_requests_are_new()
    {
        var first = await RequestAsync();
        var (status, again) = await _service.RequestAsync(Kind, "s-1", "/v1/test", "{\"x\":1}", "key:alice", "because");
        Assert.Equal((ApprovalRequestStatus.Existing, first.Id), (status, again!.Id));
        Assert.NotEqual(first.Id, (await RequestAsync(body: "{\"x\":2}")).Id);
        Assert.NotEqual(first.Id, (await RequestAsync(by: "key:carol")).Id);
        Assert.Equal(3, _store.Approvals.CountPending());
        Assert.Equal(3, Audit().Count);
        await Assert.ThrowsAsync<InvalidOperationException>(() => _service.RequestAsync("unknown.kind", "s", "/", "{}", "key:a", null));
    }

    [Fact]
    public async Task An_act_refused_when_executed_leaves_the_request_failed_with_the_refusal()
    {
        var request = await RequestAsync();
        _outcome = new ApprovalOutcome(409, "{\"code\":\"version_conflict\"}");
        var result = await _service.ApproveAsync(request.Id, "key:bob", null);
        Assert.Equal((DecisionStatus.Executed, ApprovalStatuses.Failed, 409), (result.Status, result.Approval!.Status, result.Approval.ResultStatus));
        Assert.Equal(DecisionStatus.AlreadyDecided, (await _service.ApproveAsync(request.Id, "key:carol", null)).Status);
        Assert.Single(_executed);
    }

    [Fact]
    public async Task Racing_approvers_execute_the_request_once()
    {
        var request = await RequestAsync();
        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Run(() => _service.ApproveAsync(request.Id, "key:approver-" + i, null))));
        Assert.Single(results, r => r.Status == DecisionStatus.Executed);
        Assert.Equal(5, results.Count(r => r.Status == DecisionStatus.AlreadyDecided));
        Assert.Single(_executed);
        Assert.Single(Audit(), a => a.Action == "approval.approve");
    }

    [Fact]
    public async Task An_approval_whose_execution_did_not_complete_is_executed_again_when_approved_again()
    {
        var request = await RequestAsync();
        // The server stopped between recording the approval and recording the outcome.
        Assert.True(_store.Approvals.TryDecide(request.Id, ApprovalStatuses.Pending, ApprovalStatuses.Approved, "key:bob", Start.UtcTicks, null));
        var result = await _service.ApproveAsync(request.Id, "key:carol", null);
        Assert.Equal((DecisionStatus.Executed, ApprovalStatuses.Executed), (result.Status, result.Approval!.Status));
        // Executed for the approver who approved it.
        Assert.Equal("key:bob", Assert.Single(_executed).ApprovedBy);
        // The requester still cannot finish it themselves.
        var second = await RequestAsync(subject: "s-2");
        Assert.True(_store.Approvals.TryDecide(second.Id, ApprovalStatuses.Pending, ApprovalStatuses.Approved, "key:bob", Start.UtcTicks, null));
        Assert.Equal(DecisionStatus.SamePerson, (await _service.ApproveAsync(second.Id, "key:alice", null)).Status);
    }

    [Fact]
    public async Task Pending_requests_are_bounded()
    {
        Assert.Equal(1000, new ApprovalOptions().MaxPending);
        using var bounded = new ApprovalService(_store.Approvals, _audit, new ApprovalOptions { MaxPending = 3 }, _clock, NullLogger<ApprovalService>.Instance);
        bounded.Register(Kind, (_, _) => Task.FromResult(_outcome));
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(ApprovalRequestStatus.Created, (await bounded.RequestAsync(Kind, "s-" + i, "/", "{}", "key:a", null)).Status);
        }
        var (status, approval) = await bounded.RequestAsync(Kind, "one-more", "/", "{}", "key:a", null);
        Assert.Equal((ApprovalRequestStatus.LimitReached, (StoredApproval?)null), (status, approval));
        Assert.Equal(3, _store.Approvals.CountPending());
        // A decided one makes room.
        await bounded.RejectAsync(1, "key:b", null);
        Assert.Equal(ApprovalRequestStatus.Created, (await bounded.RequestAsync(Kind, "one-more", "/", "{}", "key:a", null)).Status);
        // So do expired ones.
        Assert.Equal(ApprovalRequestStatus.LimitReached, (await bounded.RequestAsync(Kind, "two-more", "/", "{}", "key:a", null)).Status);
        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(ApprovalRequestStatus.Created, (await bounded.RequestAsync(Kind, "two-more", "/", "{}", "key:a", null)).Status);
    }

    [Fact]
    public void Options_name_every_bad_value()
    {
        Assert.Empty(new ApprovalOptions().Validate());
        Assert.Equal(2, new ApprovalOptions { ActivationPercent = 101, Expiry = TimeSpan.Zero }.Validate().Count());
        Assert.True(new ApprovalOptions().ActivationNeedsApproval(100));
        Assert.False(new ApprovalOptions().ActivationNeedsApproval(50));
        Assert.False(new ApprovalOptions { ActivationPercent = 100 }.ActivationNeedsApproval(100));
        Assert.False(new ApprovalOptions { Enabled = false }.ActivationNeedsApproval(100));
        Assert.False(new ApprovalOptions { Enabled = false }.GrantsNeedApproval);
        Assert.False(new ApprovalOptions { Grants = false }.GrantsNeedApproval);
    }

    public void Dispose()
    {
        _service.Dispose();
        _audit.Dispose();
        _store.Dispose();
        _directory.Dispose();
    }
}
