using Showrunner.Core.Ledger;

namespace Showrunner.Core.Tests.Ledger;

/// <summary>The whole-ledger verifier over an in-memory source: checkpoints first, then each partition against every checkpoint's head, then grant-id uniqueness.</summary>
[Trait("Category", "Unit")]
public sealed class LedgerVerifierTests
{
    private const long Time = 638_000_000_000_000_000L;

    /// <summary>A ledger in memory: entries per partition, checkpoints as records, optional duplicate finder.</summary>
    private sealed class MemorySource(LedgerFixture ledger) : ILedgerSource
    {
        public List<CheckpointRecord> Records { get; } = [];
        public Dictionary<int, List<StoredEntry>> Rows { get; } = [];
        public int PartitionCount { get; set; } = ledger.Entries.Count;

        public IEnumerable<CheckpointRecord> Checkpoints() => Records;

        public IEnumerable<StoredEntry> Entries(int partition) =>
            Rows.TryGetValue(partition, out var rows) ? rows : LedgerFixture.Stored(ledger.Entries[partition]);

        public EntryProblem? CheckEntry(GrantEntry entry) => null;

        public IReadOnlyList<DuplicateGrant>? FindDuplicates(int limit) => null;

        public void Add(SignedCheckpoint signed) =>
            Records.Add(new CheckpointRecord(signed.Checkpoint.Sequence, signed.Checkpoint.KeyId, signed.Checkpoint.CanonicalBytes, signed.Signature));
    }

    /// <summary>Three partitions; checkpoints after 2, 5 and 5 (unchanged) rounds of appends, then 3 more rounds beyond every checkpoint.</summary>
    private static (LedgerFixture Ledger, MemorySource Source, LedgerSigningKey Key) Build()
    {
        var ledger = new LedgerFixture(3);
        var key = LedgerSigningKey.Create();
        var source = new MemorySource(ledger);
        int round = 0;
        void Rounds(int count)
        {
            for (int i = 0; i < count; i++, round++)
            {
                for (int p = 0; p < 3; p++)
                {
                    // Partition 2 only grows every other round, so its heads repeat across checkpoints.
                    if (p < 2 || round % 2 == 0)
                    {
                        ledger.Append(p, $"player-{p}-{round}", $"action-{p}-{round}", 10 + round);
                    }
                }
            }
        }
        Rounds(2);
        source.Add(key.Sign(1, Time, ledger.Heads()));
        Rounds(3);
        source.Add(key.Sign(2, Time + 10, ledger.Heads()));
        source.Add(key.Sign(3, Time + 20, ledger.Heads()));
        Rounds(3);
        return (ledger, source, key);
    }

    private static LedgerVerificationReport Verify(MemorySource source, LedgerSigningKey key)
    {
        var (publicKey, error) = LedgerPublicKey.FromPem(key.ExportPublicKeyPem());
        Assert.True(publicKey is not null, error);
        using (publicKey)
        {
            return LedgerVerifier.Verify(source, publicKey);
        }
    }

    [Fact]
    public void A_sound_ledger_verifies_and_the_summary_counts_what_was_checked()
    {
        var (ledger, source, key) = Build();
        using var _ = key;
        var report = Verify(source, key);
        Assert.True(report.IsValid, string.Join("\n", report.Problems));
        Assert.Equal((3, ledger.Entries.Sum(e => e.Count), 3L, 3L), (report.Partitions, report.Entries, report.Checkpoints, report.Latest!.Sequence));
        Assert.Equal(key.KeyId, report.KeyId);
    }

    [Fact]
    public void Several_heads_are_checked_in_one_pass_and_a_root_mismatch_names_the_checkpoint_and_the_range()
    {
        var (ledger, _, key) = Build();
        using var _k = key;
        var rows = LedgerFixture.Stored(ledger.Entries[0]);
        var at2 = new PartitionHead(2, ledger.Logs[0].RootAt(2));
        var at5 = new PartitionHead(5, ledger.Logs[0].RootAt(5));
        Assert.True(ChainVerifier.Verify(0, rows, [at2, at5, at5]).IsValid);

        var wrong = new PartitionHead(5, ledger.Logs[0].RootAt(4));
        var result = ChainVerifier.Verify(0, rows, [at2, wrong]);
        Assert.Equal((ChainVerification.RootMismatch, (long?)null, 5L), (result.Code, result.FirstBadIndex, result.Size));
        Assert.Same(wrong, result.FailedHead);
        Assert.Contains("from 2 to 4", result.Detail, StringComparison.Ordinal);

        var beyond = new PartitionHead(rows.Count + 1, new byte[32]);
        result = ChainVerifier.Verify(0, rows, [at2, beyond]);
        Assert.Equal((ChainVerification.Truncated, (long?)rows.Count), (result.Code, result.FirstBadIndex));
        Assert.Same(beyond, result.FailedHead);

        Assert.False(ChainVerifier.Verify(0, rows, [new PartitionHead(0, new byte[32])]).IsValid);
        Assert.True(ChainVerifier.Verify(0, rows, [new PartitionHead(0, MerkleHash.EmptyRoot()), at5]).IsValid);
        Assert.Throws<ArgumentException>(() => ChainVerifier.Verify(0, rows, [at5, at2]));
    }

