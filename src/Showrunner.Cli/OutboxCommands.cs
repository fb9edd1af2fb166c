using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;
using Showrunner.Contracts.Outbox;

namespace Showrunner.Cli;

/// <summary>
/// <c>outbox status</c> and <c>outbox redeliver</c>: the grant outbox of a running server
/// (<c>GET /v1/outbox</c>, <c>POST /v1/outbox/redeliver</c>), through <see cref="ServerCommands"/>'
/// client, so a refusal or an unreachable server is reported the same way (exit 1).
/// </summary>
internal sealed class OutboxCommands(ServerCommands remote, TextWriter output, TextWriter errors)
{
    /// <summary>Most grant ids in one redeliver request (the server's limit).</summary>
    public const int MaxGrantIds = 1_000;

    /// <summary>The <c>outbox</c> command with its subcommands, sharing the root's <c>--server</c> and <c>--json</c>.</summary>
    public static Command Build(ServerCommands remote, TextWriter output, TextWriter errors, Option<string> server, Option<string?> key, Option<bool> json)
    {
        var commands = new OutboxCommands(remote, output, errors);
        var status = new Command("status", "Show the outbox: pending, delivered and dead-lettered grants, the webhook and its circuit.") { server, key, json };
        status.SetAction((result, _) => commands.StatusAsync(result.GetValue(server)!, result.GetValue(key), result.GetValue(json)));

        var allFailed = new Option<bool>("--all-failed") { Description = "Also grants still being retried (failed at least once), not only dead letters." };
        var grants = new Option<string[]>("--grant")
        {
            Description = $"Only this grant (repeat for more, at most {MaxGrantIds}); default: every grant in the scope.",
            Arity = ArgumentArity.OneOrMore,
        };
        var redeliver = new Command("redeliver", "Move dead-lettered grants (with --all-failed, also failing ones) back to pending, attempts reset, due now.")
            { allFailed, grants, server, key, json };
        redeliver.SetAction((result, _) => commands.RedeliverAsync(result.GetValue(allFailed), result.GetValue(grants) ?? [], result.GetValue(server)!,
            result.GetValue(key), result.GetValue(json)));

        return new Command("outbox", "Delivery of grants to the game's webhook.") { status, redeliver };
    }

    public async Task<int> StatusAsync(string server, string? key, bool json)
    {
        using var client = remote.Client(server, key);
        if (client is null)
        {
            return ExitCodes.Usage;
        }
        var state = await remote.SendAsync(client, HttpMethod.Get, "v1/outbox").ConfigureAwait(false);
        if (state is null)
        {
            return ExitCodes.Problems;
        }
        if (json)
        {
            CliJson.Write(output, writer => state.WriteTo(writer));
            return ExitCodes.Ok;
        }
        var status = ContractAnswers.Read(state, OutboxJson.Default.OutboxStatusResponse);
        if (status.WebhookConfigured)
        {
            var circuit = status.Circuit;
            string circuitText = circuit is null ? "worker not running" : $"circuit {circuit.State}" +
                (circuit.State == "open" ? $" until {circuit.RetryAt}" : "") +
                (circuit.ConsecutiveFailures is > 0 and var failures ? $", {failures} consecutive failures" : "");
            output.WriteLine($"webhook: {status.Target} ({circuitText})");
        }
        else
        {
            output.WriteLine("webhook: not configured: grants stay pending until the server runs with Showrunner:Outbox:WebhookUrl");
        }
        string oldest = status.OldestPendingEnqueuedAt is { } at ? $" (oldest enqueued {at})" : "";
        output.WriteLine($"pending {status.Pending}{oldest}, delivered {status.Delivered}, dead-lettered {status.DeadLettered}");
        return ExitCodes.Ok;
    }

    public async Task<int> RedeliverAsync(bool allFailed, string[] grantIds, string server, string? key, bool json)
    {
        if (grantIds.Length > MaxGrantIds)
        {
            errors.WriteLine($"error: {grantIds.Length} grant ids given; at most {MaxGrantIds} per redeliver (run it again for the rest).");
            return ExitCodes.Usage;
        }
        if (grantIds.Any(string.IsNullOrWhiteSpace))
        {
            errors.WriteLine("error: --grant needs a grant id.");
            return ExitCodes.Usage;
        }
        using var client = remote.Client(server, key);
        if (client is null)
        {
            return ExitCodes.Usage;
        }
        var body = new JsonObject { ["scope"] = allFailed ? "all_failed" : "dead_lettered" };
        if (grantIds.Length > 0)
        {
            body["grant_ids"] = new JsonArray([.. grantIds.Select(id => (JsonNode?)JsonValue.Create(id))]);
        }
        var answer = await remote.SendAsync(client, HttpMethod.Post, "v1/outbox/redeliver",
            new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json")).ConfigureAwait(false);
        if (answer is null)
        {
            return ExitCodes.Problems;
        }
        if (json)
        {
            CliJson.Write(output, writer => answer.WriteTo(writer));
            return ExitCodes.Ok;
        }
        var redelivered = ContractAnswers.Read(answer, OutboxJson.Default.RedeliverResponse);
        int moved = redelivered.Moved;
        string what = allFailed ? "failed or dead-lettered" : "dead-lettered";
        output.WriteLine($"moved {moved} {what} {(moved == 1 ? "grant" : "grants")} back to pending, due now");
        if (moved > 0 && !redelivered.WebhookConfigured)
        {
            output.WriteLine("note: the server has no webhook configured; they are delivered once it runs with one");
        }
        return ExitCodes.Ok;
    }
}
