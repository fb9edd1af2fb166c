using System.Security.Cryptography;
using System.Text;
using Showrunner.Storage.Audit;
using Showrunner.Storage.Outbox;
using Showrunner.Testing;

namespace Showrunner.Storage.Tests;

/// <summary>
/// The storage contract, run against every store: one thin subclass per implementation supplies a
/// new, empty store (SqliteStoreConformanceTests, InMemoryStoreConformanceTests). A new store (a
/// PostgreSQL one) passes this suite before anything else uses it (docs/internals/storage.md,
/// "Adding a store"). Each test pins one promise of the contract; nothing here knows which
/// database is underneath.
/// </summary>
[Trait("Category", "Conformance")]
public abstract class StoreConformanceTests : IDisposable
{
    protected const int Partitions = 4;
    protected static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly long Ticks0 = T0.UtcTicks;
    private IActionStore? _store;

    private protected ManualClock Clock { get; } = new(T0);

    /// <summary>A new, empty store, not yet open; called once per test.</summary>
    protected abstract IActionStore CreateStore(TimeProvider time);

    /// <summary>Releases what <see cref="CreateStore"/> made beyond the store (files).</summary>
    protected virtual void DisposeStore()
    {
    }

    protected IActionStore Store
    {
        get
        {
            if (_store is null)
            {
                _store = CreateStore(Clock);
                _store.Open(Partitions);
            }
            return _store;
        }
    }

    public void Dispose()
    {
        _store?.Dispose();
        DisposeStore();
        GC.SuppressFinalize(this);
    }

    private static ActionRecord Action(int partition, long seq, string id, string type = "combat.kill", string data = "{\"x\":1}") =>
        new(partition, seq, id, "player-" + partition, type, Ticks0 + seq, Ticks0 + seq + 100, Encoding.UTF8.GetBytes(data), 0);

    private static byte[] Bytes(byte fill) => Enumerable.Repeat(fill, 32).ToArray();

    private static LedgerRow Entry(int partition, long index, byte grant, string player = "player-0") =>
        new(partition, index, Bytes(grant), player, "summer", 1, "tier", Ticks0, Encoding.UTF8.GetBytes("entry-" + grant), Bytes((byte)(grant + 100)), Bytes((byte)(grant + 200)));

    private static CommitBatch Batch(params ActionRecord[] actions)
    {
        var batch = new CommitBatch();
        batch.Actions.AddRange(actions);
        return batch;
    }

    // ---- Action log: append, dedup, heads ----

    [Fact]
    public void A_new_store_has_the_partition_count_asked_for_and_empty_heads()
    {
        var store = CreateStore(Clock);
        _store = store;
        var info = store.Open(Partitions);
        Assert.True(info.Created);
        Assert.Equal(Partitions, info.PartitionCount);
        Assert.Equal(new long[Partitions], store.LoadPartitionHeads());
        Assert.All(store.Ledger.LoadHeads(), head =>
        {
            Assert.Equal(0, head.Size);
            Assert.Equal(new byte[32], head.LastHash);
        });
    }

    [Fact]
    public void Committed_actions_are_found_by_id_and_advance_their_partitions_heads()
    {
        Store.Commit(Batch(Action(1, 1, "a"), Action(1, 2, "b"), Action(3, 1, "c")));
        Store.Append([Action(1, 3, "d")]);
        Assert.Equal(new long[] { 0, 3, 0, 1 }, Store.LoadPartitionHeads());
        var found = new Dictionary<string, ActionRecord>();
        Store.FindMany(["a", "c", "missing", "d"], found);
        Assert.Equal(["a", "c", "d"], found.Keys.Order(StringComparer.Ordinal));
        var b = Store.Find("b")!;
        Assert.Equal(Action(1, 2, "b") with { Data = b.Data }, b);
        Assert.Equal("{\"x\":1}", Encoding.UTF8.GetString(b.Data));
        Assert.Null(Store.Find("nope"));
    }

    [Fact]
    public void A_batch_that_repeats_a_stored_action_id_writes_nothing_of_the_batch()
    {
        Store.Commit(Batch(Action(0, 1, "a")));
        var batch = Batch(Action(0, 2, "b"), Action(1, 1, "a"));
        batch.Ledger.Add(Entry(0, 0, 1));
        batch.Outbox.Add(new OutboxRow("g-b", [1], Ticks0));
        Assert.ThrowsAny<Exception>(() => Store.Commit(batch));
        Store.ResetWriter();
        Assert.Null(Store.Find("b"));
        Assert.Equal(new long[] { 1, 0, 0, 0 }, Store.LoadPartitionHeads());
        Assert.Null(Store.Ledger.FindGrant(Bytes(1)));
        Assert.Equal(0, Store.Ledger.CountEntries());
        // The store takes the next batch as if the refused one had never come.
        Store.Commit(Batch(Action(0, 2, "b")));
        Assert.Equal(new long[] { 2, 0, 0, 0 }, Store.LoadPartitionHeads());
    }

