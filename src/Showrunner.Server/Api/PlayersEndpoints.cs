using System.Globalization;
using System.Text.Json;
using Showrunner.Core.Actions;
using Showrunner.Core.Ledger;
using Showrunner.Core.LiveEvents;
using Showrunner.Core.Rules.Model;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Ledger;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Server.Security;
using Showrunner.Storage;

namespace Showrunner.Server.Api;

/// <summary>
/// What one player sees: progress in the active release's events (<c>GET /v1/players/{player}/events</c>)
/// and the rewards granted to them (<c>GET /v1/players/{player}/rewards</c>). docs/api.md, "Players".
/// </summary>
/// <remarks>
/// Every grant shown is read from its checked canonical bytes (<see cref="LedgerIntegrity.Check"/>):
/// a player's rewards are refused with <c>ledger_damaged</c> when the player's partition is damaged
/// or any entry the query returned fails its check, so a grant is never shown under a player its
/// bytes do not name, and a damaged row never turns into a 500.
/// </remarks>
internal sealed class PlayersEndpoints(IActionStore store, IngestPipeline pipeline, LifecycleCoordinator coordinator, LedgerIntegrity integrity, TimeProvider time)
{
    public const int MaxRewardsPage = 500;
    public const int DefaultRewardsPage = 100;
    /// <summary>Most runs of one event listed for a player (the most recent).</summary>
    public const int MaxRunsPerEvent = 10;

    public static void Map(WebApplication app)
    {
        var endpoints = app.Services.GetRequiredService<PlayersEndpoints>();
        app.MapGet("/v1/players/{player}/events", endpoints.EventsAsync).Allow(Access.PlayerData);
        app.MapGet("/v1/players/{player}/rewards", endpoints.RewardsAsync).Allow(Access.PlayerData);
        app.MapGet("/v1/rewards/{grantId}", endpoints.RewardAsync).Allow(Access.PlayerData);
    }

    /// <summary>A snapshot of a player's progress, copied on the partition's executor.</summary>
    private sealed record RunView(RunKey Run, long Total, AchievedAt? AchievedAt, IReadOnlyList<string> ObjectiveNames, long[] Points, string[] Tiers);

