using System.Text;
using System.Text.Json.Nodes;
using Showrunner.Core.Ledger;

namespace Showrunner.Core.Tests.Ledger;

[Trait("Category", "Unit")]
public sealed class VerificationTests
{
    private static (LedgerFixture Ledger, LedgerSigningKey Key, SignedCheckpoint Checkpoint) Build(int entriesPerPartition = 9)
    {
        var ledger = new LedgerFixture(3);
        for (int i = 0; i < entriesPerPartition; i++)
        {
            for (int p = 0; p < 3; p++)
            {
                ledger.Append(p, $"player-{p}-{i}", $"action-{i}", 10 + i, i == 4 ? CauseKind.Operator : CauseKind.Action);
            }
        }
        var key = LedgerSigningKey.Create();
        return (ledger, key, key.Sign(1, 638_000_000_000_000_000L, ledger.Heads()));
    }

    private static string ReceiptFor(LedgerFixture ledger, SignedCheckpoint checkpoint, int partition, int index)
    {
        var entry = ledger.Entries[partition][index];
        var proof = ledger.Logs[partition].InclusionProof(index, checkpoint.Checkpoint.Partitions[partition].Size);
        return Receipt.ToJson(entry, proof, checkpoint);
    }

    // Flipping any byte of any stored entry (its bytes, prev_hash or hash) makes the chain
    // verifier report exactly that entry.
    [Fact]
    public void Any_flipped_byte_of_a_stored_entry_is_reported_at_that_entry()
    {
        var (ledger, key, checkpoint) = Build(6);
        using var _ = key;
        var head = checkpoint.Checkpoint.Partitions[1];
        var clean = LedgerFixture.Stored(ledger.Entries[1]);
        Assert.True(ChainVerifier.Verify(1, clean, head).IsValid);
        for (int row = 0; row < clean.Count; row++)
        {
            foreach (int field in new[] { 0, 1, 2 })
            {
                int length = field == 0 ? clean[row].Entry.Length : 32;
                for (int at = 0; at < length; at++)
                {
                    var rows = LedgerFixture.Stored(ledger.Entries[1]);
                    byte[] target = field switch { 0 => rows[row].Entry, 1 => rows[row].PrevHash, _ => rows[row].Hash };
                    target[at] ^= 0x01;
                    var result = ChainVerifier.Verify(1, rows, head);
                    Assert.False(result.IsValid, $"row {row} field {field} byte {at}");
                    Assert.Equal(row, result.FirstBadIndex);
                }
            }
        }
    }

    [Fact]
    public void Deleted_reordered_truncated_or_moved_entries_are_reported()
    {
        var (ledger, key, checkpoint) = Build(6);
        using var _ = key;
        var head = checkpoint.Checkpoint.Partitions[0];
        var rows = LedgerFixture.Stored(ledger.Entries[0]);

        var deleted = rows.Where((_, i) => i != 2).ToList();
        var result = ChainVerifier.Verify(0, deleted, head);
        Assert.Equal((ChainVerification.IndexGap, 2L), (result.Code, result.FirstBadIndex));

        var swapped = rows.ToList();
        (swapped[3], swapped[4]) = (swapped[4], swapped[3]);
        Assert.Equal(3, ChainVerifier.Verify(0, swapped, head).FirstBadIndex);

        result = ChainVerifier.Verify(0, rows.Take(4), head);
        Assert.Equal((ChainVerification.Truncated, 4L), (result.Code, result.FirstBadIndex));

        result = ChainVerifier.Verify(1, rows, head);
        Assert.Equal((ChainVerification.EntryMisplaced, 0L), (result.Code, result.FirstBadIndex));

        // A log rewritten consistently (every link recomputed) no longer matches the checkpoint.
        var rewritten = new LedgerFixture(1);
        for (int i = 0; i < 6; i++)
        {
            rewritten.Append(0, $"player-0-{i}", $"action-{i}", i == 3 ? 999 : 10 + i, i == 4 ? CauseKind.Operator : CauseKind.Action);
        }
        result = ChainVerifier.Verify(0, LedgerFixture.Stored(rewritten.Entries[0]), head);
        Assert.Equal(ChainVerification.RootMismatch, result.Code);

        result = ChainVerifier.Verify(0, rows, head);
        Assert.True(result.IsValid);
        Assert.Equal(head.Root, result.Root);
    }

