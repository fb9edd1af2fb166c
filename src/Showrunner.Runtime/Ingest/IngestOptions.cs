using Showrunner.Core.Partitioning;

namespace Showrunner.Runtime.Ingest;

/// <summary>Settings of the ingest runtime. Validated at start; see docs/operations.md.</summary>
public sealed record IngestOptions
{
    /// <summary>P: fixed when a data directory is created.</summary>
    public int PartitionCount { get; init; } = PartitionRouter.DefaultPartitionCount;

    /// <summary>Executors that run partitions (each partition is always run by the same one). 0 = one per core.</summary>
    public int ExecutorCount { get; init; }

    /// <summary>Actions admitted to one partition but not yet committed. A request that would exceed it gets 503.</summary>
    public int PartitionInboxCapacity { get; init; } = 1_024;

    /// <summary>Most actions written in one group-commit transaction.</summary>
    public int MaxActionsPerCommit { get; init; } = 16_384;

    /// <summary>The Retry-After sent with 503 answers.</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A partition writes a snapshot of its live state after this many actions (bounds the replay at restart).</summary>
    public int SnapshotEveryActions { get; init; } = 4_096;

    /// <summary>A partition with any change writes a snapshot once the whole pipeline sequenced this many actions since its last one.</summary>
    public long SnapshotMaxLagActions { get; init; } = 1_000_000;

    /// <summary>
    /// Readiness fails once any executor's oldest work has waited this long, or one durable commit
    /// has run this long: a stuck partition is reported, not hidden (docs/operations.md "Health").
    /// </summary>
    public TimeSpan StallAfter { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest a request waits for its work in a partition (ingest answer, reads of live state) before it is answered 503; the work itself is not cancelled.</summary>
    public TimeSpan AnswerTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest a stop waits for the executors and the committer to finish (final snapshots included); past it the process stops anyway and the next start replays the log.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(15);

    public int EffectiveExecutorCount => ExecutorCount > 0 ? ExecutorCount : Math.Max(1, Environment.ProcessorCount);

    /// <summary>The partition host's share of these settings (an action is one item of work).</summary>
    public Partitions.PartitionHostOptions ToHostOptions() => new()
    {
        PartitionCount = PartitionCount,
        ExecutorCount = ExecutorCount,
        PartitionInboxCapacity = PartitionInboxCapacity,
        MaxItemsPerCommit = MaxActionsPerCommit,
        SnapshotEveryItems = SnapshotEveryActions,
        SnapshotMaxLagItems = SnapshotMaxLagActions,
        StallAfter = StallAfter,
        AnswerTimeout = AnswerTimeout,
        StopTimeout = StopTimeout,
    };

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (PartitionCount is < 1 or > PartitionRouter.MaxPartitionCount)
        {
            errors.Add($"{nameof(PartitionCount)} = {PartitionCount}: must be between 1 and {PartitionRouter.MaxPartitionCount}.");
        }
        if (ExecutorCount is < 0 or > 256)
        {
            errors.Add($"{nameof(ExecutorCount)} = {ExecutorCount}: must be between 0 (one per core) and 256.");
        }
        if (PartitionInboxCapacity is < 1 or > 1_000_000)
        {
            errors.Add($"{nameof(PartitionInboxCapacity)} = {PartitionInboxCapacity}: must be between 1 and 1000000.");
        }
        if (MaxActionsPerCommit is < 1 or > 1_000_000)
        {
            errors.Add($"{nameof(MaxActionsPerCommit)} = {MaxActionsPerCommit}: must be between 1 and 1000000.");
        }
        if (SnapshotEveryActions is < 1 or > 10_000_000)
        {
            errors.Add($"{nameof(SnapshotEveryActions)} = {SnapshotEveryActions}: must be between 1 and 10000000.");
        }
        if (SnapshotMaxLagActions is < 1 or > 1_000_000_000)
        {
            errors.Add($"{nameof(SnapshotMaxLagActions)} = {SnapshotMaxLagActions}: must be between 1 and 1000000000.");
        }
        if (RetryAfter < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{nameof(RetryAfter)} = {RetryAfter}: must be at least one second (Retry-After counts whole seconds).");
        }
        if (StallAfter < TimeSpan.FromSeconds(1) || StallAfter > TimeSpan.FromHours(1))
        {
            errors.Add($"StallAfterSeconds = {StallAfter.TotalSeconds} s: must be between 1 and 3600 seconds.");
        }
        if (AnswerTimeout < TimeSpan.FromSeconds(1) || AnswerTimeout > TimeSpan.FromMinutes(10))
        {
            errors.Add($"AnswerTimeoutSeconds = {AnswerTimeout.TotalSeconds} s: must be between 1 and 600 seconds.");
        }
        if (StopTimeout < TimeSpan.FromSeconds(1) || StopTimeout > TimeSpan.FromMinutes(10))
        {
            errors.Add($"StopTimeoutSeconds = {StopTimeout.TotalSeconds} s: must be between 1 and 600 seconds.");
        }
        return errors;
    }
}
