using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging.Abstractions;
using Showrunner.Runtime.Approvals;
using Showrunner.Runtime.Audit;
using Showrunner.Storage.Audit;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Runtime.Tests.Approvals;

/// <summary>A command as a typed kind stores it: strict, so a text of another shape is unreadable, never half-read.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record TestCommand([property: JsonPropertyName("target")] string Target, [property: JsonPropertyName("amount")] long Amount);

[JsonSerializable(typeof(TestCommand))]
internal sealed partial class TestCommandJson : JsonSerializerContext;

/// <summary>
/// Approvals store typed commands: a typed kind stores its command as its contract writes it, and an
/// approval reads that text back into the command and executes it; a stored text the contract cannot
/// read (another version's, or damaged) is refused with <see cref="DecisionStatus.CommandUnreadable"/>
/// and changes nothing — the request stays pending and can still be rejected.
/// </summary>
[Trait("Category", "Component")]
public sealed class ApprovalCommandTests : IDisposable
{
    private const string Kind = "test.command";
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _directory = new();
    private readonly ManualClock _clock = new(Start);
    private readonly SqliteActionStore _store;
    private readonly ApprovalService _service;
    private readonly List<(TestCommand Command, ApprovalExecution Execution)> _executed = [];

    public ApprovalCommandTests()
    {
        _store = new SqliteActionStore(new SqliteStoreOptions { DataDirectory = _directory.Path, ReadConnections = 1 }, _clock);
        _store.Open(4);
        var audit = new AuditTrail(_store.Audit, _clock, NullLogger<AuditTrail>.Instance);
        _service = new ApprovalService(_store.Approvals, audit, new ApprovalOptions(), _clock, NullLogger<ApprovalService>.Instance);
        _service.Register(Kind, TestCommandJson.Default.TestCommand, (command, execution, _) =>
        {
            _executed.Add((command, execution));
            return Task.FromResult(new ApprovalOutcome(201, "{\"amount\":" + command.Amount + "}"));
        });
    }

    [Fact]
    public async Task A_typed_command_is_stored_as_its_contract_writes_it_and_executed_as_the_same_command()
    {
        var command = new TestCommand("p-é <1>", 40);
        var (status, approval) = await _service.RequestAsync(Kind, "p-1", "/v1/test", command, "key:alice", "why");
        Assert.Equal(ApprovalRequestStatus.Created, status);
        Assert.Equal("""{"target":"p-\u00E9 \u003C1\u003E","amount":40}""", approval!.Body);
        Assert.Equal(approval.Body, _service.CommandText(Kind, command));
        // The same command again is the same pending request.
        Assert.Equal(ApprovalRequestStatus.Existing, (await _service.RequestAsync(Kind, "p-1", "/v1/test", command, "key:alice", "why")).Status);

        var result = await _service.ApproveAsync(approval.Id, "key:bob", null);
        Assert.Equal(DecisionStatus.Executed, result.Status);
        var (executed, execution) = Assert.Single(_executed);
        Assert.Equal(command, executed);
        Assert.Equal(("key:alice", "key:bob"), (execution.RequestedBy, execution.ApprovedBy));
        Assert.Equal((ApprovalStatuses.Executed, 201, "{\"amount\":40}"), (result.Approval!.Status, result.Approval.ResultStatus, result.Approval.Result));
    }

    [Theory]
    [InlineData("""{"legacy_body":true}""")]
    [InlineData("""{"target":"p-1","amount":"forty"}""")]
    [InlineData("""not json""")]
    [InlineData("""null""")]
    public async Task A_stored_text_the_contract_cannot_read_is_refused_and_nothing_changes(string stored)
    {
        // Stored as text (as a previous version or a damaged row would have it), not through the contract.
        var (_, approval) = await _service.RequestAsync(Kind, "p-1", "/v1/test", stored, "key:alice", "why");

        var result = await _service.ApproveAsync(approval!.Id, "key:bob", null);

        Assert.Equal(DecisionStatus.CommandUnreadable, result.Status);
        Assert.Empty(_executed);
        Assert.Equal(ApprovalStatuses.Pending, _store.Approvals.Find(approval.Id)!.Status);
        Assert.DoesNotContain(_store.Audit.Query(new AuditQuery(100, AfterSeq: 0)), e => e.Action == "approval.approve");
        Assert.Equal(DecisionStatus.Rejected, (await _service.RejectAsync(approval.Id, "key:bob", "unreadable")).Status);
    }

    [Fact]
    public void A_kind_takes_one_contract_and_a_command_of_another_type_is_refused()
    {
        Assert.Throws<InvalidOperationException>(() => _service.Register(Kind, TestCommandJson.Default.TestCommand, (_, _, _) => Task.FromResult(new ApprovalOutcome(200, "{}"))));
        Assert.Throws<InvalidOperationException>(() => _service.CommandText("other.kind", new TestCommand("x", 1)));
    }

    public void Dispose()
    {
        _service.Dispose();
        _store.Dispose();
        _directory.Dispose();
    }
}
