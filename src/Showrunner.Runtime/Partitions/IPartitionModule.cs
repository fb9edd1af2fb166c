namespace Showrunner.Runtime.Partitions;

/// <summary>
/// The seam between the partition host and a feature (live events, chat, a wallet, …): what the
/// host needs to know about a module to run its state in every partition. The host calls these on
/// the thread that owns the partitions concerned (an executor, or the loading thread while no
/// executor runs the module's work); a module needs no locks for its partition state.
/// </summary>
/// <remarks>
/// The module's own work reaches its partitions as <see cref="PartitionWork"/> (submitted with
/// <see cref="PartitionHost.TrySubmit"/> or after a multi-partition admission with
/// <see cref="PartitionHost.TryReserve"/> and <see cref="PartitionHost.Enqueue"/>); reads and control
/// work run with <see cref="PartitionHost.ReadAsync{T}"/>, <see cref="PartitionHost.ReadAllAsync{T}"/>
/// and <see cref="PartitionHost.ExecuteAsync{T}"/>; module-wide switches with
/// <see cref="PartitionHost.FenceAsync"/>. What must be durable goes into the open
/// <see cref="CommitGroup"/> as an <see cref="ICommitWrite"/>. The recipe for a new module is in
/// docs/internals/runtime.md, "Adding a module".
/// </remarks>
public interface IPartitionModule
{
    /// <summary>The module's name: routing salt (<see cref="EntityRouter"/>) and the key of its rows. 1–64 characters of [a-z0-9_-]; never changes.</summary>
    string Name { get; }

    /// <summary>The empty state of partition <paramref name="partition"/> (before the first load).</summary>
    IModulePartition CreatePartition(int partition);

    /// <summary>
    /// Called once before each load round — at start, and on every reload after a failure — on the
    /// loading thread while no executor runs this module's work: read what the module's partitions
    /// share (log heads, operator controls). May throw: the host retries the whole reload.
    /// </summary>
    void BeginLoad();

    /// <summary>
    /// Rebuilds <paramref name="partitions"/> from durable state: restore each one's snapshot, then
    /// replay the module's log after it. At start all partitions are passed at once; after a failure
    /// each executor reloads its own. Must leave each partition exactly at its durable log head
    /// (throw <see cref="InvalidDataException"/> if it cannot: the host stays not-ready and retries).
    /// </summary>
    void Load(IReadOnlyList<IModulePartition> partitions);

    /// <summary>
    /// Called when an executor closes a commit group, for each partition that the group's work or
    /// control work touched, and for each partition whose snapshot is due: add what the group still
    /// owes (heads, counters) and, when <paramref name="snapshot"/> is true, the partition's snapshot.
    /// </summary>
    void CloseGroup(IModulePartition partition, CommitGroup group, bool snapshot);
}

/// <summary>
/// A module's state in one partition. Owned by the partition's executor: the host never touches
/// it concurrently, and a module must not share it with another thread except through the host's
/// reads.
/// </summary>
public interface IModulePartition
{
    /// <summary>The partition's index, 0 … P−1.</summary>
    int Index { get; }

    /// <summary>Changes applied since the last snapshot (the host's snapshot policy reads it).</summary>
    long ChangesSinceSnapshot { get; }

    /// <summary>True when the state holds anything a snapshot would not yet have.</summary>
    bool IsDirty { get; }
}
