using System.Text.Json.Serialization;
using Showrunner.Contracts.Rollouts;

namespace Showrunner.Contracts.Dashboard;

/// <summary>
/// One dashboard snapshot (<c>GET /v1/dashboard</c>, and each event of <c>GET /v1/dashboard/stream</c>):
/// docs/api.md, "Dashboard". Times are RFC 3339 strings; <c>series.t</c> is Unix milliseconds.
/// </summary>
public sealed record DashboardSnapshotContract(
    long Sequence,
    string SampledAt,
    long SampleIntervalMs,
    DashboardServer Server,
    DashboardTotals Totals,
    DashboardReleases Releases,
    DashboardRollout? Rollout,
    IReadOnlyList<DashboardEvent> Events,
    DashboardOutbox Outbox,
    DashboardLedger Ledger,
    bool AckLatencyRecorded,
    DashboardAckLatency? AckLatencyMs,
    DashboardSeries Series);

public sealed record DashboardServer(string State, string Since, long Partitions);

public sealed record DashboardTotals(long Accepted, long Duplicates, long Rejected, long OverloadedBatches, long QueuedActions, long LedgerEntries,
    long GrantsSinceStart, IReadOnlyDictionary<string, long> RejectedByCode);

public sealed record DashboardReleases(DashboardActiveRelease? Active);

public sealed record DashboardActiveRelease(string Id, string Name, string? Description, long Version, string Since, long Events);

/// <summary>The running (or last) rollout, flattened for the page; gates list <c>event</c> and <c>reward</c> as null when over the whole release.</summary>
public sealed record DashboardRollout(long Id, string State, RolloutReleaseRef Candidate, RolloutReleaseRef Baseline, long Step, long Steps, string Mode,
    decimal Percent, string StepStartedAt, long StepAgeSeconds, long SoakRemainingSeconds, bool AutoAdvance, long AssignedPlayers, long CandidateActions,
    long BaselineActions, string Overall, IReadOnlyList<DashboardGate> Gates, DashboardChange? LastChange);

public sealed record DashboardGate(string Gate, string? Event, string? Reward, string Status, string Candidate, string Baseline, string Threshold, string Detail);

public sealed record DashboardChange(string Kind, string At, string Actor, string? Reason);

/// <summary>One event's current run; <c>read_at</c> and <c>stale</c> are present only when its live state was read.</summary>
public sealed record DashboardEvent(
    string Id,
    string Title,
    long Run,
    string Phase,
    string Start,
    string End,
    string GraceEnd,
    string? TimeLeftUntil,
    long? TimeLeftSeconds,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ReadAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Stale,
    DashboardLeaderboard? Leaderboard,
    DashboardCommunity? Community);

public sealed record DashboardLeaderboard(long Players, IReadOnlyList<DashboardRank> Top);

public sealed record DashboardRank(long Rank, string Player, long Points);

public sealed record DashboardCommunity(long Target, long Progress, decimal Percent, bool Reached, string? ReachedAt);

public sealed record DashboardOutbox(bool WebhookConfigured, long Pending, long Delivered, long DeadLettered, long? OldestPendingAgeSeconds, string CountedAt,
    string? Circuit, long? FailedAttempts);

public sealed record DashboardLedger(long Entries, DashboardCheckpoint? LatestCheckpoint, decimal? CheckpointAgeSeconds, long UncheckpointedEntries,
    IReadOnlyList<DashboardDamage> DamagedPartitions, DashboardVerification? Verification);

public sealed record DashboardCheckpoint(long Sequence, string Time, long Entries, string KeyId);

public sealed record DashboardDamage(long Partition, string Check, long? FirstBadIndex, string FoundBy, string FoundAt, string Detail);

public sealed record DashboardVerification(string Result, bool Ok, string Detail, string CheckedAt, long AgeSeconds, long? Checkpoint, long? FromCheckpoint,
    decimal DurationMs);

/// <summary>Ack latency quantiles (milliseconds) over the last minute.</summary>
public sealed record DashboardAckLatency(double P50, double P95, double P99, long Batches, long WindowSeconds);

/// <summary>The charts: one value per sample (null where there is no rate yet).</summary>
public sealed record DashboardSeries(
    long ActionsWindowSeconds,
    long MinuteWindowSeconds,
    IReadOnlyList<long> T,
    IReadOnlyList<double?> ActionsPerSecond,
    IReadOnlyList<double?> LedgerEntriesPerMinute,
    IReadOnlyDictionary<string, IReadOnlyList<double?>> GrantsPerMinute,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, DashboardRewardSeries>> RewardsPerMinute,
    DashboardCohortSeries? Cohorts);

public sealed record DashboardRewardSeries(string Kind, IReadOnlyList<double?> PerMinute);

public sealed record DashboardCohortSeries(long Rollout, long Step, DashboardCohortRates Baseline, DashboardCohortRates Candidate);

public sealed record DashboardCohortRates(IReadOnlyList<double?> ActionsPerSecond, IReadOnlyList<double?> GrantsPerMinute,
    IReadOnlyDictionary<string, IReadOnlyList<double?>> CurrencyPerMinute);
