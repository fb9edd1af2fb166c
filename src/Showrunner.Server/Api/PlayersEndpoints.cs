using System.Globalization;
using System.Text.Json.Serialization.Metadata;
using Showrunner.Contracts.Players;
using Showrunner.Contracts.Wire;
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
    private static readonly JsonTypeInfo<PlayerEventsResponse> EventsWire = WireJson.Of(PlayersJson.Default.PlayerEventsResponse);
    private static readonly JsonTypeInfo<PlayerRewardsResponse> RewardsWire = WireJson.Of(PlayersJson.Default.PlayerRewardsResponse);

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
        var events = new List<PlayerEventResponse>();
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
            events.Add(new PlayerEventResponse(definition.Id, definition.Title, [.. runs.Select(run => Run(definition, run, rewards))]));
        }
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK,
            new PlayerEventsResponse(player, Rfc3339.Format(now.UtcTicks), release?.Id, events), EventsWire).ConfigureAwait(false);
    }

    private PlayerRunResponse Run(EventDefinition definition, RunView run, IReadOnlyList<GrantEntry> rewards)
    {
        var recorded = coordinator.RecordedFor(definition.Id).Where(t => t.Run == run.Run.Run).ToList();
        var objectives = new List<NamedAmount>();
        foreach (var objective in definition.Objectives)
        {
            int at = Array.IndexOf([.. run.ObjectiveNames], objective.Name);
            objectives.Add(new NamedAmount(objective.Name, at >= 0 && at < run.Points.Length ? run.Points[at] : 0));
        }
        var next = definition.Tiers.Where(t => !run.Tiers.Contains(t.Name, StringComparer.Ordinal)).OrderBy(t => t.At).FirstOrDefault();
        return new PlayerRunResponse(
            run.Run.Run,
            LifecycleCoordinator.Name(Transitions.RecordedPhase(definition, run.Run.Run, recorded)),
            run.Total,
            run.AchievedAt is { } achieved ? Rfc3339.Format(achieved.IngestTicks) : null,
            objectives,
            [.. definition.Tiers.Where(t => run.Tiers.Contains(t.Name, StringComparer.Ordinal)).Select(t => t.Name)],
            next is null ? null : new NextTierResponse(next.Name, next.At, Math.Max(0, next.At - run.Total), Amounts(next.Reward.Lines)),
            [.. rewards.Where(r => r.EventId == definition.Id && r.Run == run.Run.Run).Select(GrantResponses.Summary)]);
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
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK,
            new PlayerRewardsResponse(player, [.. rows.Select(entry => GrantResponses.Full(entry, deliveries[entry.GrantId]))], rows.Count == limit ? rows[^1].Index : null),
            RewardsWire).ConfigureAwait(false);
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
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK, GrantResponses.Full(entry, delivery), GrantResponses.Wire).ConfigureAwait(false);
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

    /// <summary>Reward lines of a release (a tier's, a goal's) as the API writes amounts.</summary>
    internal static List<NamedAmount> Amounts(IEnumerable<Core.Rules.Model.RewardLine> lines) => [.. lines.Select(l => new NamedAmount(l.Name, l.Amount))];

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
