using System.Globalization;
using System.Text.Json;
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
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            WriteRunHeader(w, definition, run);
            w.WriteNumber("players", tops.Sum(t => (long)t.Item2));
            w.WriteStartArray("entries");
            for (int i = 0; i < merged.Count; i++)
            {
                w.WriteStartObject();
                w.WriteNumber("rank", i + 1);
                WriteEntry(w, merged[i]);
                if (Prizes.For(definition, i + 1L) is { } prize)
                {
                    w.WriteString("prize", GrantRules.Prize(prize));
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }).ConfigureAwait(false);
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
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            WriteRunHeader(w, definition, run);
            w.WriteNumber("rank", rank);
            WriteEntry(w, found);
            w.WriteNumber("players", players);
            if (Prizes.For(definition, rank) is { } prize)
            {
                w.WriteString("prize", GrantRules.Prize(prize));
            }
            else
            {
                w.WriteNull("prize");
            }
        }).ConfigureAwait(false);
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
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            WriteRunHeader(w, definition, run);
            w.WriteNumber("target", goal.Target);
            w.WriteNumber("progress", progress);
            w.WriteNumber("percent", goal.Target == 0 ? 100 : Math.Min(100, (int)(progress * 100.0m / goal.Target)));
            w.WriteNumber("participants", slots.Sum(s => s.Item2));
            w.WriteNumber("partitions_contributing", slots.Count(s => s.Item1 > 0));
            w.WriteBoolean("reached", reached is not null);
            if (reached is null)
            {
                w.WriteNull("reached_at");
            }
            else
            {
                w.WriteString("reached_at", Rfc3339.Format(reached.AtTicks));
            }
            w.WritePropertyName("reward");
            PlayersEndpoints.WriteReward(w, goal.Reward.Lines.Select(l => (l.Name, l.Amount)));
        }).ConfigureAwait(false);
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

    private void WriteRunHeader(Utf8JsonWriter w, EventDefinition definition, long run)
    {
        w.WriteString("event", definition.Id);
        w.WriteNumber("run", run);
        var recorded = coordinator.RecordedFor(definition.Id).Where(t => t.Run == run).ToList();
        w.WriteString("phase", LifecycleCoordinator.Name(Transitions.RecordedPhase(definition, run, recorded)));
        w.WriteString("evaluated_at", Rfc3339.Format(time.GetUtcNow().UtcTicks));
    }

    private static void WriteEntry(Utf8JsonWriter w, LeaderboardEntry entry)
    {
        w.WriteString("player", entry.Player);
        w.WriteNumber("points", entry.Points);
        w.WriteString("achieved_at", Rfc3339.Format(entry.AchievedAt.IngestTicks));
    }

}
