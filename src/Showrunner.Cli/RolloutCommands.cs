using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Showrunner.Contracts;
using Showrunner.Contracts.Flags;
using Showrunner.Contracts.Rollouts;

namespace Showrunner.Cli;

/// <summary>
/// <c>rollout start|status|advance|rollback</c> and <c>flags list|set</c> against a running server
/// (<c>/v1/rollout</c>, <c>/v1/flags</c>), through <see cref="ServerCommands"/>' client: refusals and
/// an unreachable server exit 1, usage errors 2. Requests are written and answers read with the
/// API's own records (Showrunner.Contracts); <c>--json</c> prints the answer as the server sent it.
/// </summary>
internal sealed class RolloutCommands(ServerCommands remote, TextWriter output, TextWriter errors)
{
    /// <summary>Largest plan file <c>rollout start --plan</c> reads (the server takes at most 16 KiB of request).</summary>
    public const int MaxPlanBytes = 12 * 1024;

    public static Command[] Build(ServerCommands remote, TextWriter output, TextWriter errors, Option<string> server, Option<string?> key, Option<bool> json)
    {
        var commands = new RolloutCommands(remote, output, errors);
        var reason = new Option<string?>("--reason") { Description = "Why, for the rollout's history and the audit log (at most 500 characters)." };

        var candidate = new Argument<string>("candidate") { Description = "The published release to roll out (its id, 64 hex characters)." };
        var plan = new Option<string?>("--plan") { Description = "A JSON file with the plan (steps, audience, auto_advance, on_rollback, gates); default: the server's default plan." };
        var salt = new Option<string?>("--salt") { Description = "The bucketing salt (default: random, shown by 'rollout status')." };
        var start = new Command("start", "Start rolling out a candidate beside the active release, by the plan's steps and gates.") { candidate, plan, salt, reason, server, key, json };
        start.SetAction((result, _) => commands.StartAsync(result.GetValue(candidate)!, result.GetValue(plan), result.GetValue(salt), result.GetValue(reason),
            result.GetValue(server)!, result.GetValue(key), result.GetValue(json)));

        var status = new Command("status", "Show the rollout: plan, step, soak time left, each gate's live value, history.") { server, key, json };
        status.SetAction((result, _) => commands.StatusAsync(result.GetValue(server)!, result.GetValue(key), result.GetValue(json)));

        var advance = new Command("advance", "Move the rollout to its next step (once the soak time is over); the last step completes it.") { reason, server, key, json };
        advance.SetAction((result, _) => commands.ChangeAsync("v1/rollout/advance", result.GetValue(reason), result.GetValue(server)!, result.GetValue(key), result.GetValue(json)));

        var rollback = new Command("rollback", "Roll the candidate back on every partition now.") { reason, server, key, json };
        rollback.SetAction((result, _) => commands.ChangeAsync("v1/rollout/rollback", result.GetValue(reason), result.GetValue(server)!, result.GetValue(key), result.GetValue(json)));

        var rollout = new Command("rollout", "Staged rollout of a release (operator key; status: viewer).") { start, status, advance, rollback };

        var list = new Command("list", "List kill switches: the latest flip of each, and what is killed now.") { server, key, json };
        list.SetAction((result, _) => commands.FlagsAsync(result.GetValue(server)!, result.GetValue(key), result.GetValue(json)));
        var kind = new Argument<string>("kind") { Description = "event or config." };
        var target = new Argument<string>("name") { Description = "The event id or config name in the active release." };
        var state = new Argument<string>("state") { Description = "on or off (off kills it)." };
        var set = new Command("set", "Flip a kill switch; in force on every partition when this returns.") { kind, target, state, reason, server, key, json };
        set.SetAction((result, _) => commands.SetFlagAsync(result.GetValue(kind)!, result.GetValue(target)!, result.GetValue(state)!, result.GetValue(reason),
            result.GetValue(server)!, result.GetValue(key), result.GetValue(json)));
        var flags = new Command("flags", "Kill switches of events and configs (operator key; list: viewer).") { list, set };
        return [rollout, flags];
    }

    public async Task<int> StartAsync(string candidate, string? planFile, string? salt, string? reason, string server, string? key, bool json)
    {
        JsonElement? planElement = null;
        if (planFile is not null)
        {
            JsonNode? plan;
            try
            {
                var info = new FileInfo(planFile);
                if (info.Exists && info.Length > MaxPlanBytes)
                {
                    errors.WriteLine($"error: {planFile} is larger than {MaxPlanBytes} bytes.");
                    return ExitCodes.Usage;
                }
                plan = JsonNode.Parse(await File.ReadAllTextAsync(planFile).ConfigureAwait(false));
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or JsonException)
            {
                errors.WriteLine($"error: cannot read the plan {planFile}: {exception.Message}");
                return ExitCodes.Usage;
            }
            // Passed through as written (a file holding null is sent as null, and the server says why it is no plan).
            using var document = JsonDocument.Parse(plan?.ToJsonString() ?? "null");
            planElement = document.RootElement.Clone();
        }
        var body = new RolloutStartRequest(candidate, planElement, salt, null, reason);
        using var client = remote.Client(server, key);
        if (client is null)
        {
            return ExitCodes.Usage;
        }
        var answer = await remote.SendAsync(client, HttpMethod.Post, "v1/rollout", Content(body)).ConfigureAwait(false);
        return Report(answer, json);
    }

