using System.Text;
using System.Text.Json;

namespace Showrunner.Core.Ledger;

/// <summary>
/// Proof that a grant is in the ledger: the entry, its inclusion proof in its partition's log at
/// the size a signed checkpoint commits to, and that checkpoint. JSON format: docs/ledger.md,
/// "Receipt". Anyone holding the ledger's public key can check it offline.
/// </summary>
public static class Receipt
{
    public const string Format = "showrunner-receipt/1";

    /// <summary>Writes the receipt JSON for an entry, given the inclusion proof of its leaf at the checkpoint's size of its partition.</summary>
    public static string ToJson(GrantEntry entry, IReadOnlyList<byte[]> inclusionProof, SignedCheckpoint checkpoint)
    {
        var head = checkpoint.Checkpoint.Partitions[entry.Partition];
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("format", Format);
            writer.WriteString("key_id", checkpoint.Checkpoint.KeyId);
            writer.WriteNumber("partition", entry.Partition);
            writer.WriteNumber("index", entry.Index);
            writer.WriteNumber("tree_size", head.Size);
            writer.WriteString("entry", Convert.ToBase64String(entry.CanonicalBytes));
            writer.WritePropertyName("entry_fields");
            writer.WriteRawValue(entry.CanonicalBytes, skipInputValidation: true);
            writer.WriteString("prev_hash", Convert.ToHexStringLower(entry.PrevHash));
            writer.WriteString("hash", Convert.ToHexStringLower(entry.Hash));
            writer.WriteStartArray("inclusion_proof");
            foreach (byte[] node in inclusionProof)
            {
                writer.WriteStringValue(Convert.ToHexStringLower(node));
            }
            writer.WriteEndArray();
            writer.WriteString("checkpoint", Convert.ToBase64String(checkpoint.Checkpoint.CanonicalBytes));
            writer.WriteString("signature", Convert.ToBase64String(checkpoint.Signature));
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}

/// <summary>Why a receipt did not verify. Stable codes: <see cref="ReceiptVerification.Code"/>.</summary>
public enum ReceiptFailure
{
    None,
    Malformed,
    KeyInvalid,
    KeyIdMismatch,
    SignatureInvalid,
    EntryFieldsMismatch,
    PartitionOutOfRange,
    IndexOutOfRange,
    EntryHashMismatch,
    InclusionProofInvalid,
}

/// <summary>The outcome of checking a receipt: on success the entry and the checkpoint it is proved against.</summary>
public sealed record ReceiptVerification(ReceiptFailure Failure, string Detail, GrantEntry? Entry = null, Checkpoint? Checkpoint = null)
{
    public bool IsValid => Failure == ReceiptFailure.None;

    public string Code => Failure switch
    {
        ReceiptFailure.None => "ok",
        ReceiptFailure.Malformed => "receipt.malformed",
        ReceiptFailure.KeyInvalid => "receipt.key_invalid",
        ReceiptFailure.KeyIdMismatch => "receipt.key_id_mismatch",
        ReceiptFailure.SignatureInvalid => "receipt.signature_invalid",
        ReceiptFailure.EntryFieldsMismatch => "receipt.entry_fields_mismatch",
        ReceiptFailure.PartitionOutOfRange => "receipt.partition_out_of_range",
        ReceiptFailure.IndexOutOfRange => "receipt.index_out_of_range",
        ReceiptFailure.EntryHashMismatch => "receipt.entry_hash_mismatch",
        ReceiptFailure.InclusionProofInvalid => "receipt.inclusion_proof_invalid",
        _ => "receipt.unknown",
    };
}

/// <summary>
/// Checks a receipt offline with nothing but the ledger's public key, in the order docs/ledger.md
/// gives (so a third-party verifier reports the same first failure): shape, key id, signature,
/// entry, partition and index, entry hash, inclusion proof.
/// </summary>
public static class ReceiptVerifier
{
    public const int ReceiptBytesMax = 32 * 1024 * 1024;

    public static ReceiptVerification Verify(string receiptJson, string publicKeyPem)
    {
        var (key, keyError) = LedgerPublicKey.FromPem(publicKeyPem);
        if (key is null)
        {
            return new(ReceiptFailure.KeyInvalid, keyError!);
        }
        using (key)
        {
            return Verify(receiptJson, key);
        }
    }

