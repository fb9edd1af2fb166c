using Showrunner.Core.Partitioning;

namespace Showrunner.Runtime.Partitions;

/// <summary>Settings of the partition host. Validated when the host is built; the server sets them from <c>Ingest</c> options (docs/operations.md).</summary>
public sealed record PartitionHostOptions
{
    /// <summary>P: fixed when a data directory is created.</summary>
    public int PartitionCount { get; init; } = PartitionRouter.DefaultPartitionCount;

    /// <summary>Executors that run partitions (partition p is always run by executor p mod E). 0 = one per core.</summary>
    public int ExecutorCount { get; init; }

    /// <summary>Items admitted to one partition but not yet answered. Admission beyond it is refused (503).</summary>
    public int PartitionInboxCapacity { get; init; } = 1_024;

    /// <summary>Most items of work in one executor's group, and in one group-commit transaction.</summary>
    public int MaxItemsPerCommit { get; init; } = 16_384;

    /// <summary>A module's state in a partition writes a snapshot after this many changes (bounds the replay at restart).</summary>
    public int SnapshotEveryItems { get; init; } = 4_096;

    /// <summary>A state with any change writes a snapshot once the host sequenced this many items since its last one.</summary>
    public long SnapshotMaxLagItems { get; init; } = 1_000_000;

    /// <summary>Readiness fails once an executor's oldest work has waited this long, or one durable commit has run this long.</summary>
    public TimeSpan StallAfter { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest a caller waits for a read or control work on a partition.</summary>
    public TimeSpan AnswerTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest a stop waits for the executors and the committer (final snapshots included).</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(15);

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
        if (MaxItemsPerCommit is < 1 or > 1_000_000)
        {
            errors.Add($"{nameof(MaxItemsPerCommit)} = {MaxItemsPerCommit}: must be between 1 and 1000000.");
        }
        if (SnapshotEveryItems is < 1 or > 10_000_000)
        {
            errors.Add($"{nameof(SnapshotEveryItems)} = {SnapshotEveryItems}: must be between 1 and 10000000.");
        }
        if (SnapshotMaxLagItems is < 1 or > 1_000_000_000)
        {
            errors.Add($"{nameof(SnapshotMaxLagItems)} = {SnapshotMaxLagItems}: must be between 1 and 1000000000.");
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
