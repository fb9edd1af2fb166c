using System.Buffers.Binary;
using System.Text;
using Showrunner.Runtime.Partitions;
using Showrunner.Storage;

namespace Showrunner.Runtime.Tests.Partitions;

// A toy module that proves the seam: entity-keyed counters ("add 5 to counter k"), built only from
// the host's public types (IPartitionModule, IModulePartition, PartitionWork, CommitGroup,
// ICommitWrite, PartitionHost) and the store's public contract, the way a module in its own
// assembly would be. Everything in this file is public so that nothing here leans on the runtime's
// InternalsVisibleTo (docs/internals/runtime.md, "Adding a module", follows these steps).

/// <summary>The counter module: its state per partition, its load (snapshot + replay of its own log), its snapshots.</summary>
public sealed class CounterModule(IActionStore store, TimeProvider time) : IPartitionModule
{
    public const string ModuleName = "counter";

    /// <summary>Batch size of the replay's reads of the module log.</summary>
    private const int ReplayPage = 256;

    private long _loads;
    private long _restoredPartitions;
    private long _replayedRecords;

    public string Name => ModuleName;

    /// <summary>Load calls so far (at start: one; after a fault: one per executor).</summary>
    public long Loads => Interlocked.Read(ref _loads);

    /// <summary>Partitions restored from a snapshot by the loads so far.</summary>
    public long RestoredPartitions => Interlocked.Read(ref _restoredPartitions);

    /// <summary>Log records replayed after the snapshots by the loads so far.</summary>
    public long ReplayedRecords => Interlocked.Read(ref _replayedRecords);

    /// <summary>When false, the module declines the snapshots the host asks for (a test simulates a crash before the final snapshot).</summary>
    public bool TakeSnapshots { get; set; } = true;

    public IModulePartition CreatePartition(int partition) => new CounterPartition(partition);

    public void BeginLoad()
    {
        // Nothing shared between partitions: each one's log and snapshot are its own.
    }

    public void Load(IReadOnlyList<IModulePartition> partitions)
    {
        Interlocked.Increment(ref _loads);
        foreach (var state in partitions)
        {
            var partition = (CounterPartition)state;
            partition.Clear();
            if (store.Modules.LoadSnapshot(Name, partition.Index) is { } snapshot)
            {
                partition.Restore(snapshot.Seq, snapshot.Data);
                Interlocked.Increment(ref _restoredPartitions);
            }
            while (true)
            {
                var records = store.Modules.ReadLog(Name, partition.Index, partition.Seq, ReplayPage);
                foreach (var record in records)
                {
                    var (key, amount) = Increment.Decode(record.Payload);
                    partition.Apply(record.Seq, key, amount);
                }
                Interlocked.Add(ref _replayedRecords, records.Count);
                if (records.Count < ReplayPage)
                {
                    break;
                }
            }
            // Assert in pairs: the rebuilt state must have seen exactly the partition's durable log.
            long head = store.Modules.Head(Name, partition.Index);
            if (partition.Seq != head)
            {
                throw new InvalidDataException($"Counter partition {partition.Index} rebuilt up to seq {partition.Seq}, but its log's head is {head}.");
            }
        }
    }

    public void CloseGroup(IModulePartition state, CommitGroup group, bool snapshot)
    {
        if (!snapshot || !TakeSnapshots)
        {
            return;
        }
        var partition = (CounterPartition)state;
        group.Writes<CounterWrites>().Snapshots.Add(new ModuleSnapshotRow(Name, partition.Index, partition.Seq, time.GetUtcNow().UtcTicks, partition.Encode()));
        partition.MarkSnapshotTaken();
    }
}

/// <summary>The counters of one partition and the seq of the module's log they include.</summary>
public sealed class CounterPartition(int index) : IModulePartition
{
    // Sorted: the snapshot's bytes must not depend on insertion order (ARCHITECTURE §3).
    private readonly SortedDictionary<string, long> _counts = new(StringComparer.Ordinal);

    public int Index { get; } = index;
    public long Seq { get; private set; }
    public long ChangesSinceSnapshot { get; private set; }
    public bool IsDirty => ChangesSinceSnapshot > 0;

    public long ValueOf(string key) => _counts.GetValueOrDefault(key);

    public long Apply(long seq, string key, long amount)
    {
        if (seq != Seq + 1)
        {
            throw new InvalidDataException($"Counter partition {Index}: record {seq} follows {Seq}.");
        }
        Seq = seq;
        ChangesSinceSnapshot++;
        long total = _counts.GetValueOrDefault(key) + amount;
        _counts[key] = total;
        return total;
    }

    public void Clear()
    {
        _counts.Clear();
        Seq = 0;
        ChangesSinceSnapshot = 0;
    }