    [Fact]
    public void A_batch_with_an_action_id_twice_writes_nothing()
    {
        Assert.ThrowsAny<Exception>(() => Store.Commit(Batch(Action(0, 1, "same"), Action(1, 1, "same"))));
        Store.ResetWriter();
        Assert.Null(Store.Find("same"));
        Assert.Equal(new long[Partitions], Store.LoadPartitionHeads());
    }

    [Fact]
    public void A_seq_that_does_not_advance_its_partition_head_fails_the_whole_batch()
    {
        Store.Commit(Batch(Action(0, 1, "a"), Action(0, 2, "b")));
        Assert.Throws<InvalidDataException>(() => Store.Commit(Batch(Action(1, 1, "x"), Action(0, 2, "c"))));
        Store.ResetWriter();
        Assert.Null(Store.Find("c"));
        Assert.Null(Store.Find("x"));
        Assert.Equal(new long[] { 2, 0, 0, 0 }, Store.LoadPartitionHeads());
    }

    [Fact]
    public void A_players_profile_actions_merge_as_a_json_merge_patch()
    {
        Store.Commit(Batch(
            Action(0, 1, "p1", "player.profile", "{\"name\":\"Ann\",\"level\":3}"),
            Action(0, 2, "k1", "combat.kill", "{\"level\":99}")));
        Store.Commit(Batch(Action(0, 3, "p2", "player.profile", "{\"level\":4,\"name\":null,\"guild\":{\"id\":7}}")));
        Assert.Equal("{\"level\":4,\"guild\":{\"id\":7}}", Encoding.UTF8.GetString(Store.FindPlayerProfile("player-0")!));
        Assert.Null(Store.FindPlayerProfile("player-1"));
    }

    // ---- The partition log: reads by (partition, seq), owner epochs ----