    public async Task<int> StatusAsync(string server, string? key, bool json)
    {
        using var client = remote.Client(server, key);
        if (client is null)
        {
            return ExitCodes.Usage;
        }
        var answer = await remote.SendAsync(client, HttpMethod.Get, "v1/rollout").ConfigureAwait(false);
        if (answer is null)
        {
            return ExitCodes.Problems;
        }
        if (json)
        {
            CliJson.Write(output, writer => answer.WriteTo(writer));
            return ExitCodes.Ok;
        }
        if (Read<RolloutGetResponse>(answer).Rollout is not { } rollout)
        {
            output.WriteLine("no rollout yet");
            return ExitCodes.Ok;
        }
        Describe(rollout);
        return ExitCodes.Ok;
    }

    public async Task<int> ChangeAsync(string path, string? reason, string server, string? key, bool json)
    {
        using var client = remote.Client(server, key);
        if (client is null)
        {
            return ExitCodes.Usage;
        }
        var answer = await remote.SendAsync(client, HttpMethod.Post, path, Content(new RolloutReasonRequest(reason))).ConfigureAwait(false);
        return Report(answer, json);
    }

    private int Report(JsonNode? answer, bool json)
    {
        if (answer is null)
        {
            return ExitCodes.Problems;
        }
        if (json)
        {
            CliJson.Write(output, writer => answer.WriteTo(writer));
            return ExitCodes.Ok;
        }
        var change = Read<RolloutChangeResponse>(answer);
        output.WriteLine($"{change.Result}: {change.Detail}");
        if (change.Rollout is { } rollout)
        {
            Describe(rollout);
        }
        return ExitCodes.Ok;
    }

    private static T Read<T>(JsonNode answer) => answer.Deserialize(ContractsJson.Wire<T>())!;

    private static StringContent Content<T>(T body) => new(JsonSerializer.Serialize(body, ContractsJson.Wire<T>()), Encoding.UTF8, "application/json");

    private void Describe(RolloutViewContract rollout)
    {
        var step = rollout.Step;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"rollout {rollout.Id} {rollout.State}: {rollout.Candidate.Name} ({rollout.Candidate.Id}) beside {rollout.Baseline.Name} ({rollout.Baseline.Id})"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"step {step.Index} of {rollout.Plan.Steps.Count}: {step.Mode} {step.Percent}%, soak left {step.SoakRemainingSeconds} s; " +
            $"{rollout.AssignedPlayers} players assigned; salt {rollout.Salt}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"gates {rollout.GatesOverall} (candidate {rollout.Cohorts.CandidateActions} actions, baseline {rollout.Cohorts.BaselineActions})"));
        foreach (var gate in rollout.Gates)
        {
            string scope = gate.Event is null ? "" : $" {gate.Event}" + (gate.Reward is null ? "" : $" ({gate.Reward})");
            output.WriteLine($"  {gate.Status,-12} {gate.Gate}{scope}: candidate {gate.Candidate}, baseline {gate.Baseline}, allowed {gate.Threshold}");
        }
        foreach (var change in rollout.History)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {change.At} {change.Kind,-8} step {change.Step} by {change.Actor}{(change.Reason is null ? "" : ": " + change.Reason)}"));
        }
    }

    public async Task<int> FlagsAsync(string server, string? key, bool json)
    {
        using var client = remote.Client(server, key);
        if (client is null)
        {
            return ExitCodes.Usage;
        }
        var answer = await remote.SendAsync(client, HttpMethod.Get, "v1/flags").ConfigureAwait(false);
        if (answer is null)
        {
            return ExitCodes.Problems;
        }
        if (json)
        {
            CliJson.Write(output, writer => answer.WriteTo(writer));
            return ExitCodes.Ok;
        }
        var flags = Read<FlagListResponse>(answer).Flags;
        if (flags.Count == 0)
        {
            output.WriteLine("no flag was ever flipped");
        }
        foreach (var flag in flags)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{flag.Kind,-6} {flag.Target,-24} {(flag.Enabled ? "on" : "OFF"),-4} since {flag.Since} by {flag.Actor}{(flag.Reason is null ? "" : ": " + flag.Reason)}"));
        }
        return ExitCodes.Ok;
    }

    public async Task<int> SetFlagAsync(string kind, string target, string state, string? reason, string server, string? key, bool json)
    {
        if (kind is not ("event" or "config"))
        {
            errors.WriteLine("error: kind must be 'event' or 'config'.");
            return ExitCodes.Usage;
        }
        if (state is not ("on" or "off"))
        {
            errors.WriteLine("error: state must be 'on' or 'off'.");
            return ExitCodes.Usage;
        }
        using var client = remote.Client(server, key);
        if (client is null)
        {
            return ExitCodes.Usage;
        }
        var answer = await remote.SendAsync(client, HttpMethod.Put, $"v1/flags/{kind}s/{Uri.EscapeDataString(target)}",
            Content(new FlagSetRequest(state == "on", reason))).ConfigureAwait(false);
        if (answer is null)
        {
            return ExitCodes.Problems;
        }
        if (json)
        {
            CliJson.Write(output, writer => answer.WriteTo(writer));
            return ExitCodes.Ok;
        }
        output.WriteLine($"{kind} {target} is {(Read<FlagSetResponse>(answer).Flag.Enabled ? "on" : "OFF")}");
        return ExitCodes.Ok;
    }
}