    public void MarkSnapshotTaken() => ChangesSinceSnapshot = 0;

    /// <summary>count, then per counter: key length, key (UTF-8), value; all big-endian.</summary>
    public byte[] Encode()
    {
        using var stream = new MemoryStream();
        Span<byte> number = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(number, _counts.Count);
        stream.Write(number[..4]);
        foreach (var (key, value) in _counts)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(key);
            BinaryPrimitives.WriteInt32BigEndian(number, bytes.Length);
            stream.Write(number[..4]);
            stream.Write(bytes);
            BinaryPrimitives.WriteInt64BigEndian(number, value);
            stream.Write(number);
        }
        return stream.ToArray();
    }

    public void Restore(long seq, byte[] data)
    {
        Clear();
        var span = data.AsSpan();
        int count = BinaryPrimitives.ReadInt32BigEndian(span);
        int at = 4;
        for (int i = 0; i < count; i++)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(span[at..]);
            at += 4;
            string key = Encoding.UTF8.GetString(span.Slice(at, length));
            at += length;
            _counts[key] = BinaryPrimitives.ReadInt64BigEndian(span[at..]);
            at += 8;
        }
        Seq = seq;
    }
}

/// <summary>
/// One increment: applied to its key's partition in inbox order, logged as one module record,
/// answered with the counter's new total once that record is durable.
/// </summary>
public sealed class Increment(string key, long amount, int partition) : PartitionWork(CounterModule.ModuleName, partition, 1)
{
    /// <summary>The key whose increment throws inside the executor (a stand-in for a bug).</summary>
    public const string PoisonKey = "poison";

    private readonly TaskCompletionSource<long> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _total;

    public Task<long> Done => _done.Task;

    /// <summary>Runs on the executor before the increment applies (a test holds the executor with it). Null normally.</summary>
    public Action? BeforeApply { get; init; }

    public override string Describe() => key;

    public override void Apply(IModulePartition state, CommitGroup group)
    {
        var counters = (CounterPartition)state;
        BeforeApply?.Invoke();
        if (key == PoisonKey)
        {
            throw new InvalidOperationException("The poison increment (a simulated bug in the module).");
        }
        long seq = counters.Seq + 1;
        _total = counters.Apply(seq, key, amount);
        group.Writes<CounterWrites>().Log.Add(new ModuleLogRow(CounterModule.ModuleName, counters.Index, seq, Encode(key, amount)));
    }

    public override void Committed() => _done.TrySetResult(_total);

    public override void Failed(Exception exception) => _done.TrySetException(exception);

    /// <summary>amount (8 bytes, big-endian), then the key (UTF-8).</summary>
    public static byte[] Encode(string key, long amount)
    {
        var bytes = new byte[8 + Encoding.UTF8.GetByteCount(key)];
        BinaryPrimitives.WriteInt64BigEndian(bytes, amount);
        Encoding.UTF8.GetBytes(key, bytes.AsSpan(8));
        return bytes;
    }

    public static (string Key, long Amount) Decode(byte[] payload) =>
        (Encoding.UTF8.GetString(payload.AsSpan(8)), BinaryPrimitives.ReadInt64BigEndian(payload));
}

/// <summary>The counter module's rows in one commit group.</summary>
public sealed class CounterWrites : ICommitWrite
{
    public List<ModuleLogRow> Log { get; } = [];
    public List<ModuleSnapshotRow> Snapshots { get; } = [];

    public bool IsEmpty => Log.Count == 0 && Snapshots.Count == 0;

    public void AddTo(CommitBatch batch)
    {
        batch.ModuleLog.AddRange(Log);
        batch.ModuleSnapshots.AddRange(Snapshots);
    }

    public void Committed()
    {
        // Nothing to publish: each increment answers its own sender.
    }
}

/// <summary>What a counter endpoint would do: route by key, admit, wait for the durable answer (bounded).</summary>
public static class Counters
{
    public static async Task<long> AddAsync(PartitionHost host, string key, long amount, TimeSpan bound)
    {
        var work = new Increment(key, amount, host.PartitionOf(CounterModule.ModuleName, key));
        return host.TrySubmit(work) switch
        {
            Admission.Queued => await work.Done.WaitAsync(bound),
            Admission.Overloaded => throw new InvalidOperationException("503: the counter's partition inbox is full."),
            _ => throw new InvalidOperationException("503: the host is not ready."),
        };
    }

    public static Task<long> ReadAsync(PartitionHost host, string key) =>
        host.ReadAsync(CounterModule.ModuleName, host.PartitionOf(CounterModule.ModuleName, key), state => ((CounterPartition)state).ValueOf(key));
}