    [Fact]
    public async Task The_partition_log_is_read_by_partition_from_a_seq_in_seq_order_and_bounded()
    {
        for (int seq = 1; seq <= 5; seq++)
        {
            Store.Commit(Batch(Action(1, seq, "p1-" + seq), Action(2, seq, "p2-" + seq)));
        }
        Assert.Equal([3L, 4, 5], (await Store.PartitionLog.ReadAsync(1, 3, 10)).Select(a => a.Seq));
        Assert.Equal(["p1-1", "p1-2"], (await Store.PartitionLog.ReadAsync(1, 1, 2)).Select(a => a.Id));
        Assert.Empty(await Store.PartitionLog.ReadAsync(1, 6, 10));
        Assert.Empty(await Store.PartitionLog.ReadAsync(0, 1, 10));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.PartitionLog.ReadAsync(1, 1, 0));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.PartitionLog.ReadAsync(1, 1, IPartitionLog.ReadMax + 1));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.PartitionLog.ReadAsync(Partitions, 1, 10));
    }

    [Fact]
    public async Task A_read_from_beyond_a_snapshot_finds_the_same_actions_as_one_from_before_it()
    {
        var first = Batch(Action(1, 1, "a"), Action(2, 1, "x"), Action(1, 2, "b"));
        first.Snapshots.Add(new PartitionSnapshotRow(1, 2, Ticks0, [1], []) { ActionsBefore = 3 });
        Store.Commit(first);
        Store.Commit(Batch(Action(1, 3, "c"), Action(2, 2, "y"), Action(1, 4, "d")));
        Assert.Equal(["c", "d"], (await Store.PartitionLog.ReadAsync(1, 3, 10)).Select(a => a.Id));
        Assert.Equal(["a", "b", "c", "d"], (await Store.PartitionLog.ReadAsync(1, 1, 10)).Select(a => a.Id));
        Assert.Equal(["y"], (await Store.PartitionLog.ReadAsync(2, 2, 10)).Select(a => a.Id));
    }

    [Fact]
    public async Task Each_claim_increments_the_partitions_epoch_and_records_its_owner()
    {
        Assert.Null(await Store.PartitionLog.ReadOwnerAsync(2));
        Assert.Equal(1, (await Store.PartitionLog.ClaimAsync(2, "node-a")).Epoch);
        Clock.Advance(TimeSpan.FromSeconds(5));
        var second = await Store.PartitionLog.ClaimAsync(2, "node-b");
        Assert.Equal(new PartitionOwner(2, 2, "node-b", (T0 + TimeSpan.FromSeconds(5)).UtcTicks), second);
        Assert.Equal(second, await Store.PartitionLog.ReadOwnerAsync(2));
        // Epochs are per partition.
        Assert.Equal(1, (await Store.PartitionLog.ClaimAsync(3, "node-a")).Epoch);
        Assert.Null(await Store.PartitionLog.ReadOwnerAsync(0));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.PartitionLog.ClaimAsync(Partitions, "node-a"));
    }

    [Fact]
    public async Task Concurrent_claims_of_one_partition_each_get_their_own_epoch()
    {
        var log = Store.PartitionLog;
        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(async () => await log.ClaimAsync(1, "node-" + i))));
        Assert.Equal(Enumerable.Range(1, 8).Select(e => (long)e), claims.Select(c => c.Epoch).Order());
        Assert.Equal(8, (await Store.PartitionLog.ReadOwnerAsync(1))!.Epoch);
    }

    [Fact]
    public async Task A_commit_fenced_with_the_current_epochs_is_written()
    {
        var owner = await Store.PartitionLog.ClaimAsync(0, "node-a");
        var batch = Batch(Action(0, 1, "a"), Action(1, 1, "b"));
        // Partition 1 was never claimed: its epoch is 0.
        batch.Fences.Add(new PartitionFence(0, owner.Epoch));
        batch.Fences.Add(new PartitionFence(1, 0));
        Store.Commit(batch);
        Assert.Equal(new long[] { 1, 1, 0, 0 }, Store.LoadPartitionHeads());
    }

    [Fact]
    public async Task A_commit_with_a_stale_epoch_writes_nothing_and_is_refused_with_stale_epoch()
    {
        var deposed = await Store.PartitionLog.ClaimAsync(0, "node-a");
        var current = await Store.PartitionLog.ClaimAsync(0, "node-b");
        CommitBatch Writes(long epochOf0)
        {
            var batch = Batch(Action(0, 1, "a"), Action(1, 1, "b"));
            batch.Ledger.Add(Entry(0, 0, 7));
            batch.Nodes.Add(new MerkleNodeRow(0, 4, 0, Bytes(9)));
            batch.Outbox.Add(new OutboxRow("grant-7", [7], Ticks0));
            batch.Snapshots.Add(new PartitionSnapshotRow(0, 1, Ticks0, [1], [new PlayerStateRow("player-0", 0, [2])]) { ActionsBefore = 1 });
            batch.Fences.Add(new PartitionFence(0, epochOf0));
            batch.Fences.Add(new PartitionFence(1, 0));
            return batch;
        }

        var refused = Assert.Throws<StaleEpochException>(() => Store.Commit(Writes(deposed.Epoch)));
        Assert.Equal(("stale_epoch", 0, deposed.Epoch, current.Epoch), (refused.Code, refused.Partition, refused.PresentedEpoch, refused.CurrentEpoch));
        // Nothing of the batch, in any partition or table.
        Assert.Null(Store.Find("a"));
        Assert.Null(Store.Find("b"));
        Assert.Equal(new long[Partitions], Store.LoadPartitionHeads());
        Assert.Null(Store.Ledger.FindGrant(Bytes(7)));
        Assert.Null(await Store.Outbox.GetAsync("grant-7"));
        Assert.Empty(Store.Ledger.LoadSnapshots());
        Assert.Empty(Store.Ledger.LoadPlayerStates(0));
        // The writer stays usable: the current owner commits the same writes without a reset.
        Store.Commit(Writes(current.Epoch));
        Assert.NotNull(Store.Find("a"));
        Assert.NotNull(Store.Ledger.FindGrant(Bytes(7)));
    }

    [Fact]
    public async Task A_fenced_batch_that_writes_an_unfenced_partition_is_refused_before_anything_is_written()
    {
        var owner = await Store.PartitionLog.ClaimAsync(0, "node-a");
        var batch = Batch(Action(0, 1, "a"), Action(2, 1, "c"));
        batch.Fences.Add(new PartitionFence(0, owner.Epoch));
        Assert.Throws<ArgumentException>(() => Store.Commit(batch));
        var outOfRange = Batch(Action(0, 1, "a"));
        outOfRange.Fences.Add(new PartitionFence(0, owner.Epoch));
        outOfRange.Fences.Add(new PartitionFence(Partitions, 0));
        Assert.Throws<ArgumentException>(() => Store.Commit(outOfRange));
        Assert.Null(Store.Find("a"));
        Assert.Equal(new long[Partitions], Store.LoadPartitionHeads());
    }

    // ---- Ledger rows, Merkle nodes, checkpoints, goals, snapshots ----

    [Fact]
    public void Ledger_rows_are_read_by_grant_player_and_partition_and_set_the_ledger_heads()
    {
        var batch = new CommitBatch();
        batch.Ledger.AddRange([Entry(0, 0, 1), Entry(0, 1, 2), Entry(2, 0, 3, "player-2"), Entry(0, 2, 4)]);
        Store.Commit(batch);
        var heads = Store.Ledger.LoadHeads();
        Assert.Equal([3L, 0, 1, 0], heads.Select(h => h.Size));
        Assert.Equal(Bytes(204), heads[0].LastHash);
        Assert.Equal(Bytes(203), heads[2].LastHash);
        Assert.Equal(0, heads[1].Size);
        var row = Store.Ledger.FindGrant(Bytes(2))!;
        Assert.Equal((0, 1L, "entry-2"), (row.Partition, row.Index, Encoding.UTF8.GetString(row.Entry)));
        var found = new HashSet<string>();
        Store.Ledger.FindGrants([Bytes(1), Bytes(3), Bytes(99)], found);
        Assert.Equal([Convert.ToHexStringLower(Bytes(1)), Convert.ToHexStringLower(Bytes(3))], found.Order(StringComparer.Ordinal));
        Assert.Equal([0L, 1, 2], Store.Ledger.EntriesOfPlayer("player-0", null, 10).Select(e => e.Index));
        Assert.Equal([2L], Store.Ledger.EntriesOfPlayer("player-0", 1, 10).Select(e => e.Index));
        Assert.Equal([1L, 2], Store.Ledger.ReadEntries(0, 1, 10).Select(e => e.Index));
        Assert.Equal([0L], Store.Ledger.ReadEntries(0, 0, 1).Select(e => e.Index));
        Assert.Equal(4, Store.Ledger.CountEntries());
        Assert.Empty(Store.Ledger.DuplicateGrantIds(10));
    }

    [Fact]
    public void A_grant_id_is_stored_once_a_second_row_fails_its_whole_batch()
    {
        var first = new CommitBatch();
        first.Ledger.Add(Entry(0, 0, 1));
        Store.Commit(first);
        var again = Batch(Action(1, 1, "a"));
        again.Ledger.Add(Entry(1, 0, 1));
        Assert.ThrowsAny<Exception>(() => Store.Commit(again));
        Store.ResetWriter();
        Assert.Null(Store.Find("a"));
        Assert.Equal(1, Store.Ledger.CountEntries());
        Assert.Equal(0, Store.Ledger.LoadHeads()[1].Size);
    }

    [Fact]
    public void Merkle_nodes_are_leaves_from_entries_folded_subtrees_and_stored_upper_nodes()
    {
        var batch = new CommitBatch();
        for (int i = 0; i < 16; i++)
        {
            batch.Ledger.Add(Entry(0, i, (byte)(i + 1)));
        }
        batch.Nodes.Add(new MerkleNodeRow(0, 4, 0, Bytes(42)));
        Store.Commit(batch);
        byte[] Leaf(int index) => SHA256.HashData([0, .. Bytes((byte)(index + 1 + 200))]);
        Assert.Equal(Leaf(3), Store.Ledger.ReadNode(0, 0, 3));
        Assert.Equal(SHA256.HashData([1, .. Leaf(0), .. Leaf(1)]), Store.Ledger.ReadNode(0, 1, 0));
        Assert.Equal(Bytes(42), Store.Ledger.ReadNode(0, 4, 0));
        Assert.Throws<KeyNotFoundException>(() => Store.Ledger.ReadNode(0, 2, 4));
        Assert.Throws<KeyNotFoundException>(() => Store.Ledger.ReadNode(0, 4, 1));
        Assert.Throws<KeyNotFoundException>(() => Store.Ledger.ReadNode(1, 0, 0));
    }

    [Fact]
    public void Checkpoints_and_goals_are_written_once()
    {
        Store.Releases.Publish("aa", "one", "root", [1], Ticks0);
        Assert.True(Store.Ledger.AppendCheckpoint(new StoredCheckpoint(1, Ticks0, "k1", [1], [2])));
        Assert.True(Store.Ledger.AppendCheckpoint(new StoredCheckpoint(2, Ticks0 + 1, "k1", [3], [4])));
        Assert.False(Store.Ledger.AppendCheckpoint(new StoredCheckpoint(2, Ticks0 + 2, "k2", [5], [6])));
        Assert.Equal(2, Store.Ledger.LatestCheckpoint()!.Sequence);
        Assert.Equal("k1", Store.Ledger.ReadCheckpoint(2)!.KeyId);
        Assert.Equal([2L, 1], Store.Ledger.ListCheckpoints(null, 10).Select(c => c.Sequence));
        Assert.Equal([1L], Store.Ledger.ListCheckpoints(2, 10).Select(c => c.Sequence));
        Assert.Equal([1L, 2], Store.Ledger.AllCheckpoints().Select(c => c.Sequence));
        Assert.True(Store.Ledger.AppendGoal(new StoredGoal("summer", 2, Ticks0, 100, 1)));
        Assert.True(Store.Ledger.AppendGoal(new StoredGoal("autumn", 1, Ticks0, 50, 1)));
        Assert.False(Store.Ledger.AppendGoal(new StoredGoal("summer", 2, Ticks0 + 5, 999, 1)));
        Assert.Equal([("autumn", 1L, 50L), ("summer", 2L, 100L)], Store.Ledger.LoadGoals().Select(g => (g.EventId, g.Run, g.Sum)));
    }

    [Fact]
    public void A_snapshot_records_a_position_that_the_partitions_later_actions_exceed_and_only_a_newer_one_replaces_it()
    {
        var batch = Batch(Action(0, 1, "a"), Action(0, 2, "b"), Action(1, 1, "x"), Action(0, 3, "c"));
        batch.Snapshots.Add(new PartitionSnapshotRow(0, 2, Ticks0, [9], [new PlayerStateRow("player-0", 0, [1])]) { ActionsBefore = 2 });
        Store.Commit(batch);
        var snapshot = Assert.Single(Store.Ledger.LoadSnapshots());
        Assert.Equal((0, 2L, Ticks0), (snapshot.Partition, snapshot.Seq, snapshot.TakenAtTicks));
        Assert.Equal([9], snapshot.Data);
        Assert.Equal(["x", "c"], Store.Ledger.ReadActionsAfter(snapshot.Position).Select(a => a.Action.Id));
        Assert.Equal(["a", "b", "x", "c"], Store.Ledger.ReadActionsAfter(0).Select(a => a.Action.Id));
        var state = Assert.Single(Store.Ledger.LoadPlayerStates(0));
        Assert.Equal(("player-0", 0), (state.Player, state.Partition));
        Assert.Equal([1], state.Data);

        var older = new CommitBatch();
        older.Snapshots.Add(new PartitionSnapshotRow(0, 1, Ticks0, [8], [new PlayerStateRow("player-0", 0, [2])]));
        Store.Commit(older);
        Assert.Equal(2, Assert.Single(Store.Ledger.LoadSnapshots()).Seq);
        var newer = new CommitBatch();
        newer.Snapshots.Add(new PartitionSnapshotRow(0, 3, Ticks0, [7], []));
        Store.Commit(newer);
        Assert.Equal(3, Store.Ledger.LoadSnapshots()[0].Seq);
        Assert.Equal([7], Store.Ledger.LoadSnapshots()[0].Data);
        Assert.Empty(Store.Ledger.LoadPlayerStates(1));
    }

    // ---- Outbox claims (the full outbox contract: OutboxStoreContract) ----

    [Fact]
    public async Task Deliveries_enqueued_by_a_commit_are_claimed_once_and_a_repeated_enqueue_is_harmless()
    {
        var batch = new CommitBatch();
        batch.Ledger.Add(Entry(0, 0, 1));
        batch.Outbox.Add(new OutboxRow("grant-1", [1, 2], Ticks0));
        Store.Commit(batch);
        var again = new CommitBatch();
        again.Outbox.Add(new OutboxRow("grant-1", [1, 2], Ticks0 + 5));
        Store.Commit(again);
        var state = (await Store.Outbox.GetAsync("grant-1"))!;
        Assert.Equal((DeliveryStatus.Pending, T0), (state.Status, state.EnqueuedAt));
        var taken = Assert.Single(await Store.Outbox.TakeDueAsync(T0, 10, T0.AddMinutes(1)));
        Assert.Equal("grant-1", taken.GrantId);
        Assert.Equal([1, 2], taken.Payload.ToArray());
        Assert.Empty(await Store.Outbox.TakeDueAsync(T0, 10, T0.AddMinutes(1)));
        Assert.Single(await Store.Outbox.TakeDueAsync(T0.AddMinutes(1), 10, T0.AddMinutes(2)));
    }

    // ---- Control store: releases register, runs, rollouts, flags ----

    [Fact]
    public void The_release_register_advances_by_compare_and_set_only()
    {
        var (first, created) = Store.Releases.Publish("aa", "one", "root-1", [1, 2, 3], Ticks0);
        Assert.True(created);
        Assert.Equal((first, false), Store.Releases.Publish("aa", "again", "root-x", [9], Ticks0 + 1));
        var (second, _) = Store.Releases.Publish("bb", "two", "root-2", [4], Ticks0 + 2);
        Assert.Equal(3, first.Size);
        Assert.Equal([1, 2, 3], Store.Releases.ReadBundle(first.Ref));
        Assert.Equal(second, Store.Releases.Find("bb"));
        Assert.Equal(first, Store.Releases.Find(first.Ref));
        Assert.Equal(["bb", "aa"], Store.Releases.List(10, null).Select(r => r.Id));
        Assert.Equal(["aa"], Store.Releases.List(10, second.Ref).Select(r => r.Id));

        Assert.Null(Store.Releases.Current());
        var v1 = Store.Releases.TryAdvance(0, first.Ref, 0, "activate", null, Ticks0)!;
        Assert.Equal((1L, "aa"), (v1.Version, v1.Release.Id));
        // A writer that read version 0 lost: nothing changes.
        Assert.Null(Store.Releases.TryAdvance(0, second.Ref, 0, "activate", null, Ticks0));
        var v2 = Store.Releases.TryAdvance(1, second.Ref, 1, "rollback", "bad", Ticks0 + 1)!;
        Assert.Equal((2L, 1L, "rollback", "bad"), (v2.Version, v2.Restores, v2.Kind, v2.Reason));
        Assert.Equal(v2, Store.Releases.Current());
        Assert.Equal(v1, Store.Releases.ReadVersion(1));
        Assert.Equal([2L, 1], Store.Releases.History(10).Select(e => e.Version));
    }

    [Fact]
    public void Run_transitions_are_written_all_or_nothing()
    {
        Store.Releases.Publish("aa", "one", "root", [1], Ticks0);
        StoredTransition T(string eventId, long run, int sequence, long releaseRef = 1) =>
            new(eventId, run, sequence, "scheduled", "live", Ticks0, "schedule", Ticks0, releaseRef);
        Assert.True(Store.Runs.Append([T("summer", 1, 0), T("autumn", 1, 0)]));
        Assert.False(Store.Runs.Append([T("summer", 1, 1), T("summer", 1, 0)]));
        Assert.Equal([("autumn", 1L, 0), ("summer", 1L, 0)], Store.Runs.Load().Select(t => (t.EventId, t.Run, t.Sequence)));
    }

    [Fact]
    public void Rows_that_name_a_release_or_a_rollout_must_name_a_stored_one()
    {
        Store.Releases.Publish("aa", "one", "root", [1], Ticks0);
        Assert.ThrowsAny<Exception>(() => Store.Runs.Append([new StoredTransition("summer", 1, 0, "scheduled", "live", Ticks0, "schedule", Ticks0, 2)]));
        Assert.Empty(Store.Runs.Load());
        Assert.ThrowsAny<Exception>(() => Store.Ledger.AppendGoal(new StoredGoal("summer", 1, Ticks0, 1, 2)));
        Assert.Empty(Store.Ledger.LoadGoals());
        Assert.ThrowsAny<Exception>(() => Store.Rollouts.Start(1, 2, 1, "{}", "salt", Ticks0, "key:a", [], null));
        Assert.ThrowsAny<Exception>(() => Store.Rollouts.Append(new StoredRolloutChange(9, 1, "step", 1, Ticks0, "key:a", null)));
        Assert.Empty(Store.Rollouts.List(10));
    }

    [Fact]
    public async Task A_rollout_starts_by_compare_and_set_on_the_newest_rollout_and_its_changes_take_each_sequence_once()
    {
        var (candidate, _) = Store.Releases.Publish("cc", "c", "r", [1], Ticks0);
        var (baseline, _) = Store.Releases.Publish("dd", "d", "r", [2], Ticks0);
        var rollout = (await Store.Rollouts.TryStartAsync(0, candidate.Ref, baseline.Ref, 3, "{}", "salt", Ticks0, "key:a", [5, 6], "go"))!;
        Assert.Null(await Store.Rollouts.TryStartAsync(0, candidate.Ref, baseline.Ref, 3, "{}", "salt", Ticks0, "key:b", [5, 6], null));
        Assert.Equal([5L, 6], Store.Rollouts.Find(rollout.Id)!.LedgerFrontier);
        Assert.Equal(("start", "go"), (Store.Rollouts.Changes(rollout.Id).Single().Kind, Store.Rollouts.Changes(rollout.Id).Single().Reason));
        Assert.True(Store.Rollouts.Append(new StoredRolloutChange(rollout.Id, 1, "step", 1, Ticks0, "key:a", null)));
        Assert.False(Store.Rollouts.Append(new StoredRolloutChange(rollout.Id, 1, "hold", 1, Ticks0, "key:b", null)));
        Assert.Equal(["start", "step"], Store.Rollouts.Changes(rollout.Id).Select(c => c.Kind));
        var next = Store.Rollouts.Start(candidate.Ref, baseline.Ref, 4, "{}", "salt2", Ticks0, "key:a", [], null);
        Assert.Equal([next.Id, rollout.Id], Store.Rollouts.List(10).Select(r => r.Id));
        Assert.NotNull(await Store.Rollouts.TryStartAsync(next.Id, candidate.Ref, baseline.Ref, 5, "{}", "salt3", Ticks0, "key:a", [], null));
    }

    [Fact]
    public void A_players_first_rollout_assignment_stays()
    {
        var first = Batch(Action(0, 1, "a"));
        first.Assignments.Add(new RolloutAssignmentRow(1, "player-0", 0, 1));
        first.Assignments.Add(new RolloutAssignmentRow(1, "ann", 2, 9));
        Store.Commit(first);
        var again = Batch(Action(0, 2, "b"));
        again.Assignments.Add(new RolloutAssignmentRow(1, "player-0", 0, 2));
        Store.Commit(again);
        Assert.Equal([("ann", 9L), ("player-0", 1L)], Store.Rollouts.Assignments(1).Select(a => (a.Player, a.Seq)));
        Assert.Equal(2, Store.Rollouts.CountAssignments(1));
        Assert.Equal(0, Store.Rollouts.CountAssignments(2));
    }

    [Fact]
    public async Task A_flag_flips_by_compare_and_set_on_its_own_latest_flip()
    {
        var off = (await Store.Rollouts.TryAppendFlagAsync(0, "event", "summer", false, Ticks0, "key:a", "broken"))!;
        // A second writer that also saw the flag never flipped loses.
        Assert.Null(await Store.Rollouts.TryAppendFlagAsync(0, "event", "summer", true, Ticks0, "key:b", null));
        // Another flag does not conflict.
        var other = (await Store.Rollouts.TryAppendFlagAsync(0, "config", "summer", false, Ticks0, "key:b", null))!;
        var on = (await Store.Rollouts.TryAppendFlagAsync(off.Sequence, "event", "summer", true, Ticks0 + 1, "key:a", null))!;
        var plain = Store.Rollouts.AppendFlag("event", "autumn", false, Ticks0 + 2, "key:c", null);
        Assert.Equal([off, other, on, plain], Store.Rollouts.Flags());
        Assert.True(off.Sequence < other.Sequence && other.Sequence < on.Sequence && on.Sequence < plain.Sequence);
        Assert.Null(await Store.Rollouts.TryAppendFlagAsync(off.Sequence, "event", "summer", false, Ticks0 + 3, "key:a", null));
    }

    // ---- Control store: keys, audit, approvals ----

    private static StoredKey Key(string id, string role) => new(id, StoredKey.OperatorKind, role, null, "n-" + id, Bytes(5), Ticks0, "system:bootstrap");

    [Fact]
    public void Keys_are_inserted_once_and_the_last_admin_key_is_never_revoked()
    {
        Assert.True(Store.Keys.Insert(Key("a00000000001", StoredKey.AdminRole)));
        Assert.False(Store.Keys.Insert(Key("a00000000001", "viewer")));
        Assert.True(Store.Keys.Insert(new StoredKey("b00000000002", StoredKey.GameServerKind, null, "game", "server", Bytes(6), Ticks0, "key:a")));
        Assert.Equal(RevokeOutcome.LastAdmin, Store.Keys.Revoke("a00000000001", Ticks0, "key:x").Outcome);
        Assert.True(Store.Keys.Insert(Key("c00000000003", StoredKey.AdminRole)));
        var (outcome, revoked) = Store.Keys.Revoke("a00000000001", Ticks0 + 1, "key:c");
        Assert.Equal((RevokeOutcome.Revoked, Ticks0 + 1, "key:c"), (outcome, revoked!.RevokedAtTicks, revoked.RevokedBy));
        Assert.Equal(RevokeOutcome.AlreadyRevoked, Store.Keys.Revoke("a00000000001", Ticks0 + 2, "key:c").Outcome);
        Assert.Equal(RevokeOutcome.NotFound, Store.Keys.Revoke("nope", Ticks0, "key:c").Outcome);
        Assert.Equal(RevokeOutcome.LastAdmin, Store.Keys.Revoke("c00000000003", Ticks0, "key:x").Outcome);
        Assert.Equal(["b00000000002", "c00000000003"], Store.Keys.ListActive().Select(k => k.Id));
        Assert.Equal(["a00000000001"], Store.Keys.List(1, null).Select(k => k.Id));
        Assert.Equal(["b00000000002", "c00000000003"], Store.Keys.List(10, "a00000000001").Select(k => k.Id));
        Assert.Equal(3, Store.Keys.Count());
        Assert.Equal(Ticks0 + 1, Store.Keys.Find("a00000000001")!.RevokedAtTicks);
    }

    private static StoredAuditEntry Audit(long seq, byte[] prev, string action = "release.activate") =>
        new(seq, Ticks0 + seq, "key:a", action, "target", null, "{}", null, null, prev, Bytes((byte)seq));

    [Fact]
    public void The_audit_log_grows_only_by_entries_that_extend_its_head()
    {
        Assert.Null(Store.Audit.Head());
        Store.Audit.Append(Audit(1, new byte[32]));
        Assert.Throws<InvalidOperationException>(() => Store.Audit.Append(Audit(3, Bytes(1))));
        Assert.Throws<InvalidOperationException>(() => Store.Audit.Append(Audit(2, Bytes(99))));
        Store.Audit.Append(Audit(2, Bytes(1), "key.create"));
        Assert.Equal(2, Store.Audit.Head()!.Seq);
        Assert.Equal([2L, 1], Store.Audit.Query(new AuditQuery(10)).Select(e => e.Seq));
        Assert.Equal([1L, 2], Store.Audit.Query(new AuditQuery(10, AfterSeq: 0)).Select(e => e.Seq));
        Assert.Equal([1L], Store.Audit.Query(new AuditQuery(10, BeforeSeq: 2)).Select(e => e.Seq));
        Assert.Equal([2L], Store.Audit.Query(new AuditQuery(10, Action: "key.create")).Select(e => e.Seq));
    }

    private static StoredApproval Request(string subject, long expiresAt) =>
        new(0, "grant.create", subject, "/v1/grants", "{}", "key:a", "why", Ticks0, expiresAt, ApprovalStatuses.Pending);

    [Fact]
    public void Approval_requests_move_forward_only_each_move_a_compare_and_set_on_the_status()
    {
        var first = Store.Approvals.Insert(Request("g1", Ticks0 + 1000));
        var second = Store.Approvals.Insert(Request("g2", Ticks0 + 10));
        Assert.True(second.Id > first.Id);
        Assert.Equal(2, Store.Approvals.CountPending());
        Assert.True(Store.Approvals.TryDecide(first.Id, ApprovalStatuses.Pending, ApprovalStatuses.Approved, "key:b", Ticks0 + 1, "ok"));
        // The second approver lost the race: the request is no longer pending.
        Assert.False(Store.Approvals.TryDecide(first.Id, ApprovalStatuses.Pending, ApprovalStatuses.Rejected, "key:c", Ticks0 + 2, null));
        Assert.Throws<ArgumentException>(() => Store.Approvals.TryComplete(first.Id, ApprovalStatuses.Rejected, 200, "{}"));
        Assert.True(Store.Approvals.TryComplete(first.Id, ApprovalStatuses.Executed, 201, "{\"ok\":true}"));
        Assert.False(Store.Approvals.TryComplete(first.Id, ApprovalStatuses.Failed, 500, "{}"));
        var done = Store.Approvals.Find(first.Id)!;
        Assert.Equal((ApprovalStatuses.Executed, "key:b", 201, "{\"ok\":true}"), (done.Status, done.DecidedBy, done.ResultStatus, done.Result));
        Assert.Equal([second.Id], Store.Approvals.FindPending("grant.create", "g2").Select(a => a.Id));
        Assert.Equal(1, Store.Approvals.ExpireDue(Ticks0 + 10));
        Assert.Equal(0, Store.Approvals.ExpireDue(Ticks0 + 10));
        Assert.Equal((ApprovalStatuses.Expired, Ticks0 + 10), (Store.Approvals.Find(second.Id)!.Status, Store.Approvals.Find(second.Id)!.DecidedAtTicks));
        Assert.Equal([second.Id, first.Id], Store.Approvals.List(10, null, null).Select(a => a.Id));
        Assert.Equal([second.Id], Store.Approvals.List(10, null, ApprovalStatuses.Expired).Select(a => a.Id));
        Assert.Equal(0, Store.Approvals.CountPending());
    }
}