    [Fact]
    public void A_receipt_verifies_offline_with_the_public_key_only()
    {
        var (ledger, key, checkpoint) = Build();
        using var _ = key;
        string publicKey = key.ExportPublicKeyPem();
        for (int p = 0; p < 3; p++)
        {
            for (int i = 0; i < ledger.Entries[p].Count; i++)
            {
                var result = ReceiptVerifier.Verify(ReceiptFor(ledger, checkpoint, p, i), publicKey);
                Assert.True(result.IsValid, result.Code + " " + result.Detail);
                Assert.Equal(ledger.Entries[p][i].GrantId, result.Entry!.GrantId);
            }
        }
    }

    [Fact]
    public void A_receipt_for_an_older_checkpoint_still_verifies_after_the_log_grew()
    {
        var (ledger, key, checkpoint) = Build();
        using var _ = key;
        for (int i = 0; i < 20; i++)
        {
            ledger.Append(2, "late-player", $"late-{i}");
        }
        Assert.True(ReceiptVerifier.Verify(ReceiptFor(ledger, checkpoint, 2, 5), key.ExportPublicKeyPem()).IsValid);
    }

    [Fact]
    public void A_receipt_fails_with_another_key_a_changed_amount_or_a_changed_proof_byte_and_names_why()
    {
        var (ledger, key, checkpoint) = Build();
        using var _ = key;
        using var otherKey = LedgerSigningKey.Create();
        string publicKey = key.ExportPublicKeyPem();
        string receipt = ReceiptFor(ledger, checkpoint, 1, 6);

        Assert.Equal(ReceiptFailure.KeyIdMismatch, ReceiptVerifier.Verify(receipt, otherKey.ExportPublicKeyPem()).Failure);

        // The same key id claimed, but signed by another key.
        var forged = JsonNode.Parse(receipt)!;
        forged["signature"] = Convert.ToBase64String(otherKey.Sign(1, 638_000_000_000_000_000L, ledger.Heads()).Signature);
        Assert.Equal(ReceiptFailure.SignatureInvalid, ReceiptVerifier.Verify(forged.ToJsonString(), publicKey).Failure);

        // A changed amount, in the entry bytes and fields alike: the entry no longer hashes to its hash.
        var entry = ledger.Entries[1][6];
        string richer = Encoding.UTF8.GetString(entry.CanonicalBytes).Replace("\"amount\":16", "\"amount\":1600", StringComparison.Ordinal);
        var changed = JsonNode.Parse(receipt)!;
        changed["entry"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(richer));
        changed["entry_fields"] = JsonNode.Parse(richer);
        Assert.Equal(ReceiptFailure.EntryHashMismatch, ReceiptVerifier.Verify(changed.ToJsonString(), publicKey).Failure);
        // ... and with the hash recomputed to match, the inclusion proof no longer leads to the root.
        changed["hash"] = Convert.ToHexStringLower(LedgerFormat.EntryHash(entry.PrevHash, Encoding.UTF8.GetBytes(richer)));
        Assert.Equal(ReceiptFailure.InclusionProofInvalid, ReceiptVerifier.Verify(changed.ToJsonString(), publicKey).Failure);
        // Only the human-readable fields changed: they no longer match the hashed bytes.
        var fieldsOnly = JsonNode.Parse(receipt)!;
        fieldsOnly["entry_fields"] = JsonNode.Parse(richer);
        Assert.Equal(ReceiptFailure.EntryFieldsMismatch, ReceiptVerifier.Verify(fieldsOnly.ToJsonString(), publicKey).Failure);

        var proof = JsonNode.Parse(receipt)!["inclusion_proof"]!.AsArray();
        for (int p = 0; p < proof.Count; p++)
        {
            string hex = proof[p]!.GetValue<string>();
            for (int at = 0; at < hex.Length; at++)
            {
                var tampered = JsonNode.Parse(receipt)!;
                char flipped = hex[at] == '0' ? '1' : '0';
                tampered["inclusion_proof"]![p] = hex[..at] + flipped + hex[(at + 1)..];
                Assert.Equal(ReceiptFailure.InclusionProofInvalid, ReceiptVerifier.Verify(tampered.ToJsonString(), publicKey).Failure);
            }
        }

        var outOfRange = JsonNode.Parse(receipt)!;
        outOfRange["partition"] = 7;
        Assert.Equal(ReceiptFailure.PartitionOutOfRange, ReceiptVerifier.Verify(outOfRange.ToJsonString(), publicKey).Failure);
        var wrongSize = JsonNode.Parse(receipt)!;
        wrongSize["tree_size"] = 100;
        Assert.Equal(ReceiptFailure.IndexOutOfRange, ReceiptVerifier.Verify(wrongSize.ToJsonString(), publicKey).Failure);

        Assert.Equal(ReceiptFailure.Malformed, ReceiptVerifier.Verify("{", publicKey).Failure);
        Assert.Equal(ReceiptFailure.Malformed, ReceiptVerifier.Verify("{\"format\":\"showrunner-receipt/1\"}", publicKey).Failure);
        Assert.Equal(ReceiptFailure.KeyInvalid, ReceiptVerifier.Verify(receipt, "not a key").Failure);
    }

