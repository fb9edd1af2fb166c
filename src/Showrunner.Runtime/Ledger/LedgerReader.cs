using Showrunner.Core.Ledger;
using Showrunner.Storage;

namespace Showrunner.Runtime.Ledger;

/// <summary>A partition's stored Merkle log seen at a committed size: what proofs at a checkpoint read (O(log n) nodes each).</summary>
public sealed class StoredMerkleView(ILedgerStore store, int partition, long size) : IMerkleNodeStore
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
    /// <summary>The grant's partition is damaged, or its entry failed its read check: no receipt is issued from it.</summary>
    Damaged,
}

/// <summary>A receipt request's answer: the receipt JSON when found, the damage when the partition is not trusted.</summary>
public sealed record ReceiptResult(ReceiptStatus Status, string? Json = null, PartitionDamage? Damage = null);

/// <summary>
/// Receipts and consistency proofs from the stored ledger: the entry, its RFC 9162 inclusion proof
/// at the size a signed checkpoint commits to, and that checkpoint (docs/ledger.md, "Receipt").
/// Every entry is checked before a receipt is built from it (<see cref="LedgerIntegrity.Check"/>):
/// a receipt is never issued for a damaged partition.
/// </summary>
public sealed class LedgerReader(IActionStore store, CheckpointSigner signer, LedgerIntegrity integrity)
{
    private readonly ILedgerStore _ledger = store.Ledger;

    /// <summary>The grant id as 32 bytes, or null when it is not 64 lower- or upper-case hex digits.</summary>
    public static byte[]? ParseGrantId(string grantId) =>
        grantId.Length == 64 && grantId.All(char.IsAsciiHexDigit) ? Convert.FromHexString(grantId) : null;

    /// <summary>The receipt JSON of a grant.</summary>
    public async Task<ReceiptResult> ReceiptAsync(string grantId)
    {
        if (ParseGrantId(grantId) is not { } id)
        {
            return new(ReceiptStatus.InvalidId);
        }
        if (_ledger.FindGrant(id) is not { } row)
        {
            return new(ReceiptStatus.NotFound);
        }
        var checkedRow = integrity.Check(row);
        if (checkedRow.Entry is not { } entry)
        {
            return new(ReceiptStatus.Damaged, Damage: checkedRow.Damage);
        }
        SignedCheckpoint checkpoint;
        try
        {
            checkpoint = await signer.CoveringAsync(row.Partition, row.Index).ConfigureAwait(false);
        }
        catch (LedgerDamagedException exception)
        {
            // Found damaged by another read or check while this one waited for a checkpoint.
            return new(ReceiptStatus.Damaged, Damage: exception.Damage);
        }
        long size = checkpoint.Checkpoint.Partitions[row.Partition].Size;
        var log = new MerkleLog(new StoredMerkleView(_ledger, row.Partition, size));
        var proof = log.InclusionProof(row.Index, size);
        return new(ReceiptStatus.Found, Receipt.ToJson(entry, proof, checkpoint));
    }

    /// <summary>A stored checkpoint, checked, or null.</summary>
    internal SignedCheckpoint? Checkpoint(long sequence) =>
        _ledger.ReadCheckpoint(sequence) is { } stored ? CheckpointSigner.Decode(stored) : null;

    /// <summary>Per partition, the consistency proof from <paramref name="older"/>'s size to <paramref name="newer"/>'s.</summary>
    internal IReadOnlyList<IReadOnlyList<byte[]>> ConsistencyProofs(Checkpoint older, Checkpoint newer) =>
        CheckpointConsistency.Proofs(older, newer, p => new MerkleLog(new StoredMerkleView(_ledger, p, newer.Partitions[p].Size)));
}
