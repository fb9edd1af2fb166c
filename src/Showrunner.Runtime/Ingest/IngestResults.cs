using Showrunner.Core.Actions;

namespace Showrunner.Runtime.Ingest;

public enum ActionStatus
{
    Accepted,
    Duplicate,
    Rejected,
}

/// <summary>The answer for one action of a batch, in request order.</summary>
/// <param name="Seq">For accepted and duplicate: the action's position in its partition's log (the original one for a duplicate).</param>
public readonly record struct ActionResult(string? Id, ActionStatus Status, long Seq, int Partition, ActionRejection? Rejection);

public enum SubmitStatus
{
    /// <summary>Every accepted action is durably committed; <see cref="SubmitOutcome.Results"/> is set.</summary>
    Completed,
    /// <summary>An inbox is full: nothing of the batch was applied; retry after <see cref="SubmitOutcome.RetryAfter"/>.</summary>
    Overloaded,
    /// <summary>The runtime is starting or recovering: nothing was applied.</summary>
    NotReady,
    /// <summary>A durable write failed: some actions may have been committed; retrying the batch is safe (dedup).</summary>
    StoreFailed,
    /// <summary>
    /// Evaluating the batch failed inside the runtime (a bug, not the sender's fault): the partition
    /// stopped and reloads from the store; the failing partition's actions were not applied, others
    /// of the batch may have been. Resending the same batch is safe but may fail the same way.
    /// </summary>
    Faulted,
}

public sealed record SubmitOutcome(SubmitStatus Status, ActionResult[]? Results, TimeSpan RetryAfter, string? Message)
{
    public static SubmitOutcome Completed(ActionResult[] results) => new(SubmitStatus.Completed, results, TimeSpan.Zero, null);
}

/// <summary>Counts since the data directory was created (accepted) or since the process started (the rest).</summary>
public sealed record IngestStats(
    long Accepted, long Duplicates, long Rejected, IReadOnlyDictionary<string, long> RejectedByCode,
    long Overloaded, int PartitionCount, string State, DateTimeOffset Since);
