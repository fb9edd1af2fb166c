using Showrunner.Core.Ledger;
using Showrunner.Runtime.Ledger;
using Showrunner.Storage;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Runtime.Tests.LiveEvents;

/// <summary>
/// The stored Merkle log (only levels ≥ 4 stored, lower ones recomputed from entry hashes) gives
/// exactly the proofs, roots and frontiers of the in-memory reference log, at every size.
/// </summary>
[Trait("Category", "Component")]
public sealed class StoredMerkleTests
{
    [Fact]
    public void Proofs_roots_and_frontiers_from_the_store_equal_the_reference_at_every_size()
    {
        using var directory = new TempDirectory();
        using var store = new SqliteActionStore(new SqliteStoreOptions { DataDirectory = directory.Path, ReadConnections = 2 }, TimeProvider.System);
        store.Open(2);
        var reference = new MerkleLog(new InMemoryMerkleNodeStore());
        var ledger = PartitionLedger.Empty(1);
        var nodes = new List<CompletedNode>();
        string release = new('a', 64);
        const int Entries = 1_000;
        var batch = new CommitBatch();
        for (int i = 0; i < Entries; i++)
        {
            nodes.Clear();
            var cause = new GrantCause("ev", 0, "p" + i, "tier:t", CauseKind.Action, "tier");
            var entry = ledger.Append(cause, [new RewardLine("gems", 1)], release, 1, null, null, "a" + i, nodes);
            reference.Append(entry.LeafHash);
            batch.Ledger.Add(new LedgerRow(1, entry.Index, Convert.FromHexString(entry.GrantId), entry.Player, entry.EventId, 0, "action", 1,
                entry.CanonicalBytes, entry.PrevHash, entry.Hash));
            batch.Nodes.AddRange(nodes.Select(n => new MerkleNodeRow(1, n.Level, n.Index, n.Hash)));
            if (batch.Ledger.Count == 97 || i == Entries - 1)
            {
                store.Commit(batch);
                batch = new CommitBatch();
            }
        }
        Assert.Equal(reference.Root(), ledger.Root());
        foreach (long size in new long[] { 1, 2, 3, 15, 16, 17, 100, 511, 512, 513, 999, 1000 })
        {
            var stored = new MerkleLog(new StoredMerkleView(store.Ledger, 1, size));
            Assert.Equal(reference.RootAt(size), stored.Root());
            for (long index = 0; index < size; index += Math.Max(1, size / 37))
            {
                Assert.Equal(reference.InclusionProof(index, size), stored.InclusionProof(index, size));
            }
            Assert.Equal(reference.ConsistencyProof(size / 3, size), stored.ConsistencyProof(size / 3, size));
        }
        var head = store.Ledger.LoadHeads()[1];
        var reopened = PartitionLedger.Open(1, head.Size, head.LastHash, (level, index) => store.Ledger.ReadNode(1, level, index));
        Assert.Equal(ledger.Root(), reopened.Root());
        Assert.Equal(ledger.LastHash, reopened.LastHash);
        Assert.Throws<KeyNotFoundException>(() => store.Ledger.ReadNode(1, 2, 250));
    }
}
