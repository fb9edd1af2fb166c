using System.Globalization;
using System.Text.Json.Serialization.Metadata;
using Showrunner.Contracts.Leaderboards;
using Showrunner.Contracts.Wire;
using Showrunner.Core.Actions;
using Showrunner.Core.Ledger;
using Showrunner.Core.LiveEvents;
using Showrunner.Core.Rules.Model;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Server.Security;

namespace Showrunner.Server.Api;

/// <summary>
/// Cross-partition views of one run: the leaderboard's top N and any player's rank, and the
/// community goal's global progress — each merged from every partition's own slot or top list on
/// the partitions' executors. docs/api.md, "Leaderboards and community goals".
/// </summary>
internal sealed class LeaderboardEndpoints(IngestPipeline pipeline, LifecycleCoordinator coordinator, TimeProvider time)
{
    private static readonly JsonTypeInfo<LeaderboardResponse> TopWire = WireJson.Of(LeaderboardsJson.Default.LeaderboardResponse);
    private static readonly JsonTypeInfo<RankResponse> RankWire = WireJson.Of(LeaderboardsJson.Default.RankResponse);
    private static readonly JsonTypeInfo<CommunityResponse> CommunityWire = WireJson.Of(LeaderboardsJson.Default.CommunityResponse);

    public const int MaxTop = 1_000;
    public const int DefaultTop = 10;

    public static void Map(WebApplication app)
    {
        var endpoints = app.Services.GetRequiredService<LeaderboardEndpoints>();
        app.MapGet("/v1/events/{id}/leaderboard", endpoints.TopAsync).Allow(Access.PlayerData);
        app.MapGet("/v1/events/{id}/leaderboard/rank/{player}", endpoints.RankAsync).Allow(Access.PlayerData);
        app.MapGet("/v1/events/{id}/community", endpoints.CommunityAsync).Allow(Access.PlayerData);
    }

