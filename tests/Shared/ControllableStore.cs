using Showrunner.Storage;

namespace Showrunner.Testing;

/// <summary>
/// The real SQLite store with two fault hooks: commits can be held at a gate (a slow disk) or
/// made to fail (an I/O error) before they reach SQLite.
/// </summary>
internal sealed class ControllableStore(IActionStore inner) : IActionStore
{
    private readonly ManualResetEventSlim _gate = new(initialState: true);
    private readonly ManualResetEventSlim _startGate = new(initialState: true);
    private int _failNext;

    public int Appends { get; private set; }
    public int Resets { get; private set; }

    public void Hold() => _gate.Reset();
    public void Release() => _gate.Set();
    public void FailNextAppend() => Interlocked.Exchange(ref _failNext, 1);

    /// <summary>Holds the rebuild of state at start (a long recovery), until <see cref="ReleaseStart"/>.</summary>
    public void HoldStart() => _startGate.Reset();
    public void ReleaseStart() => _startGate.Set();

    public StoreInfo Open(int partitionCount) => inner.Open(partitionCount);

    public long[] LoadPartitionHeads()
    {
        _startGate.Wait(TimeSpan.FromSeconds(30));
        return inner.LoadPartitionHeads();
    }

    public void Append(IReadOnlyList<ActionRecord> records)
    {
        var batch = new CommitBatch();
        batch.Actions.AddRange(records);
        Commit(batch);
    }

    public void Commit(CommitBatch batch)
    {
        _gate.Wait(TimeSpan.FromSeconds(30));
        if (Interlocked.Exchange(ref _failNext, 0) == 1)
        {
            throw new IOException("Injected I/O error (disk full).");
        }
        inner.Commit(batch);
        Appends++;
    }

    public void FindMany(IReadOnlyList<string> ids, Dictionary<string, ActionRecord> found) => inner.FindMany(ids, found);
    public ActionRecord? Find(string id) => inner.Find(id);
    public byte[]? FindPlayerProfile(string player) => inner.FindPlayerProfile(player);
    public IReleaseStore Releases => inner.Releases;
    public IRunStore Runs => inner.Runs;
    public IRolloutStore Rollouts => inner.Rollouts;
    public ILedgerStore Ledger => inner.Ledger;
    public IModuleLogStore Modules => inner.Modules;
    public Storage.Outbox.IOutboxStore Outbox => inner.Outbox;
    public IKeyStore Keys => inner.Keys;
    public Storage.Audit.IAuditStore Audit => inner.Audit;
    public Storage.Audit.IApprovalStore Approvals => inner.Approvals;
    public IPartitionLog PartitionLog => inner.PartitionLog;

    public void ResetWriter()
    {
        Resets++;
        inner.ResetWriter();
    }

    public void Dispose()
    {
        inner.Dispose();
        _gate.Dispose();
        _startGate.Dispose();
    }
}
