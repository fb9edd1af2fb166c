using System.Text.Json;
using Showrunner.Core.Ledger;
using Showrunner.Storage;
using Showrunner.Storage.Sqlite;
using Xunit.Abstractions;

namespace Showrunner.Cli.Tests.Ledger;

/// <summary>
/// <c>showrunner reconcile</c> on a data directory the real pipeline wrote: the replay from scratch
/// gives exactly the recorded grants; a forged, a deleted and a changed grant — each made so that
/// <c>ledger verify</c> still passes — are each reported as what they are.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ReconcileCommandTests(LedgerDirectory directory, ITestOutputHelper log) : IClassFixture<LedgerDirectory>
{
    private static (int ExitCode, JsonElement Root) Json(params string[] args)
    {
        var (exitCode, output, errors) = LedgerVerifyCommandTests.Run([.. args, "--json"]);
        Assert.True(output.Length > 0, errors);
        return (exitCode, JsonDocument.Parse(output).RootElement.Clone());
    }

    /// <summary>The listed differences as (kind, grant id, rule, differing fields joined by commas).</summary>
    private static List<(string Kind, string GrantId, string Rule, string Fields)> Listed(JsonElement root) =>
        [.. root.GetProperty("listed").EnumerateArray().Select(d => (d.GetProperty("kind").GetString()!, d.GetProperty("grant_id").GetString()!,
            d.GetProperty("rule").GetString()!, string.Join(",", d.GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("field").GetString()))))];

    /// <summary>The last entry of the partition with the most entries beyond the last checkpoint (a prize): changing it escapes every checkpoint.</summary>
    private (int Partition, LedgerRow Row, GrantEntry Entry) Unsigned(LedgerCopy copy)
    {
        var heads = directory.Checkpoints[^1].Checkpoint.Partitions;
        int partition = Enumerable.Range(0, LedgerDirectory.Partitions).First(p => copy.Rows(p).Count > heads[p].Size);
        var row = copy.Rows(partition)[^1];
        var (entry, error) = GrantEntry.Decode(row.Entry, row.PrevHash);
        Assert.True(entry is not null, error);
        return (partition, row, entry);
    }

    [Fact]
    public void The_replay_of_an_untampered_directory_gives_exactly_the_recorded_grants()
    {
        var copy = directory.Copy();
        var (exitCode, output, errors) = LedgerVerifyCommandTests.Run("reconcile", "--data", copy.Path);
        log.WriteLine(output + errors);
        Assert.Equal((0, ""), (exitCode, errors));
        Assert.EndsWith("\n0 differences\n", output, StringComparison.Ordinal);

        var (jsonExit, root) = Json("reconcile", "--data", copy.Path);
        Assert.Equal(0, jsonExit);
        long entries = Enumerable.Range(0, LedgerDirectory.Partitions).Sum(p => (long)copy.Rows(p).Count);
        Assert.Equal((entries, entries, entries, 0L), (root.GetProperty("expected").GetInt64(), root.GetProperty("recorded").GetInt64(),
            root.GetProperty("matched").GetInt64(), root.GetProperty("differences").GetProperty("total").GetInt64()));
        // Tiers, the community goal (bulk and late) and prizes are all among them.
        var kinds = new HashSet<string>();
        for (int p = 0; p < LedgerDirectory.Partitions; p++)
        {
            foreach (var row in copy.Rows(p))
            {
                kinds.Add(GrantEntry.Decode(row.Entry, row.PrevHash).Entry!.Rule.Split(':')[0]);
            }
        }
        Assert.Equal(["community_goal", "prize", "tier"], kinds.Order());
        Assert.True(root.GetProperty("actions").GetInt64() > 30);
    }

    [Fact]
    public void It_reconciles_while_another_store_has_the_directory_open()
    {
        var copy = directory.Copy();
        using var store = new SqliteActionStore(new SqliteStoreOptions { DataDirectory = copy.Path, ReadConnections = 1 }, TimeProvider.System);
        store.Open(LedgerDirectory.Partitions);
        var (exitCode, output, errors) = LedgerVerifyCommandTests.Run("reconcile", "--data", copy.Path);
        Assert.Equal((0, ""), (exitCode, errors));
        Assert.EndsWith("0 differences\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_forged_grant_properly_chained_passes_verify_and_reconcile_reports_it_extra()
    {
        var copy = directory.Copy();
        var (partition, row, last) = Unsigned(copy);
        // A tier the release does not have, written like the server writes an entry.
        var forged = GrantEntry.Create(new GrantCause("hunt", 0, last.Player, "tier:gold", CauseKind.Action, "tier"),
            [new RewardLine("gems", 5000), new RewardLine("blade", 3)], directory.ReleaseId, last.TimeTicks, null, null, partition, row.Index + 1, row.Hash, "k-forged");
        copy.Insert(forged);
        Assert.Equal(0, LedgerVerifyCommandTests.Run("ledger", "verify", "--data", copy.Path).ExitCode);

        var (exitCode, root) = Json("reconcile", "--data", copy.Path);
        Assert.Equal(1, exitCode);
        Assert.Equal([("extra", forged.GrantId, "tier:gold", "")], Listed(root));
        var (_, output, _) = LedgerVerifyCommandTests.Run("reconcile", "--data", copy.Path);
        Assert.Contains($"extra     {forged.GrantId} partition {partition} entry {forged.Index}: {last.Player}, hunt run 0, tier:gold (gems 5000, blade 3)\n", output, StringComparison.Ordinal);
        Assert.EndsWith("1 differences: 0 missing, 1 extra, 0 different\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_deleted_grant_beyond_every_checkpoint_passes_verify_and_reconcile_reports_it_missing()
    {
        var copy = directory.Copy();
        copy.Unprotect();
        var (partition, row, last) = Unsigned(copy);
        copy.Execute("DELETE FROM ledger_entries WHERE partition = $p AND idx = $i", ("$p", partition), ("$i", row.Index));
        Assert.Equal(0, LedgerVerifyCommandTests.Run("ledger", "verify", "--data", copy.Path).ExitCode);

        var (exitCode, root) = Json("reconcile", "--data", copy.Path);
        Assert.Equal(1, exitCode);
        Assert.Equal([("missing", last.GrantId, last.Rule, "")], Listed(root));
        var missing = root.GetProperty("listed")[0];
        Assert.Equal((partition, JsonValueKind.Null, last.Player), (missing.GetProperty("partition").GetInt32(), missing.GetProperty("index").ValueKind, missing.GetProperty("player").GetString()));
    }

    [Fact]
    public void A_changed_reward_rehashed_so_verify_passes_is_reported_different_by_reconcile()
    {
        var copy = directory.Copy();
        copy.Unprotect();
        var (partition, row, last) = Unsigned(copy);
        var richer = GrantEntry.Create(last.Cause, [.. last.Rewards.Select(r => r with { Amount = r.Amount * 100 })], last.ReleaseId, last.TimeTicks,
            null, null, partition, last.Index, last.PrevHash, last.ActionId);
        copy.Execute("UPDATE ledger_entries SET entry = $e, hash = $h WHERE partition = $p AND idx = $i",
            ("$e", richer.CanonicalBytes), ("$h", richer.Hash), ("$p", partition), ("$i", row.Index));
        Assert.Equal(0, LedgerVerifyCommandTests.Run("ledger", "verify", "--data", copy.Path).ExitCode);

        var (exitCode, root) = Json("reconcile", "--data", copy.Path);
        Assert.Equal(1, exitCode);
        Assert.Equal([("different", last.GrantId, last.Rule, "rewards")], Listed(root));
        var field = root.GetProperty("listed")[0].GetProperty("fields")[0];
        Assert.Equal((string.Join(", ", last.Rewards.Select(r => $"{r.Name} {r.Amount}")), string.Join(", ", richer.Rewards.Select(r => $"{r.Name} {r.Amount}"))),
            (field.GetProperty("expected").GetString(), field.GetProperty("recorded").GetString()));
    }

    [Fact]
    public void Every_difference_is_counted_and_at_most_the_limit_listed()
    {
        var copy = directory.Copy();
        copy.Unprotect();
        // Every community-goal grant deleted from the ledger.
        int deleted = copy.Execute("DELETE FROM ledger_entries WHERE cause_kind = 'community_goal'");
        Assert.True(deleted > 3);
        var (exitCode, root) = Json("reconcile", "--data", copy.Path, "--limit", "2");
        Assert.Equal(1, exitCode);
        Assert.Equal((deleted, 2), (root.GetProperty("differences").GetProperty("missing").GetInt32(), root.GetProperty("listed").GetArrayLength()));
        var (_, output, _) = LedgerVerifyCommandTests.Run("reconcile", "--data", copy.Path, "--limit", "0");
        Assert.EndsWith($"{deleted} differences: {deleted} missing, 0 extra, 0 different (0 listed; --limit 0)\n", output, StringComparison.Ordinal);
        Assert.Equal(2, LedgerVerifyCommandTests.Run("reconcile", "--data", copy.Path, "--limit", "-1").ExitCode);
        Assert.Equal(2, LedgerVerifyCommandTests.Run("reconcile").ExitCode);
    }

    [Fact]
    public void An_action_log_with_a_gap_stops_the_replay_with_a_code()
    {
        var copy = directory.Copy();
        copy.Execute("DROP TRIGGER actions_append_only_delete");
        copy.Execute("DELETE FROM actions WHERE id = 'k-3'");
        var (exitCode, _, errors) = LedgerVerifyCommandTests.Run("reconcile", "--data", copy.Path);
        Assert.Equal(1, exitCode);
        Assert.StartsWith("error: reconcile.action_out_of_order: action '", errors, StringComparison.Ordinal);
        Assert.Contains("the previous action there has seq", errors, StringComparison.Ordinal);
    }
}