    [Fact]
    public void A_checkpoint_of_another_key_a_forged_signature_or_a_shrinking_one_is_reported_and_stops_the_checkpoints()
    {
        var (ledger, source, key) = Build();
        using var _ = key;
        using var other = LedgerSigningKey.Create();

        source.Records[1] = source.Records[1] with { Signature = other.Sign(2, Time + 10, ledger.Heads()).Signature };
        var report = Verify(source, key);
        var problem = Assert.Single(report.Problems);
        Assert.Equal((LedgerVerifier.CheckpointSignatureInvalid, 2L), (problem.Code, problem.Checkpoint));
        Assert.Equal(1, report.Checkpoints);

        source = new MemorySource(ledger);
        var foreign = other.Sign(1, Time, ledger.Heads());
        source.Add(foreign);
        Assert.Equal(LedgerVerifier.CheckpointKeyMismatch, Assert.Single(Verify(source, key).Problems).Code);

        source = new MemorySource(ledger);
        source.Add(key.Sign(4, Time, ledger.Heads()));
        source.Add(key.Sign(4, Time, ledger.Heads()));
        Assert.Equal(LedgerVerifier.CheckpointNotLater, Assert.Single(Verify(source, key).Problems).Code);

        source = new MemorySource(ledger);
        source.Add(key.Sign(1, Time, ledger.Heads()));
        var smaller = ledger.Heads().ToList();
        smaller[1] = new PartitionHead(3, ledger.Logs[1].RootAt(3));
        source.Add(key.Sign(2, Time, smaller));
        problem = Assert.Single(Verify(source, key).Problems);
        Assert.Equal((LedgerVerifier.CheckpointShrunk, (int?)1), (problem.Code, problem.Partition));

        source = new MemorySource(ledger);
        source.Add(key.Sign(1, Time, ledger.Heads().Take(2).ToList()));
        Assert.Equal(LedgerVerifier.CheckpointPartitionCountMismatch, Assert.Single(Verify(source, key).Problems).Code);

        source = new MemorySource(ledger);
        var signed = key.Sign(1, Time, ledger.Heads());
        source.Records.Add(new CheckpointRecord(9, signed.Checkpoint.KeyId, signed.Checkpoint.CanonicalBytes, signed.Signature));
        source.Records.Add(new CheckpointRecord(10, key.KeyId, "{}"u8.ToArray(), signed.Signature));
        Assert.Equal(LedgerVerifier.CheckpointMalformed, Assert.Single(Verify(source, key).Problems).Code);
    }

    [Fact]
    public void Every_damaged_partition_is_named_with_its_first_bad_entry_and_the_checkpoint_it_fails()
    {
        var (ledger, source, key) = Build();
        using var _ = key;
        source.Rows[0] = LedgerFixture.Stored(ledger.Entries[0]);
        source.Rows[0][3].Entry[10] ^= 0x20;
        source.Rows[2] = [.. LedgerFixture.Stored(ledger.Entries[2]).Take(1)];
        var report = Verify(source, key);
        Assert.Equal(2, report.Problems.Count);
        Assert.Equal((ChainVerification.EntryMalformed, (int?)0, (long?)3), (report.Problems[0].Code, report.Problems[0].Partition, report.Problems[0].Index));
        Assert.Equal((ChainVerification.Truncated, (int?)2, (long?)1, (long?)2), (report.Problems[1].Code, report.Problems[1].Partition, report.Problems[1].Index, report.Problems[1].Checkpoint));
    }

    [Fact]
    public void Without_a_duplicate_query_the_walk_finds_a_grant_id_stored_twice()
    {
        var (ledger, source, key) = Build();
        using var _ = key;
        // Partition 1 ends with an entry (properly chained) that repeats the cause of partition 0's entry 2.
        var original = ledger.Entries[0][2];
        var last = ledger.Entries[1][^1];
        var copy = GrantEntry.Create(original.Cause, original.Rewards, original.ReleaseId, original.TimeTicks, null, null, 1, last.Index + 1, last.Hash);
        ledger.Entries[1].Add(copy);
        var report = Verify(source, key);
        var problem = Assert.Single(report.Problems);
        Assert.Equal((LedgerVerifier.DuplicateGrantId, (int?)1, (long?)copy.Index), (problem.Code, problem.Partition, problem.Index));
        Assert.Contains("entry 2 of partition 0", problem.Detail, StringComparison.Ordinal);
    }
}