    public async Task TopAsync(HttpContext context, string id)
    {
        if (await ResolveAsync(context, id).ConfigureAwait(false) is not var (definition, run))
        {
            return;
        }
        int top = DefaultTop;
        if (context.Request.Query["top"] is { Count: > 0 } text &&
            (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out top) || top is < 1 or > MaxTop))
        {
            await Requests.InvalidParameterAsync(context, "top", $"top must be a whole number from 1 to {MaxTop}.").ConfigureAwait(false);
            return;
        }
        var key = new RunKey(definition.Id, run);
        var tops = await pipeline.ReadAllAsync(p => p.Live.Board(key) is { } board ? (board.Top(top), board.Count) : ([], 0)).ConfigureAwait(false);
        var merged = Leaderboards.MergeTop([.. tops.Select(t => t.Item1)], top);
        var (phase, evaluatedAt) = Header(definition, run);
        var entries = new List<LeaderboardEntryResponse>(merged.Count);
        for (int i = 0; i < merged.Count; i++)
        {
            var entry = merged[i];
            entries.Add(new LeaderboardEntryResponse(i + 1, entry.Player, entry.Points, Rfc3339.Format(entry.AchievedAt.IngestTicks),
                Prizes.For(definition, i + 1L) is { } prize ? GrantRules.Prize(prize) : null));
        }
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK,
            new LeaderboardResponse(definition.Id, run, phase, evaluatedAt, tops.Sum(t => (long)t.Item2), entries), TopWire).ConfigureAwait(false);
    }

    public async Task RankAsync(HttpContext context, string id, string player)
    {
        if (await ResolveAsync(context, id).ConfigureAwait(false) is not var (definition, run))
        {
            return;
        }
        if (player.Length is 0 or > GrantEntry.IdentifierLengthMax)
        {
            await Requests.InvalidParameterAsync(context, "player", $"A player id is 1 to {GrantEntry.IdentifierLengthMax} characters.").ConfigureAwait(false);
            return;
        }
        var key = new RunKey(definition.Id, run);
        var entry = await pipeline.ReadPartitionAsync(pipeline.Router.PartitionOf(player), p => p.Live.EntryOf(key, player)).ConfigureAwait(false);
        if (entry is not { } found)
        {
            await Problems.WriteAsync(context, StatusCodes.Status404NotFound, ProblemCodes.NotRanked, "Not ranked",
                $"Player '{player}' has no points in run {run} of '{definition.Id}' (only players with points are ranked).").ConfigureAwait(false);
            return;
        }
        var boards = await pipeline.ReadAllAsync(p => p.Live.Board(key) is { } board ? ((long)board.CountAhead(found), (long)board.Count) : (0L, 0L))
            .ConfigureAwait(false);
        long rank = Leaderboards.RankOf(boards.Select(b => b.Item1));
        long players = boards.Sum(b => b.Item2);
        var (phase, evaluatedAt) = Header(definition, run);
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK,
            new RankResponse(definition.Id, run, phase, evaluatedAt, rank, found.Player, found.Points, Rfc3339.Format(found.AchievedAt.IngestTicks), players,
                Prizes.For(definition, rank) is { } prize ? GrantRules.Prize(prize) : null), RankWire).ConfigureAwait(false);
    }

    public async Task CommunityAsync(HttpContext context, string id)
    {
        if (await ResolveAsync(context, id).ConfigureAwait(false) is not var (definition, run))
        {
            return;
        }
        if (definition.CommunityGoal is not { } goal)
        {
            await Problems.WriteAsync(context, StatusCodes.Status404NotFound, ProblemCodes.NoCommunityGoal, "No community goal",
                $"Event '{definition.Id}' has no community goal.").ConfigureAwait(false);
            return;
        }
        var key = new RunKey(definition.Id, run);
        var slots = await pipeline.ReadAllAsync(p =>
            (p.Live.Slot(key), p.Live.Players.LongCount(player => player.Find(key) is { IsParticipant: true }))).ConfigureAwait(false);
        long progress = CommunityGoals.Sum([.. slots.Select(s => s.Item1)]);
        var reached = coordinator.GoalOf(definition.Id, run);
        var (phase, evaluatedAt) = Header(definition, run);
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK,
            new CommunityResponse(definition.Id, run, phase, evaluatedAt, goal.Target, progress,
                goal.Target == 0 ? 100 : Math.Min(100, (int)(progress * 100.0m / goal.Target)),
                slots.Sum(s => s.Item2), slots.Count(s => s.Item1 > 0), reached is not null, reached is null ? null : Rfc3339.Format(reached.AtTicks),
                PlayersEndpoints.Amounts(goal.Reward.Lines)), CommunityWire).ConfigureAwait(false);
    }

    /// <summary>The event of the active release and the run asked for (<c>?run=</c>, else the run in progress, else the last one started).</summary>
    private async Task<(EventDefinition Definition, long Run)?> ResolveAsync(HttpContext context, string id)
    {
        var definition = pipeline.ActiveRelease?.Loaded.Bundle.Release.Events.FirstOrDefault(e => e.Id == id);
        if (definition is null)
        {
            await Problems.WriteAsync(context, StatusCodes.Status404NotFound, ProblemCodes.EventNotFound, "Event not found",
                $"The active release has no event '{id}'.").ConfigureAwait(false);
            return null;
        }
        var now = time.GetUtcNow();
        long run;
        if (context.Request.Query["run"] is { Count: > 0 } text)
        {
            if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out run) || !EventRuns.IsVisible(definition.Schedule, run, now))
            {
                await Problems.WriteAsync(context, StatusCodes.Status404NotFound, LifecycleErrors.UnknownRun, "Run not found",
                    $"Event '{id}' has no run '{text}' yet (only started runs and the next one exist).").ConfigureAwait(false);
                return null;
            }
        }
        else
        {
            run = Math.Max(0, EventRuns.LastStarted(definition.Schedule, now));
        }
        return (definition, run);
    }

    /// <summary>The run's phase and the time of this answer, as every answer of these endpoints begins.</summary>
    private (string Phase, string EvaluatedAt) Header(EventDefinition definition, long run)
    {
        var recorded = coordinator.RecordedFor(definition.Id).Where(t => t.Run == run).ToList();
        return (LifecycleCoordinator.Name(Transitions.RecordedPhase(definition, run, recorded)), Rfc3339.Format(time.GetUtcNow().UtcTicks));
    }

}
