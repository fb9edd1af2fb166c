using Showrunner.Storage.Audit;

namespace Showrunner.Storage;

/// <summary>A grant id stored more than once, and one of the rows that holds it.</summary>
public sealed record DuplicateGrantRow(string GrantId, int Partition, long Index);

/// <summary>
/// A data directory opened read-only, for tools (<c>ledger verify</c>, <c>reconcile</c>,
/// <c>simulate</c>, <c>audit verify</c>) that may run while the server has the directory open.
/// Opened through <see cref="IStoreProvider.TryOpenReader"/> (or <see cref="DataDirectoryReaders.Open"/>).
/// </summary>
/// <remarks>
/// <para>
/// Consistency: every read sees one snapshot, the state as of the first read after opening,
/// whatever the server commits meanwhile. Read-only in every sense: nothing is migrated, written or
/// locked, so the server keeps running. A schema the build does not know exactly is refused at
/// open with a <see cref="StoreConfigurationException"/>: <c>schema_too_old</c>,
/// <c>schema_too_new</c>, <c>schema_unknown</c> or <c>store_damaged</c>.
/// </para>
/// <para>
/// Failures while reading: data that cannot be read as described (a damaged or edited file) throws
/// <see cref="StoreDataException"/>; the enumerables stream (constant memory for a ledger of any
/// size) and may throw while being walked.
/// </para>
/// <para>
/// Synchronous on purpose: its users are single-threaded command-line tools whose verifiers (in
/// Core) pull entries one at a time; it is never on a server path. Keep a reader open only as long
/// as the work needs (an open snapshot can hold back the store's log recycling).
/// </para>
/// </remarks>
public interface IDataDirectoryReader : IDisposable
{
    /// <summary>What was read, for messages (the SQLite store: the database file).</summary>
    string Location { get; }

    int SchemaVersion { get; }

    /// <summary>The partition count the directory was created with.</summary>
    int PartitionCount { get; }

    /// <summary>The ledger entries of one partition in index order, streamed.</summary>
    IEnumerable<LedgerRow> Entries(int partition);

    /// <summary>Every checkpoint in sequence order, streamed.</summary>
    IEnumerable<StoredCheckpoint> Checkpoints();

    /// <summary>Every action in log position order (so each partition's in seq order), streamed.</summary>
    IEnumerable<(long Position, ActionRecord Action)> Actions();

    /// <summary>The release with this ref and its canonical bundle bytes, or null.</summary>
    (StoredRelease Release, byte[] Bundle)? Release(long releaseRef);

    /// <summary>The stored release with this id (64 lower-case hex characters) and its canonical bundle bytes, or null.</summary>
    (StoredRelease Release, byte[] Bundle)? FindRelease(string id);

    /// <summary>How many actions the log holds, and the latest ingest time among them (null when the log is empty).</summary>
    (long Count, long? LastIngestedAtTicks) ActionLogExtent();

    /// <summary>How many actions were ingested in [<paramref name="fromTicks"/>, <paramref name="toTicks"/>) (UTC ticks).</summary>
    long CountActionsIngested(long fromTicks, long toTicks);

    /// <summary>Every recorded run transition, by event, run and sequence.</summary>
    IReadOnlyList<StoredTransition> Transitions();

    /// <summary>Every flag flip (kill switches), in order.</summary>
    IReadOnlyList<StoredFlag> Flags();

    /// <summary>Every recorded community goal, by event and run.</summary>
    IReadOnlyList<StoredGoal> Goals();

    /// <summary>Every audit entry in seq order, streamed.</summary>
    IEnumerable<StoredAuditEntry> AuditEntries();

    /// <summary>The number of ledger entries of every partition.</summary>
    long CountEntries();

    /// <summary>
    /// The rows of the first <paramref name="limit"/> grant ids (in byte order) that are stored more
    /// than once, by grant id, partition and index. Empty in a sound ledger: the store's own
    /// uniqueness refuses a second row, so this finds rows written past it (an index dropped, a file
    /// edited). A store must compute it from the rows themselves, not from the index it checks.
    /// </summary>
    IReadOnlyList<DuplicateGrantRow> DuplicateGrants(int limit);
}
