using System.Net;
using System.Text.Json;

namespace Showrunner.Cli.Tests.Audit;

/// <summary>
/// The CLI and the two-person rule: an activation the server holds for approval (202) is reported
/// as waiting, with exit code 3 (nothing changed yet); <c>approvals list|approve|reject</c> send what
/// the API asks for and report the outcome.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ApprovalCommandTests
{
    private static readonly string ReleaseId = new('a', 64);

    private const string Pending = """
        {"approval":{"id":7,"kind":"release.activate","subject":"aaaa","path":"/v1/releases/aaaa/activate","status":"pending","requested_by":"key:alice",
        "reason":null,"created_at":"2026-11-22T12:00:00Z","expires_at":"2026-11-22T13:00:00Z","decided_by":null,"decided_at":null,"decision_reason":null,
        "request":{"expected_version":3,"reason":null,"percent":100},"result_status":null,"result":null},"created":true}
        """;

    private static (int ExitCode, string Output, string Errors) Run(HttpMessageHandler handler, params string[] args) =>
        AuditVerifyCommandTests.Run(handler, args);

    [Fact]
    public void An_activation_waiting_for_approval_exits_3_and_says_who_must_act()
    {
        using var server = new StaticHandler(HttpStatusCode.Accepted, Pending);
        var (exitCode, output, errors) = Run(server, "activate", ReleaseId, "--server", "http://cli.test");
        Assert.Equal((3, ""), (exitCode, errors));
        Assert.Equal("pending approval: request 7 (release.activate aaaa) waits for a second person until 2026-11-22T13:00:00Z; nothing changed yet. " +
            "Another approver runs: showrunner approvals approve 7\n", output);
        var json = Run(server, "activate", ReleaseId, "--server", "http://cli.test", "--json");
        Assert.Equal(3, json.ExitCode);
        Assert.Equal(7, JsonDocument.Parse(json.Output).RootElement.GetProperty("approval").GetProperty("id").GetInt32());
        Assert.All(server.Requests, r => Assert.Equal(("POST", $"/v1/releases/{ReleaseId}/activate"), (r.Method.Method, r.Path)));
    }

    [Fact]
    public void Approve_and_reject_send_the_reason_and_report_the_result()
    {
        string executed = Pending.Replace("\"pending\"", "\"executed\"", StringComparison.Ordinal)
            .Replace("\"result_status\":null,\"result\":null", "\"result_status\":200,\"result\":{\"version\":4,\"changed\":true}", StringComparison.Ordinal)
            .Replace("\"decided_by\":null", "\"decided_by\":\"key:bob\"", StringComparison.Ordinal);
        using var server = new StaticHandler(HttpStatusCode.OK, executed);
        var (exitCode, output, _) = Run(server, "approvals", "approve", "7", "--reason", "looks right", "--server", "http://cli.test");
        Assert.Equal(0, exitCode);
        Assert.Equal("7  executed  release.activate aaaa  requested by key:alice at 2026-11-22T12:00:00Z, expires 2026-11-22T13:00:00Z, decided by key:bob\n" +
            "result (200): {\"version\":4,\"changed\":true}\n", output);
        Assert.Equal(("POST", "/v1/approvals/7/approve", "{\"reason\":\"looks right\"}"), (server.Requests[0].Method.Method, server.Requests[0].Path, server.Requests[0].Body));

        using var failed = new StaticHandler(HttpStatusCode.OK, executed.Replace("\"executed\"", "\"failed\"", StringComparison.Ordinal));
        Assert.Equal(1, Run(failed, "approvals", "approve", "7", "--server", "http://cli.test").ExitCode);

        using var refused = new StaticHandler(HttpStatusCode.Forbidden,
            """{"type":"urn:showrunner:problem:same_person","title":"Same person","status":403,"detail":"key:alice made this request.","code":"same_person"}""");
        var (refusedExit, _, refusedErrors) = Run(refused, "approvals", "reject", "7", "--server", "http://cli.test");
        Assert.Equal((1, "error: same_person (403): key:alice made this request.\n"), (refusedExit, refusedErrors));
        Assert.Equal(("/v1/approvals/7/reject", "{}"), (refused.Requests[0].Path, refused.Requests[0].Body));
        Assert.Equal(2, Run(refused, "approvals", "approve", "seven", "--server", "http://cli.test").ExitCode);
    }

    [Fact]
    public void List_shows_the_pending_requests_or_all_of_them()
    {
        using var server = new StaticHandler(HttpStatusCode.OK, "{\"approvals\":[" + JsonDocument.Parse(Pending).RootElement.GetProperty("approval").GetRawText() + "],\"next\":null}");
        var (exitCode, output, _) = Run(server, "approvals", "list", "--server", "http://cli.test");
        Assert.Equal((0, "7  pending  release.activate aaaa  requested by key:alice at 2026-11-22T12:00:00Z, expires 2026-11-22T13:00:00Z\n"), (exitCode, output));
        Run(server, "approvals", "list", "--all", "--server", "http://cli.test");
        Assert.Equal(["/v1/approvals?status=pending&limit=100", "/v1/approvals?limit=100"], server.Requests.Select(r => r.Path));
        using var none = new StaticHandler(HttpStatusCode.OK, "{\"approvals\":[],\"next\":null}");
        Assert.Equal("no pending approval requests\n", Run(none, "approvals", "list", "--server", "http://cli.test").Output);
    }
}