    [Fact]
    public void Keys_round_trip_through_pem_and_their_id_is_the_hash_of_the_public_key_der()
    {
        using var key = LedgerSigningKey.Create();
        using var again = LedgerSigningKey.FromPkcs8Pem(key.ExportPkcs8Pem());
        Assert.Equal(key.KeyId, again.KeyId);
        Assert.Contains("BEGIN PRIVATE KEY", key.ExportPkcs8Pem(), StringComparison.Ordinal);
        var (publicKey, error) = LedgerPublicKey.FromPem(key.ExportPublicKeyPem());
        Assert.Null(error);
        using (publicKey)
        {
            Assert.Equal(key.KeyId, publicKey!.KeyId);
            Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(publicKey.SubjectPublicKeyInfo)), key.KeyId);
            var signed = again.Sign(5, 10, [new PartitionHead(0, MerkleHash.EmptyRoot())]);
            Assert.True(signed.Verify(publicKey));
            var decoded = Checkpoint.Decode(signed.Checkpoint.CanonicalBytes).Checkpoint!;
            Assert.True(new SignedCheckpoint(decoded, signed.Signature).Verify(publicKey));
            Assert.Equal("{\"key_id\":\"" + key.KeyId + "\",\"partitions\":[{\"root\":\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\",\"size\":0}],\"sequence\":5,\"time\":10,\"v\":1}",
                Encoding.UTF8.GetString(signed.Checkpoint.CanonicalBytes));
        }
    }

    [Fact]
    public void Consistency_between_two_checkpoints_holds_for_a_grown_log_and_fails_for_a_rewritten_one()
    {
        var (ledger, key, first) = Build(5);
        using var _ = key;
        using var publicKey = LedgerPublicKey.FromPem(key.ExportPublicKeyPem()).Key!;
        for (int i = 0; i < 7; i++)
        {
            ledger.Append(i % 2, $"new-{i}", $"new-action-{i}");
        }
        var second = key.Sign(2, 638_000_000_100_000_000L, ledger.Heads());
        var proofs = CheckpointConsistency.Proofs(first.Checkpoint, second.Checkpoint, p => ledger.Logs[p]);
        Assert.True(CheckpointConsistency.Verify(first, second, proofs, publicKey).IsValid);
        Assert.Equal(ConsistencyVerification.NotLater, CheckpointConsistency.Verify(second, first, proofs, publicKey).Code);

        // Partition 1 rewritten from entry 2 on: same sizes, different history.
        var rewritten = new LedgerFixture(3);
        for (int p = 0; p < 3; p++)
        {
            foreach (var entry in ledger.Entries[p])
            {
                bool change = p == 1 && entry.Index >= 2;
                rewritten.Append(p, entry.Player + (change ? "x" : ""), entry.CauseId, entry.Rewards[0].Amount, entry.CauseKind);
            }
        }
        var forged = key.Sign(2, 638_000_000_100_000_000L, rewritten.Heads());
        var forgedProofs = CheckpointConsistency.Proofs(first.Checkpoint, forged.Checkpoint, p => rewritten.Logs[p]);
        var result = CheckpointConsistency.Verify(first, forged, forgedProofs, publicKey);
        Assert.Equal((ConsistencyVerification.ProofInvalid, (int?)1), (result.Code, result.Partition));
    }
}