    public static ReceiptVerification Verify(string receiptJson, LedgerPublicKey key)
    {
        if (receiptJson.Length > ReceiptBytesMax)
        {
            return new(ReceiptFailure.Malformed, $"the receipt is larger than {ReceiptBytesMax} bytes");
        }
        string keyId;
        long partition, index, treeSize;
        byte[] entryBytes, prevHash, hash, checkpointBytes, signature;
        var proof = new List<byte[]>();
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(receiptJson, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException exception)
        {
            return new(ReceiptFailure.Malformed, "the receipt is not JSON: " + exception.Message);
        }
        using (document)
        {
            var root = document.RootElement;
            JsonElement entryFields;
            try
            {
                if (root.GetProperty("format").GetString() != Receipt.Format)
                {
                    return new(ReceiptFailure.Malformed, $"format is not '{Receipt.Format}'");
                }
                keyId = root.GetProperty("key_id").GetString() ?? "";
                partition = root.GetProperty("partition").GetInt64();
                index = root.GetProperty("index").GetInt64();
                treeSize = root.GetProperty("tree_size").GetInt64();
                entryBytes = Convert.FromBase64String(root.GetProperty("entry").GetString() ?? "");
                entryFields = root.GetProperty("entry_fields");
                prevHash = Hash(root, "prev_hash");
                hash = Hash(root, "hash");
                var proofElement = root.GetProperty("inclusion_proof");
                if (proofElement.GetArrayLength() > MerkleProof.MaxProofLength)
                {
                    return new(ReceiptFailure.Malformed, "inclusion_proof is too long");
                }
                foreach (var node in proofElement.EnumerateArray())
                {
                    proof.Add(HashValue(node.GetString()));
                }
                checkpointBytes = Convert.FromBase64String(root.GetProperty("checkpoint").GetString() ?? "");
                signature = Convert.FromBase64String(root.GetProperty("signature").GetString() ?? "");
            }
            catch (Exception exception) when (exception is InvalidOperationException or KeyNotFoundException or FormatException)
            {
                return new(ReceiptFailure.Malformed, "a field is missing or has the wrong type: " + exception.Message);
            }

            var (checkpoint, checkpointError) = Checkpoint.Decode(checkpointBytes);
            if (checkpoint is null)
            {
                return new(ReceiptFailure.Malformed, "checkpoint: " + checkpointError);
            }
            if (keyId != key.KeyId || checkpoint.KeyId != key.KeyId)
            {
                return new(ReceiptFailure.KeyIdMismatch, $"the receipt names key {keyId} and its checkpoint key {checkpoint.KeyId}; the given public key is {key.KeyId}");
            }
            if (!key.VerifySignature(checkpoint.SignedMessage(), signature))
            {
                return new(ReceiptFailure.SignatureInvalid, $"the signature of checkpoint {checkpoint.Sequence} does not verify with key {key.KeyId}");
            }
            var (entry, entryError) = GrantEntry.Decode(entryBytes, prevHash);
            if (entry is null)
            {
                return new(ReceiptFailure.Malformed, "entry: " + entryError);
            }
            using (var decoded = JsonDocument.Parse(entryBytes))
            {
                if (!JsonElement.DeepEquals(decoded.RootElement, entryFields))
                {
                    return new(ReceiptFailure.EntryFieldsMismatch, "entry_fields differ from the entry bytes");
                }
            }
            if (partition != entry.Partition || partition < 0 || partition >= checkpoint.Partitions.Count)
            {
                return new(ReceiptFailure.PartitionOutOfRange, $"partition {partition} (entry: {entry.Partition}) is not one of the checkpoint's {checkpoint.Partitions.Count} partitions");
            }
            var head = checkpoint.Partitions[(int)partition];
            if (index != entry.Index || treeSize != head.Size || index >= head.Size)
            {
                return new(ReceiptFailure.IndexOutOfRange, $"index {index} (entry: {entry.Index}) is not below the checkpoint's size {head.Size} of partition {partition} (receipt: {treeSize})");
            }
            if (!entry.Hash.AsSpan().SequenceEqual(hash))
            {
                return new(ReceiptFailure.EntryHashMismatch, $"the entry hashes to {Convert.ToHexStringLower(entry.Hash)}, the receipt says {Convert.ToHexStringLower(hash)}");
            }
            if (!MerkleProof.VerifyInclusion(index, head.Size, entry.LeafHash, proof, head.Root))
            {
                return new(ReceiptFailure.InclusionProofInvalid, $"the inclusion proof does not lead from entry {index} to the root of partition {partition} at size {head.Size}");
            }
            return new(ReceiptFailure.None, "", entry, checkpoint);
        }
    }

    private static byte[] Hash(JsonElement root, string name) => HashValue(root.GetProperty(name).GetString());

    private static byte[] HashValue(string? hex)
    {
        if (hex is null || hex.Length != 2 * MerkleHash.Size || !hex.All(char.IsAsciiHexDigitLower))
        {
            throw new FormatException("a hash is not 64 lower-case hex digits");
        }
        return Convert.FromHexString(hex);
    }
}
