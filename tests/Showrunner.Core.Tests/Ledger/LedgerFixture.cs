using Showrunner.Core.Ledger;

namespace Showrunner.Core.Tests.Ledger;

/// <summary>Builds small partition ledgers (entries + Merkle log) for tests, deterministically.</summary>
internal sealed class LedgerFixture
{
    public const string Release = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    public LedgerFixture(int partitions)
    {
        for (int p = 0; p < partitions; p++)
        {
            Entries.Add([]);
            Logs.Add(new MerkleLog(new InMemoryMerkleNodeStore()));
        }
    }

    public List<List<GrantEntry>> Entries { get; } = [];
    public List<MerkleLog> Logs { get; } = [];

    public GrantEntry Append(int partition, string player, string action, long amount = 100, CauseKind kind = CauseKind.Action)
    {
        var entries = Entries[partition];
        byte[] prev = entries.Count == 0 ? LedgerFormat.GenesisPrevHash() : entries[^1].Hash;
        bool manual = kind is CauseKind.Operator or CauseKind.Correction;
        var entry = GrantEntry.Create(new GrantCause("summer-festival", 3, player, "tier:bronze", kind, action),
            [new RewardLine("gems", amount), new RewardLine("badge.sun", 1)], Release, 638_000_000_000_000_000L + entries.Count,
            manual ? "ops@studio" : null, manual ? "support ticket 42" : null, partition, entries.Count, prev);
        entries.Add(entry);
        Assert.Equal(entry.Index, Logs[partition].Append(entry.LeafHash));
        return entry;
    }

    public IReadOnlyList<PartitionHead> Heads() => Logs.Select(l => new PartitionHead(l.Size, l.Root())).ToList();

    public static List<StoredEntry> Stored(IEnumerable<GrantEntry> entries) =>
        entries.Select(e => new StoredEntry(e.Index, (byte[])e.CanonicalBytes.Clone(), (byte[])e.PrevHash.Clone(), (byte[])e.Hash.Clone())).ToList();
}