    public async Task EventsAsync(HttpContext context, string player)
    {
        if (!await CheckPlayerAsync(context, player).ConfigureAwait(false))
        {
            return;
        }
        var release = pipeline.ActiveRelease;
        var now = time.GetUtcNow();
        var views = await pipeline.ReadPartitionAsync(pipeline.Router.PartitionOf(player), p =>
        {
            var state = p.Live.FindPlayer(player);
            if (state is null)
            {
                return new List<RunView>();
            }
            var list = new List<RunView>();
            foreach (var progress in state.Runs)
            {
                list.Add(new RunView(progress.Run, progress.Total, progress.AchievedAt, [.. progress.ObjectiveNames ?? []],
                    [.. progress.ObjectivePoints], [.. progress.TiersReached]));
            }
            return list;
        }).ConfigureAwait(false);
        var (rewards, damage) = CheckedEntriesOfPlayer(player, null, 10_000);
        if (rewards is null)
        {
            await LedgerDamageProblem.WriteAsync(context, damage!).ConfigureAwait(false);
            return;
        }
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteString("player", player);
            w.WriteString("evaluated_at", Rfc3339.Format(now.UtcTicks));
            if (release is null)
            {
                w.WriteNull("release");
            }
            else
            {
                w.WriteString("release", release.Id);
            }
            w.WriteStartArray("events");
            foreach (var definition in release?.Loaded.Bundle.Release.Events ?? [])
            {
                var runs = views.Where(v => v.Run.EventId == definition.Id).OrderByDescending(v => v.Run.Run).Take(MaxRunsPerEvent).ToList();
                long? current = definition.Schedule.RunAt(now)?.Index;
                if (current is { } index && runs.All(r => r.Run.Run != index))
                {
                    runs.Insert(0, new RunView(new RunKey(definition.Id, index), 0, null, [], [], []));
                }
                if (runs.Count == 0)
                {
                    continue;
                }
                w.WriteStartObject();
                w.WriteString("event", definition.Id);
                w.WriteString("title", definition.Title);
                w.WriteStartArray("runs");
                foreach (var run in runs)
                {
                    WriteRun(w, definition, run, rewards);
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private void WriteRun(Utf8JsonWriter w, EventDefinition definition, RunView run, IReadOnlyList<GrantEntry> rewards)
    {
        w.WriteStartObject();
        w.WriteNumber("run", run.Run.Run);
        var recorded = coordinator.RecordedFor(definition.Id).Where(t => t.Run == run.Run.Run).ToList();
        w.WriteString("phase", LifecycleCoordinator.Name(Transitions.RecordedPhase(definition, run.Run.Run, recorded)));
        w.WriteNumber("points", run.Total);
        if (run.AchievedAt is { } achieved)
        {
            w.WriteString("achieved_at", Rfc3339.Format(achieved.IngestTicks));
        }
        else
        {
            w.WriteNull("achieved_at");
        }
        w.WriteStartObject("objectives");
        foreach (var objective in definition.Objectives)
        {
            int at = Array.IndexOf([.. run.ObjectiveNames], objective.Name);
            w.WriteNumber(objective.Name, at >= 0 && at < run.Points.Length ? run.Points[at] : 0);
        }
        w.WriteEndObject();
        w.WriteStartArray("tiers_reached");
        foreach (var tier in definition.Tiers.Where(t => run.Tiers.Contains(t.Name, StringComparer.Ordinal)))
        {
            w.WriteStringValue(tier.Name);
        }
        w.WriteEndArray();
        var next = definition.Tiers.Where(t => !run.Tiers.Contains(t.Name, StringComparer.Ordinal)).OrderBy(t => t.At).FirstOrDefault();
        if (next is null)
        {
            w.WriteNull("next_tier");
        }
        else
        {
            w.WriteStartObject("next_tier");
            w.WriteString("name", next.Name);
            w.WriteNumber("at", next.At);
            w.WriteNumber("points_to_go", Math.Max(0, next.At - run.Total));
            w.WritePropertyName("reward");
            WriteReward(w, next.Reward.Lines.Select(l => (l.Name, l.Amount)));
            w.WriteEndObject();
        }
        w.WriteStartArray("rewards");
        foreach (var entry in rewards.Where(r => r.EventId == definition.Id && r.Run == run.Run.Run))
        {
            WriteGrant(w, entry, full: false);
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    public async Task RewardsAsync(HttpContext context, string player)
    {
        if (!await CheckPlayerAsync(context, player).ConfigureAwait(false))
        {
            return;
        }
        long? after = null;
        int limit = DefaultRewardsPage;
        if (context.Request.Query["after"] is { Count: > 0 } afterText)
        {
            if (!long.TryParse(afterText, NumberStyles.None, CultureInfo.InvariantCulture, out long parsed))
            {
                await Requests.InvalidParameterAsync(context, "after", "after is the index of the last reward of the previous page (next_after).").ConfigureAwait(false);
                return;
            }
            after = parsed;
        }
        if (context.Request.Query["limit"] is { Count: > 0 } limitText &&
            (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxRewardsPage))
        {
            await Requests.InvalidParameterAsync(context, "limit", $"limit must be 1 to {MaxRewardsPage}.").ConfigureAwait(false);
            return;
        }
        var (rows, damage) = CheckedEntriesOfPlayer(player, after, limit);
        if (rows is null)
        {
            await LedgerDamageProblem.WriteAsync(context, damage!).ConfigureAwait(false);
            return;
        }
        var deliveries = new Dictionary<string, Storage.Outbox.DeliveryState?>(StringComparer.Ordinal);
        foreach (var entry in rows)
        {
            deliveries[entry.GrantId] = await store.Outbox.GetAsync(entry.GrantId, context.RequestAborted).ConfigureAwait(false);
        }
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteString("player", player);
            w.WriteStartArray("rewards");
            foreach (var entry in rows)
            {
                WriteGrant(w, entry, full: true, deliveries[entry.GrantId]);
            }
            w.WriteEndArray();
            if (rows.Count == limit)
            {
                w.WriteNumber("next_after", rows[^1].Index);
            }
            else
            {
                w.WriteNull("next_after");
            }
        }).ConfigureAwait(false);
    }

    public async Task RewardAsync(HttpContext context, string grantId)
    {
        if (Runtime.Ledger.LedgerReader.ParseGrantId(grantId) is not { } id)
        {
            await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.InvalidGrantId, "Invalid grant id",
                "A grant id is 64 hexadecimal characters (a SHA-256).").ConfigureAwait(false);
            return;
        }
        var row = store.Ledger.FindGrant(id);
        var checkedRow = row is null ? default : integrity.Check(row);
        if (checkedRow.Damage is { } damage)
        {
            await LedgerDamageProblem.WriteAsync(context, damage).ConfigureAwait(false);
            return;
        }
        // Another player's grant is "not found" to a player token: its existence is not theirs to learn.
        if (checkedRow.Entry is not { } entry || !context.MayReadPlayer(entry.Player))
        {
            await Problems.WriteAsync(context, StatusCodes.Status404NotFound, ProblemCodes.GrantNotFound, "Grant not found",
                $"The ledger has no grant {grantId}.").ConfigureAwait(false);
            return;
        }
        var delivery = await store.Outbox.GetAsync(Convert.ToHexStringLower(id), context.RequestAborted).ConfigureAwait(false);
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w => WriteGrantBody(w, entry, full: true, delivery)).ConfigureAwait(false);
    }

    /// <summary>
    /// A player's entries (as <see cref="ILedgerStore.EntriesOfPlayer"/> pages them), each checked;
    /// or the damage that refuses the read: the player's own partition is damaged (a grant of theirs
    /// may be missing from the query), or a returned entry fails its check (its column may name a
    /// player its bytes do not).
    /// </summary>
    private (List<GrantEntry>? Entries, PartitionDamage? Damage) CheckedEntriesOfPlayer(string player, long? after, int limit)
    {
        if (integrity.DamageOf(pipeline.Router.PartitionOf(player)) is { } own)
        {
            return (null, own);
        }
        var entries = new List<GrantEntry>();
        foreach (var row in store.Ledger.EntriesOfPlayer(player, after, limit))
        {
            var checkedRow = integrity.Check(row);
            if (checkedRow.Entry is not { } entry)
            {
                return (null, checkedRow.Damage);
            }
            entries.Add(entry);
        }
        return (entries, null);
    }

    private static void WriteGrant(Utf8JsonWriter w, GrantEntry entry, bool full, Storage.Outbox.DeliveryState? delivery = null)
    {
        w.WriteStartObject();
        WriteGrantBody(w, entry, full, delivery);
        w.WriteEndObject();
    }

    /// <summary>A grant as the API shows it, from its checked canonical entry bytes (<see cref="LedgerIntegrity.Check"/>).</summary>
    internal static void WriteGrantBody(Utf8JsonWriter w, GrantEntry entry, bool full, Storage.Outbox.DeliveryState? delivery)
    {
        w.WriteString("grant_id", entry.GrantId);
        w.WriteString("rule", entry.Rule);
        w.WritePropertyName("rewards");
        WriteReward(w, entry.Rewards.Select(l => (l.Name, l.Amount)));
        w.WriteString("time", Rfc3339.Format(entry.TimeTicks));
        if (!full)
        {
            return;
        }
        w.WriteString("player", entry.Player);
        w.WriteString("event", entry.EventId);
        w.WriteNumber("run", entry.Run);
        w.WriteString("cause_kind", GrantEntry.KindName(entry.CauseKind));
        w.WriteString("cause_id", entry.CauseId);
        if (entry.ActionId is null)
        {
            w.WriteNull("action");
        }
        else
        {
            w.WriteString("action", entry.ActionId);
        }
        w.WriteString("release", entry.ReleaseId);
        if (entry.Author is not null)
        {
            w.WriteString("author", entry.Author);
            w.WriteString("reason", entry.Reason);
        }
        w.WriteNumber("partition", entry.Partition);
        w.WriteNumber("index", entry.Index);
        w.WriteString("receipt", $"/v1/rewards/{entry.GrantId}/receipt");
        if (delivery is null)
        {
            w.WriteNull("delivery");
            return;
        }
        w.WriteStartObject("delivery");
        w.WriteString("status", delivery.Status switch
        {
            Storage.Outbox.DeliveryStatus.Delivered => "delivered",
            Storage.Outbox.DeliveryStatus.DeadLettered => "dead_lettered",
            _ => "pending",
        });
        w.WriteNumber("attempts", delivery.Attempts);
        w.WriteNumber("total_attempts", delivery.TotalAttempts);
        WriteTime(w, "next_attempt_at", delivery.Status == Storage.Outbox.DeliveryStatus.Pending ? delivery.NextAttemptAt : null);
        WriteTime(w, "last_attempt_at", delivery.LastAttemptAt);
        if (delivery.LastStatusCode is { } code)
        {
            w.WriteNumber("last_status_code", code);
        }
        else
        {
            w.WriteNull("last_status_code");
        }
        if (delivery.LastError is { } lastError)
        {
            w.WriteString("last_error", lastError);
        }
        else
        {
            w.WriteNull("last_error");
        }
        WriteTime(w, "delivered_at", delivery.DeliveredAt);
        WriteTime(w, "dead_lettered_at", delivery.DeadLetteredAt);
        w.WriteEndObject();
    }

    private static void WriteTime(Utf8JsonWriter w, string name, DateTimeOffset? value)
    {
        if (value is { } at)
        {
            w.WriteString(name, Rfc3339.Format(at.UtcTicks));
        }
        else
        {
            w.WriteNull(name);
        }
    }

    internal static void WriteReward(Utf8JsonWriter w, IEnumerable<(string Name, long Amount)> lines)
    {
        w.WriteStartObject();
        foreach (var (name, amount) in lines)
        {
            w.WriteNumber(name, amount);
        }
        w.WriteEndObject();
    }

    private async Task<bool> CheckPlayerAsync(HttpContext context, string player)
    {
        if (player.Length is 0 or > GrantEntry.IdentifierLengthMax || player.Any(char.IsControl))
        {
            await Requests.InvalidParameterAsync(context, "player", $"A player id is 1 to {GrantEntry.IdentifierLengthMax} characters without control characters.").ConfigureAwait(false);
            return false;
        }
        if (!context.MayReadPlayer(player))
        {
            await PlayerAccess.OtherPlayerAsync(context).ConfigureAwait(false);
            return false;
        }
        return true;
    }

}
