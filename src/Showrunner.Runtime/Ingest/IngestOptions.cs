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

    public int EffectiveExecutorCount => ExecutorCount > 0 ? ExecutorCount : Math.Max(1, Environment.ProcessorCount);

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
        return errors;
    }
}
