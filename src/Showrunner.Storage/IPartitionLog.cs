namespace Showrunner.Storage;

/// <summary>
/// A commit's claim to write a partition: the owner epoch it got from
/// <see cref="IPartitionLog.ClaimAsync"/>. See <see cref="CommitBatch.Fences"/>.
/// </summary>
public readonly record struct PartitionFence(int Partition, long Epoch);

/// <summary>The current owner of a partition as stored.</summary>
/// <param name="Epoch">1, 2, 3, … one more with every claim; a partition never claimed is at epoch 0 and has no owner row.</param>
/// <param name="Owner">Who claimed it (a node or process name), for people; the epoch alone decides.</param>
/// <param name="ClaimedAtTicks">The store's clock when the claim was written, UTC ticks.</param>
public sealed record PartitionOwner(int Partition, long Epoch, string Owner, long ClaimedAtTicks);

/// <summary>
/// The partition log as a cluster needs it: ownership by <b>fencing epoch</b> and reads by
/// (partition, seq). Appends stay in <see cref="IActionStore.Commit"/>, conditional on the epochs
/// in <see cref="CommitBatch.Fences"/> (docs/internals/storage.md, "Owner epochs").
/// </summary>
/// <remarks>
/// <para>
/// Epochs: <see cref="ClaimAsync"/> increments the partition's epoch durably and returns it. A
/// commit fenced with an epoch that is not the partition's current one writes nothing and throws
/// <see cref="StaleEpochException"/>; the check and the write are one transaction, so a deposed
/// owner can never write after the new owner's claim returned. Claiming does not wait for the
/// previous owner: fencing, not a lease, keeps the log single-writer.
/// </para>
/// <para>
/// Threading: every member is safe to call concurrently with the others, with reads and with the
/// group commit. A claim and a commit of the same partition serialize in the store.
/// </para>
/// </remarks>
public interface IPartitionLog
{
    /// <summary>The most actions one <see cref="ReadAsync"/> returns.</summary>
    public const int ReadMax = 10_000;

    /// <summary>
    /// Claims <paramref name="partition"/> for <paramref name="owner"/>: its epoch becomes one more
    /// than before (1 for the first claim), durably, and every commit fenced with an older epoch is
    /// refused from now on. Returns the new ownership.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The partition is not one of the store's.</exception>
    ValueTask<PartitionOwner> ClaimAsync(int partition, string owner, CancellationToken cancellationToken = default);

    /// <summary>The partition's current owner, or null when it was never claimed (epoch 0).</summary>
    ValueTask<PartitionOwner?> ReadOwnerAsync(int partition, CancellationToken cancellationToken = default);

    /// <summary>
    /// The partition's actions with seq at or above <paramref name="fromSeq"/>, in seq order, at
    /// most <paramref name="max"/> (1 … <see cref="ReadMax"/>): the read a new owner replays from
    /// its snapshot's seq. Sees committed actions only.
    /// </summary>
    ValueTask<IReadOnlyList<ActionRecord>> ReadAsync(int partition, long fromSeq, int max, CancellationToken cancellationToken = default);
}
