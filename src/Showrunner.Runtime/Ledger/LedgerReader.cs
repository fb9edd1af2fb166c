using Showrunner.Core.Ledger;
using Showrunner.Storage;

namespace Showrunner.Runtime.Ledger;

/// <summary>A partition's stored Merkle log seen at a committed size: what proofs at a checkpoint read (O(log n) nodes each).</summary>
internal sealed class StoredMerkleView(ILedgerStore store, int partition, long size) : IMerkleNodeStore
{
    public long Count(int level) => level >= 63 ? 0 : size >> level;

    public void Append(int level, long index, ReadOnlySpan<byte> hash) =>
        throw new InvalidOperationException("A stored Merkle view is read-only.");

    public byte[] Read(int level, long index) => store.ReadNode(partition, level, index);
}

/// <summary>What a receipt request found.</summary>
public enum ReceiptStatus
{
    Found,
    InvalidId,
    NotFound,
}

/// <summary>
/// Receipts and consistency proofs from the stored ledger: the entry, its RFC 9162 inclusion proof
/// at the size a signed checkpoint commits to, and that checkpoint (docs/ledger.md, "Receipt").
/// </summary>
public sealed class LedgerReader(IActionStore store, CheckpointSigner signer)
{
    private readonly ILedgerStore _ledger = store.Ledger;

    /// <summary>The grant id as 32 bytes, or null when it is not 64 lower- or upper-case hex digits.</summary>
    public static byte[]? ParseGrantId(string grantId) =>
        grantId.Length == 64 && grantId.All(char.IsAsciiHexDigit) ? Convert.FromHexString(grantId) : null;

    /// <summary>The receipt JSON of a grant.</summary>
    public async Task<(ReceiptStatus Status, string? Json)> ReceiptAsync(string grantId)
    {
        if (ParseGrantId(grantId) is not { } id)
        {
            return (ReceiptStatus.InvalidId, null);
        }
        if (_ledger.FindGrant(id) is not { } row)
        {
            return (ReceiptStatus.NotFound, null);
        }
        var (entry, error) = GrantEntry.Decode(row.Entry, row.PrevHash);
        if (entry is null || !entry.Hash.AsSpan().SequenceEqual(row.Hash))
        {
            throw new InvalidDataException($"Ledger entry {row.Partition}/{row.Index} is damaged: {error ?? "its hash differs"}. Run 'showrunner ledger verify'.");
        }
        var checkpoint = await signer.CoveringAsync(row.Partition, row.Index).ConfigureAwait(false);
        long size = checkpoint.Checkpoint.Partitions[row.Partition].Size;
        var log = new MerkleLog(new StoredMerkleView(_ledger, row.Partition, size));
        var proof = log.InclusionProof(row.Index, size);
        return (ReceiptStatus.Found, Receipt.ToJson(entry, proof, checkpoint));
    }

    /// <summary>A stored checkpoint, checked, or null.</summary>
    internal SignedCheckpoint? Checkpoint(long sequence) =>
        _ledger.ReadCheckpoint(sequence) is { } stored ? CheckpointSigner.Decode(stored) : null;

    /// <summary>Per partition, the consistency proof from <paramref name="older"/>'s size to <paramref name="newer"/>'s.</summary>
    internal IReadOnlyList<IReadOnlyList<byte[]>> ConsistencyProofs(Checkpoint older, Checkpoint newer) =>
        CheckpointConsistency.Proofs(older, newer, p => new MerkleLog(new StoredMerkleView(_ledger, p, newer.Partitions[p].Size)));
}
