using Showrunner.Core.Rules.Binding;
using Showrunner.Core.Rules.Syntax;

namespace Showrunner.Core.Rules.Model;

/// <summary>
/// A checked release: every name resolved, every expression typed, every bound enforced. Built by
/// <see cref="ReleaseChecker"/> from the syntax of all source files; immutable.
/// </summary>
public sealed record ReleaseDefinition(
    string Name,
    string? Description,
    IReadOnlyList<string> Currencies,
    IReadOnlyList<string> Items,
    IReadOnlyList<ActionDefinition> Actions,
    SafetyBounds Bounds,
    IReadOnlyList<ConfigDefinition> Configs,
    IReadOnlyList<EventDefinition> Events,
    IReadOnlyList<RetiredEvent> Retired);

/// <summary>
/// <c>retire "event_id" { reason = "..." }</c>: the candidate removes an event on purpose, even
/// while it runs or owes rewards. What was granted stays granted.
/// </summary>
public sealed record RetiredEvent(string Id, string? Reason);

/// <summary><c>action "type" { field = string ... }</c>: the schema ingest validates and expressions read.</summary>
public sealed record ActionDefinition(string Type, RecordSchema Schema, SourceSpan Span);

/// <summary>Limits declared by the release and enforced when it is built.</summary>
public sealed record SafetyBounds(long? MaxPointsPerAction, IReadOnlyDictionary<string, long> MaxPerGrant)
{
    public static readonly SafetyBounds None = new(null, new Dictionary<string, long>());
}

/// <summary>A literal configuration value: string, long, decimal or bool.</summary>
public sealed record ConfigValue(RuleType Type, object Value);

/// <summary><c>config "name" { key = value ... }</c>: named literal values events read; overrides change them per event.</summary>
public sealed record ConfigDefinition(string Name, IReadOnlyDictionary<string, ConfigValue> Values, SourceSpan Span);

/// <summary>Amounts of declared currencies and items, in source order.</summary>
public sealed record Reward(IReadOnlyList<RewardLine> Lines);

/// <summary>One line of a reward: an amount of a declared currency or item.</summary>
public sealed record RewardLine(string Name, long Amount);

/// <summary>
/// When an event runs. A run lasts <see cref="Duration"/> from its start; with <see cref="Every"/>
/// a new run starts at each interval after <see cref="Start"/>. Rewards can be claimed during
/// <see cref="Grace"/> after a run ends.
/// </summary>
public sealed record ScheduleDefinition(DateTimeOffset Start, TimeSpan Duration, TimeSpan? Every, TimeSpan Grace)
{
    /// <summary>
    /// The run in progress at <paramref name="now"/> (start inclusive, end exclusive; grace not
    /// included), or null. Runs are numbered from 0; the checker guarantees they do not overlap.
    /// </summary>
    public (long Index, DateTimeOffset Start, DateTimeOffset End)? RunAt(DateTimeOffset now)
    {
        if (now < Start)
        {
            return null;
        }
        long index = Every is { } every ? (now - Start).Ticks / every.Ticks : 0;
        var start = Start + TimeSpan.FromTicks(index * (Every?.Ticks ?? 0));
        var end = start + Duration;
        return now < end ? (index, start, end) : null;
    }
}

/// <summary>An objective: points an action of type <c>On</c> earns when <c>When</c> holds, optionally capped per hour.</summary>
public sealed record ObjectiveDefinition(string Name, string On, BoundExpression? When, BoundExpression Points, long? MaxPerHour, SourceSpan Span);

/// <summary>A tier: the reward paid once when a player's points reach <c>At</c> in a run.</summary>
public sealed record TierDefinition(string Name, long At, Reward Reward);

/// <summary>A leaderboard prize: the reward for ranks <c>FromRank</c> to <c>ToRank</c> (inclusive) when a run is finalized.</summary>
public sealed record PrizeDefinition(int FromRank, int ToRank, Reward Reward);

/// <summary>A community goal: the reward every participant gets when the run's total points reach <c>Target</c>.</summary>
public sealed record CommunityGoalDefinition(long Target, Reward Reward);

/// <summary>An event's override of a config's values while it runs.</summary>
public sealed record ConfigOverride(string Config, IReadOnlyDictionary<string, ConfigValue> Values);

/// <summary>
/// A checked event: schedule, audience, objectives and rewards. The runtime's lifecycle and
/// settlement read it; immutable like its release.
/// </summary>
public sealed record EventDefinition(
    string Id,
    string Title,
    ScheduleDefinition Schedule,
    BoundExpression? Audience,
    IReadOnlyList<ObjectiveDefinition> Objectives,
    IReadOnlyList<TierDefinition> Tiers,
    IReadOnlyList<PrizeDefinition> Prizes,
    CommunityGoalDefinition? CommunityGoal,
    IReadOnlyList<ConfigOverride> ConfigOverrides,
    string? Migration,
    SourceSpan Span)
{
    /// <summary>The only migration policy so far: earned points and granted rewards stay; the new rules apply from activation.</summary>
    public const string KeepEarned = "keep_earned";

    /// <summary>
    /// Whether the event may owe rewards at <paramref name="now"/>: a run has started and, for a
    /// one-off event, its grace period has not ended. A recurring event owes from its first start on.
    /// </summary>
    public bool IsLive(DateTimeOffset now) =>
        now >= Schedule.Start && (Schedule.Every is not null || now < Schedule.Start + Schedule.Duration + Schedule.Grace);
}
