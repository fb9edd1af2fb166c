using System.Text.Json;
using Showrunner.Core.Ledger;
using Showrunner.Storage;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;
using Xunit.Abstractions;

namespace Showrunner.Cli.Tests.Ledger;

/// <summary>
/// <c>showrunner ledger verify --data</c> on a data directory the real pipeline wrote: it passes,
/// and every kind of tampering an attacker with the file could do is reported at exactly the
/// entry or checkpoint it touched.
/// </summary>
[Trait("Category", "Integration")]
public sealed class LedgerVerifyCommandTests(LedgerDirectory directory, ITestOutputHelper log) : IClassFixture<LedgerDirectory>
{
    internal static (int ExitCode, string Output, string Errors) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        int exitCode = ShowrunnerCommand.Run(args, output, errors);
        return (exitCode, output.ToString(), errors.ToString());
    }

    /// <summary>The problems of a <c>--json</c> run, as (code, partition, index, checkpoint).</summary>
    internal static (int ExitCode, JsonElement Root, List<(string Code, int? Partition, long? Index, long? Checkpoint)> Problems) Json(params string[] args)
    {
        var (exitCode, output, errors) = Run([.. args, "--json"]);
        Assert.True(output.Length > 0, errors);
        var root = JsonDocument.Parse(output).RootElement.Clone();
        var problems = root.GetProperty("problems").EnumerateArray().Select(p => (
            p.GetProperty("code").GetString()!,
            p.GetProperty("partition").ValueKind == JsonValueKind.Null ? (int?)null : p.GetProperty("partition").GetInt32(),
            p.GetProperty("index").ValueKind == JsonValueKind.Null ? (long?)null : p.GetProperty("index").GetInt64(),
            p.GetProperty("checkpoint").ValueKind == JsonValueKind.Null ? (long?)null : p.GetProperty("checkpoint").GetInt64())).ToList();
        return (exitCode, root, problems);
    }

    private static (string, int?, long?, long?) Problem(string code, int? partition, long? index, long? checkpoint = null) => (code, partition, index, checkpoint);

    private static long EntryCount(LedgerCopy copy) => Enumerable.Range(0, LedgerDirectory.Partitions).Sum(p => (long)copy.Rows(p).Count);

    [Fact]
    public void An_untampered_directory_verifies_with_a_summary_in_text_and_json()
    {
        var copy = directory.Copy();
        var (exitCode, output, errors) = Run("ledger", "verify", "--data", copy.Path);
        log.WriteLine(output);
        Assert.Equal((0, ""), (exitCode, errors));
        long entries = EntryCount(copy);
        var latest = directory.Checkpoints[^1].Checkpoint;
        string keyId = directory.Checkpoints[0].Checkpoint.KeyId;
        Assert.Equal(
            "ok: the ledger verifies\n" +
            $"partitions   {LedgerDirectory.Partitions}\n" +
            $"entries      {entries}\n" +
            "checkpoints  3\n" +
            $"latest       checkpoint 3 at {Core.Actions.Rfc3339.Format(latest.TimeTicks)}, {latest.Partitions.Sum(h => h.Size)} entries\n" +
            $"key          {keyId} ({Path.Combine(copy.Path, SqliteActionStore.LedgerKeyFileName)})\n", output);

        var (jsonExit, root, problems) = Json("ledger", "verify", "--data", copy.Path);
        Assert.Equal(0, jsonExit);
        Assert.Empty(problems);
        Assert.True(root.GetProperty("ok").GetBoolean());
        Assert.Equal(("data", keyId, entries, 3L), (root.GetProperty("source").GetString(), root.GetProperty("key_id").GetString(),
            root.GetProperty("entries").GetInt64(), root.GetProperty("latest_checkpoint").GetProperty("sequence").GetInt64()));

        // The public key given explicitly gives the same answer.
        string pem = Path.Combine(copy.Path, "ledger.pub");
        File.WriteAllText(pem, directory.PublicKeyPem);
        Assert.Equal(0, Run("ledger", "verify", "--data", copy.Path, "--key", pem).ExitCode);
    }

    [Fact]
    public void It_verifies_while_another_store_has_the_directory_open_and_is_committing()
    {
        var copy = directory.Copy();
        using var store = new SqliteActionStore(new SqliteStoreOptions { DataDirectory = copy.Path, ReadConnections = 1 }, TimeProvider.System);
        store.Open(LedgerDirectory.Partitions);
        Assert.True(File.Exists(Path.Combine(copy.Path, SqliteActionStore.LockFileName)));
        Assert.Equal(0, Run("ledger", "verify", "--data", copy.Path).ExitCode);
        store.Append([new ActionRecord(0, store.LoadPartitionHeads()[0] + 1, "while-verifying", "p", "combat.kill", 1, 2, "{}"u8.ToArray())]);
        var (exitCode, _, errors) = Run("ledger", "verify", "--data", copy.Path);
        Assert.Equal((0, ""), (exitCode, errors));
        // The store still owns the directory and keeps committing.
        store.Append([new ActionRecord(0, store.LoadPartitionHeads()[0] + 1, "after-verifying", "p", "combat.kill", 1, 2, "{}"u8.ToArray())]);
    }

    // Flipping any single byte of a stored entry (each byte of one entry's canonical bytes) makes
    // verify fail at exactly that partition and index, and nowhere else.
    [Fact]
    public void Flipping_any_byte_of_one_entry_fails_at_exactly_that_entry()
    {
        var copy = directory.Copy();
        copy.Unprotect();
        int partition = Enumerable.Range(0, LedgerDirectory.Partitions).MaxBy(p => copy.Rows(p).Count);
        var rows = copy.Rows(partition);
        var row = rows[1];
        byte[] original = row.Entry;
        for (int at = 0; at < original.Length; at++)
        {
            byte[] flipped = (byte[])original.Clone();
            flipped[at] ^= 0x01;
            copy.SetEntry(partition, row.Index, flipped);
            var (exitCode, _, problems) = Json("ledger", "verify", "--data", copy.Path);
            Assert.True(exitCode == 1, $"byte {at}");
            var (code, p, index, _) = Assert.Single(problems);
            Assert.True((partition, row.Index) == (p, index), $"byte {at}: {code} at partition {p}, index {index}");
        }
        copy.SetEntry(partition, row.Index, original);
        Assert.Equal(0, Run("ledger", "verify", "--data", copy.Path).ExitCode);
    }

    [Fact]
    [Trait("Category", "Fuzz")]
    public void A_flipped_byte_in_random_entries_and_in_stored_hashes_fails_at_exactly_that_entry()
    {
        int seed = Environment.GetEnvironmentVariable("SHOWRUNNER_FUZZ_SEED") is { } text ? int.Parse(text, System.Globalization.CultureInfo.InvariantCulture) : 20261122;
        log.WriteLine($"seed {seed} (replay with SHOWRUNNER_FUZZ_SEED={seed})");
        var random = new Random(seed);
        var copy = directory.Copy();
        copy.Unprotect();
        var all = Enumerable.Range(0, LedgerDirectory.Partitions).SelectMany(copy.Rows).ToList();
        for (int round = 0; round < 24; round++)
        {
            var row = all[random.Next(all.Count)];
            string column = (round % 3) switch { 0 => "entry", 1 => "prev_hash", _ => "hash" };
            byte[] original = column switch { "entry" => row.Entry, "prev_hash" => row.PrevHash, _ => row.Hash };
            byte[] flipped = (byte[])original.Clone();
            int at = random.Next(flipped.Length);
            flipped[at] ^= (byte)random.Next(1, 256);
            copy.Execute($"UPDATE ledger_entries SET {column} = $v WHERE partition = $p AND idx = $i", ("$v", flipped), ("$p", row.Partition), ("$i", row.Index));
            var (exitCode, _, problems) = Json("ledger", "verify", "--data", copy.Path);
            string what = $"seed {seed} round {round}: {column} byte {at} of partition {row.Partition} entry {row.Index}";
            Assert.True(exitCode == 1, what);
            var (code, p, index, _) = Assert.Single(problems);
            Assert.True((row.Partition, row.Index) == (p, index), $"{what}: reported {code} at {p}/{index}");
            copy.Execute($"UPDATE ledger_entries SET {column} = $v WHERE partition = $p AND idx = $i", ("$v", original), ("$p", row.Partition), ("$i", row.Index));
        }
        Assert.Equal(0, Run("ledger", "verify", "--data", copy.Path).ExitCode);
    }

    [Fact]
    public void Deleting_reordering_or_truncating_rows_is_reported_at_the_first_entry_it_breaks()
    {
        var copy = directory.Copy();
        copy.Unprotect();
        var checkpointed = directory.Checkpoints[^1].Checkpoint.Partitions;
        int partition = Enumerable.Range(0, LedgerDirectory.Partitions).First(p => checkpointed[p].Size >= 3);

        copy.Execute("DELETE FROM ledger_entries WHERE partition = $p AND idx = 1", ("$p", partition));
        Assert.Equal([Problem(ChainVerification.IndexGap, partition, 1)], Json("ledger", "verify", "--data", copy.Path).Problems);

        // Two rows swapped: each keeps its key, the contents trade places.
        copy = directory.Copy();
        copy.Unprotect();
        var rows = copy.Rows(partition);
        foreach (var (index, source) in new[] { (1, rows[2]), (2, rows[1]) })
        {
            copy.Execute("UPDATE ledger_entries SET entry = $e, prev_hash = $ph, hash = $h WHERE partition = $p AND idx = $i",
                ("$e", source.Entry), ("$ph", source.PrevHash), ("$h", source.Hash), ("$p", partition), ("$i", index));
        }
        Assert.Equal([Problem(ChainVerification.PrevHashMismatch, partition, 1)], Json("ledger", "verify", "--data", copy.Path).Problems);

        // The tail a checkpoint covers cut off: the first checkpoint that commits to more names it.
        copy = directory.Copy();
        copy.Unprotect();
        long keep = checkpointed[partition].Size - 1;
        copy.Execute("DELETE FROM ledger_entries WHERE partition = $p AND idx >= $k", ("$p", partition), ("$k", keep));
        long firstCommitting = directory.Checkpoints.First(c => c.Checkpoint.Partitions[partition].Size > keep).Checkpoint.Sequence;
        var (exitCode, output, errors) = Run("ledger", "verify", "--data", copy.Path);
        Assert.Equal(1, exitCode);
        Assert.StartsWith($"error: chain.truncated: partition {partition}, entry {keep}: a checkpoint commits to ", errors, StringComparison.Ordinal);
        Assert.Contains($"(checkpoint {firstCommitting})", errors, StringComparison.Ordinal);
        Assert.StartsWith("failed: 1 problem(s), listed on standard error\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_forged_signature_a_foreign_key_or_a_root_that_does_not_match_names_the_checkpoint()
    {
        var copy = directory.Copy();
        copy.Unprotect();
        var second = directory.Checkpoints[1];
        byte[] forged = (byte[])second.Signature.Clone();
        forged[^3] ^= 0x40;
        copy.Execute("UPDATE checkpoints SET signature = $s WHERE sequence = 2", ("$s", forged));
        Assert.Equal([Problem(LedgerVerifier.CheckpointSignatureInvalid, null, null, 2)], Json("ledger", "verify", "--data", copy.Path).Problems);

        // Another key signs a later checkpoint of the same heads: not the ledger's key.
        copy = directory.Copy();
        using var other = LedgerSigningKey.Create();
        var heads = directory.Checkpoints[^1].Checkpoint.Partitions;
        Append(copy, other.Sign(4, directory.Checkpoints[^1].Checkpoint.TimeTicks + 1, heads));
        Assert.Equal([Problem(LedgerVerifier.CheckpointKeyMismatch, null, null, 4)], Json("ledger", "verify", "--data", copy.Path).Problems);

        // Signed with the ledger's own key, but partition 2's root is not that of its entries.
        copy = directory.Copy();
        using var key = LedgerSigningKey.FromPkcs8Pem(File.ReadAllText(Path.Combine(copy.Path, SqliteActionStore.LedgerKeyFileName)));
        var wrong = heads.ToList();
        long size = copy.Rows(2).Count;
        wrong[2] = new PartitionHead(size, Enumerable.Repeat((byte)7, 32).ToArray());
        Append(copy, key.Sign(4, directory.Checkpoints[^1].Checkpoint.TimeTicks + 1, wrong));
        var (_, _, problems) = Json("ledger", "verify", "--data", copy.Path);
        Assert.Equal([Problem(ChainVerification.RootMismatch, 2, null, 4)], problems);

        // A public key that did not sign these checkpoints.
        copy = directory.Copy();
        string pem = Path.Combine(copy.Path, "other.pub");
        File.WriteAllText(pem, other.ExportPublicKeyPem());
        Assert.Equal([Problem(LedgerVerifier.CheckpointKeyMismatch, null, null, 1)], Json("ledger", "verify", "--data", copy.Path, "--key", pem).Problems);
    }

    private static void Append(LedgerCopy copy, SignedCheckpoint signed) =>
        copy.Execute("INSERT INTO checkpoints (sequence, time, key_id, body, signature) VALUES ($s, $t, $k, $b, $g)",
            ("$s", signed.Checkpoint.Sequence), ("$t", signed.Checkpoint.TimeTicks), ("$k", signed.Checkpoint.KeyId),
            ("$b", signed.Checkpoint.CanonicalBytes), ("$g", signed.Signature));

    [Fact]
    public void A_grant_id_stored_twice_or_a_lookup_column_changed_behind_the_entry_is_reported()
    {
        // A properly chained copy of another partition's grant appended after every checkpoint:
        // only the grant-id check can see it.
        var copy = directory.Copy();
        copy.Unprotect(uniqueIndexToo: true);
        var victim = copy.Rows(0)[0];
        var (original, _) = GrantEntry.Decode(victim.Entry, victim.PrevHash);
        int target = 1;
        var tail = copy.Rows(target)[^1];
        var duplicate = GrantEntry.Create(original!.Cause, original.Rewards, original.ReleaseId, original.TimeTicks, null, null, target, tail.Index + 1, tail.Hash, original.ActionId);
        copy.Insert(duplicate);
        var (exitCode, _, problems) = Json("ledger", "verify", "--data", copy.Path);
        Assert.Equal(1, exitCode);
        Assert.Equal([Problem(LedgerVerifier.DuplicateGrantId, target, duplicate.Index)], problems);

        copy = directory.Copy();
        copy.Unprotect();
        var row = copy.Rows(3)[0];
        copy.Execute("UPDATE ledger_entries SET grant_id = $g WHERE partition = 3 AND idx = 0", ("$g", new byte[32]));
        Assert.Equal([Problem(DataDirectoryLedgerSource.ColumnsMismatch, 3, row.Index)], Json("ledger", "verify", "--data", copy.Path).Problems);
    }

    [Fact]
    public void Usage_errors_and_directories_it_cannot_read_have_their_exit_codes()
    {
        Assert.Equal(2, Run("ledger", "verify").ExitCode);
        Assert.Equal(2, Run("ledger", "verify", "--data", "x", "--server", "http://127.0.0.1:1").ExitCode);
        using var empty = new TempDirectory("showrunner-empty");
        Assert.Equal(2, Run("ledger", "verify", "--data", Path.Combine(empty.Path, "nope")).ExitCode);
        var (exitCode, _, errors) = Run("ledger", "verify", "--data", empty.Path);
        Assert.Equal(2, exitCode);
        Assert.StartsWith("error: key_missing:", errors, StringComparison.Ordinal);
        Assert.Equal(2, Run("ledger", "verify", "--data", empty.Path, "--key", Path.Combine(empty.Path, "nope.pub")).ExitCode);

        var copy = directory.Copy();
        copy.Execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'now')");
        (exitCode, _, errors) = Run("ledger", "verify", "--data", copy.Path);
        Assert.Equal(1, exitCode);
        Assert.StartsWith("error: schema_too_new:", errors, StringComparison.Ordinal);
    }
}
