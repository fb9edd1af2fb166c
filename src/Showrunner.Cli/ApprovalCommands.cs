using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Showrunner.Contracts.Approvals;

namespace Showrunner.Cli;

/// <summary>
/// <c>approvals list</c>, <c>approvals approve ID</c> and <c>approvals reject ID</c>: the two-person
/// rule's requests on a running server (<c>/v1/approvals</c>), through <see cref="ServerCommands"/>'
/// client, so a refusal (same person, expired, already decided) prints its code and exits 1.
/// </summary>
internal sealed class ApprovalCommands(ServerCommands remote, TextWriter output)
{
    public static Command Build(ServerCommands remote, TextWriter output, Option<string> server, Option<string?> key, Option<bool> json)
    {
        var commands = new ApprovalCommands(remote, output);
        var all = new Option<bool>("--all") { Description = "Every request, not only the pending ones (newest first, at most 100)." };
        var list = new Command("list", "List the requests waiting for approval (newest first).") { all, server, key, json };
        list.SetAction((result, _) => commands.ListAsync(result.GetValue(all), result.GetValue(server)!, result.GetValue(key), result.GetValue(json)));

        Command Decision(string name, string description)
        {
            var id = new Argument<long>("id") { Description = "The approval request's id (GET /v1/approvals, 'approvals list')." };
            var reason = new Option<string?>("--reason") { Description = "Why, for the audit log (at most 500 characters)." };
            var command = new Command(name, description) { id, reason, server, key, json };
            command.SetAction((result, _) => commands.DecideAsync(name, result.GetValue(id), result.GetValue(reason), result.GetValue(server)!, result.GetValue(key), result.GetValue(json)));
            return command;
        }
        return new Command("approvals", "Requests waiting for a second person (two-person rule).")
        {
            list,
            Decision("approve", "Approve another person's request: the server executes it now and prints its result."),
            Decision("reject", "Reject another person's request: nothing is executed."),
        };
    }

    public async Task<int> ListAsync(bool all, string server, string? key, bool json)
    {
        using var client = remote.Client(server, key);
        if (client is null)
        {
            return ExitCodes.Usage;
        }
        var page = await remote.SendAsync(client, HttpMethod.Get, all ? "v1/approvals?limit=100" : "v1/approvals?status=pending&limit=100").ConfigureAwait(false);
        if (page is null)
        {
            return ExitCodes.Problems;
        }
        if (json)
        {
            CliJson.Write(output, writer => page.WriteTo(writer));
            return ExitCodes.Ok;
        }
        var approvals = ContractAnswers.Read(page, ApprovalsJson.Default.ApprovalListResponse).Approvals ?? [];
        if (approvals.Count == 0)
        {
            output.WriteLine(all ? "no approval requests" : "no pending approval requests");
        }
        foreach (var approval in approvals)
        {
            output.WriteLine(Line(approval));
        }
        return ExitCodes.Ok;
    }

    public async Task<int> DecideAsync(string decision, long id, string? reason, string server, string? key, bool json)
    {
        using var client = remote.Client(server, key);
        if (client is null)
        {
            return ExitCodes.Usage;
        }
        var body = new JsonObject();
        if (reason is not null)
        {
            body["reason"] = reason;
        }
        var answer = await remote.SendAsync(client, HttpMethod.Post, string.Create(CultureInfo.InvariantCulture, $"v1/approvals/{id}/{decision}"),
            new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json")).ConfigureAwait(false);
        if (answer is null)
        {
            return ExitCodes.Problems;
        }
        var approval = ContractAnswers.Read(answer, ApprovalsJson.Default.ApprovalDecisionResponse).Approval;
        if (json)
        {
            CliJson.Write(output, writer => answer.WriteTo(writer));
        }
        else
        {
            output.WriteLine(Line(approval));
            if (approval.Result is { } result)
            {
                // Printed as before: compact, with System.Text.Json's default escaping.
                output.WriteLine($"result ({approval.ResultStatus}): {JsonNode.Parse(result)!.ToJsonString()}");
            }
        }
        // Approved but refused when executed (e.g. the release changed meanwhile): nothing changed.
        return approval.Status == "failed" ? ExitCodes.Problems : ExitCodes.Ok;
    }

    private static string Line(ApprovalResponse approval)
    {
        string decided = approval.DecidedBy is { } by ? $", decided by {by}" : "";
        return $"{approval.Id}  {approval.Status}  {approval.Kind} {approval.Subject}  requested by {approval.RequestedBy} at {approval.CreatedAt}" +
            $", expires {approval.ExpiresAt}{decided}";
    }
}
