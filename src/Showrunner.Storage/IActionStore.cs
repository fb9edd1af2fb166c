namespace Showrunner.Storage;

/// <summary>One action as stored in the append-only action log.</summary>
/// <param name="Partition">The partition that owns the action (by its player).</param>
/// <param name="Seq">The action's position in its partition's log: 1, 2, 3, … without gaps.</param>
/// <param name="AtTicks">The sender's <c>at</c>, UTC ticks.</param>
/// <param name="IngestedAtTicks">The server time at ingest, UTC ticks: the time that counts for the action.</param>
/// <param name="Data">The data object as compact UTF-8 JSON.</param>
/// <param name="ReleaseRef">The <see cref="StoredRelease.Ref"/> of the release in force on the partition when the action was sequenced; 0 when none was active.</param>
public sealed record ActionRecord(
    int Partition, long Seq, string Id, string Player, string Type, long AtTicks, long IngestedAtTicks, byte[] Data, long ReleaseRef = 0);

/// <summary>What the store reports about itself once open.</summary>
public sealed record StoreInfo(
    int PartitionCount, bool Created, int SchemaVersion, string Engine, string Durability, string Location)
{
    /// <summary>Files of the store that other users could read or write and that the open narrowed to owner-only (for the start-up log).</summary>
    public IReadOnlyList<string> PermissionsNarrowed { get; init; } = [];
}

/// <summary>
/// The storage contract of the action log. The domain and runtime never see SQL; the embedded
/// SQLite store and (later) the PostgreSQL cluster store implement it.
/// </summary>
/// <remarks>
/// Threading: <see cref="Append"/> is called by exactly one thread at a time (the group committer);
/// every read method is safe to call concurrently with it and with each other.
/// Durability: when <see cref="Append"/> returns, the records survive a process kill and a power
/// loss. When it throws, none of the records were committed and the caller must treat its own
/// in-memory view as suspect (fail-stop): call <see cref="ResetWriter"/> and reload.
/// </remarks>
public interface IActionStore : IDisposable
{
    /// <summary>Opens the store, applies migrations, and creates or checks the partition count.</summary>
    /// <exception cref="StoreConfigurationException">The data directory cannot be used as asked.</exception>
    StoreInfo Open(int partitionCount);

    /// <summary>The last committed seq of every partition (0 when empty), indexed by partition.</summary>
    long[] LoadPartitionHeads();

    /// <summary>Appends all records in one durable transaction, or none of them.</summary>
    void Append(IReadOnlyList<ActionRecord> records);

    /// <summary>
    /// Writes the whole batch — actions, ledger entries, Merkle nodes, outbox deliveries, partition
    /// snapshots — in one durable transaction, or none of it. Same threading and failure contract
    /// as <see cref="Append"/>. A batch with <see cref="CommitBatch.Fences"/> is written only if
    /// every fence holds the partition's current owner epoch.
    /// </summary>
    /// <exception cref="StaleEpochException">A fence is stale: nothing was written, the writer stays usable.</exception>
    /// <exception cref="StoreUnavailableException">The store was busy, locked or failed with an I/O error: nothing was written; fail-stop.</exception>
    void Commit(CommitBatch batch);

    /// <summary>Adds to <paramref name="found"/> every stored action whose id is in <paramref name="ids"/>.</summary>
    void FindMany(IReadOnlyList<string> ids, Dictionary<string, ActionRecord> found);

    /// <summary>The stored action with this id, or null.</summary>
    ActionRecord? Find(string id);

    /// <summary>
    /// The merged attributes of the player's <c>player.profile</c> actions (compact JSON object), or
    /// null if the player has sent none. Written in the same transaction as the actions.
    /// </summary>
    byte[]? FindPlayerProfile(string player);

    /// <summary>Published releases and the active-release register, in the same data directory.</summary>
    IReleaseStore Releases { get; }

    /// <summary>The recorded lifecycle of event runs, in the same data directory.</summary>
    IRunStore Runs { get; }

    /// <summary>Staged rollouts, their assignments, and flags, in the same data directory.</summary>
    IRolloutStore Rollouts { get; }

    /// <summary>The ledger, checkpoints, community-goal records and partition snapshots, in the same data directory.</summary>
    ILedgerStore Ledger { get; }

    /// <summary>The partition modules' own logs and snapshots, in the same data directory.</summary>
    IModuleLogStore Modules { get; }

    /// <summary>Deliveries of grants to the game's webhook, in the same data directory.</summary>
    Outbox.IOutboxStore Outbox { get; }

    /// <summary>API keys (hashed), in the same data directory.</summary>
    IKeyStore Keys { get; }
    /// <summary>The hash-chained audit log of operator acts, in the same data directory.</summary>
    Audit.IAuditStore Audit { get; }

    /// <summary>Requests waiting for a second person's approval, in the same data directory.</summary>
    Audit.IApprovalStore Approvals { get; }

    /// <summary>Owner epochs of the partitions and reads of the log by partition and seq, in the same data directory.</summary>
    IPartitionLog PartitionLog { get; }

    /// <summary>Discards the write connection after a failed <see cref="Append"/> and opens a fresh one.</summary>
    void ResetWriter();
}
