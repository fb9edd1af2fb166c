using System.Threading.Channels;
using Showrunner.Core.Rules.Evaluation;
using Showrunner.Core.Rules.Releases;
using Showrunner.Storage;

namespace Showrunner.Runtime.Ingest;

/// <summary>What one executor hands to the committer: units with their seqs assigned, and the records to write.</summary>
internal sealed class CommitGroup
{
    public List<WorkUnit> Units { get; } = [];
    public List<ActionRecord> Records { get; } = [];
}

/// <summary>
/// Runs a fixed set of partitions (partition p belongs to executor p mod E). For each work unit,
/// in arrival order, the owning partition assigns the next seqs and produces the records to commit.
/// Because a partition is only ever run by its one executor, it is a single writer without locks,
/// and the order of its inbox is the order of its log.
/// </summary>
internal sealed class PartitionExecutor
{
    private readonly Channel<ExecutorItem> _inbox = Channel.CreateUnbounded<ExecutorItem>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly GroupCommitter _committer;
    private readonly int _maxActionsPerGroup;
    private readonly List<Partition> _partitions = [];
    /// <summary>Decoded values per action type of the release last seen (reused: decoding allocates only strings).</summary>
    private readonly Dictionary<ActionDecoder, RecordValues> _scratch = [];
    private RuntimeRelease? _scratchRelease;
    private Task? _loop;

    public PartitionExecutor(GroupCommitter committer, int maxActionsPerGroup)
    {
        _committer = committer;
        _maxActionsPerGroup = maxActionsPerGroup;
    }

    /// <summary>Gives the executor a partition to run (before it starts).</summary>
    public void Own(Partition partition) => _partitions.Add(partition);

    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>Queues a unit. Never blocks: admission has already reserved room in the partition's inbox.</summary>
    public void Enqueue(WorkUnit unit)
    {
        if (!_inbox.Writer.TryWrite(unit))
        {
            unit.Batch.Fail(new InvalidOperationException("The runtime is stopping."));
        }
    }

    /// <summary>Queues a release switch behind every unit already queued; it completes once in force on all the executor's partitions.</summary>
    public void Enqueue(ReleaseSwitch change)
    {
        if (!_inbox.Writer.TryWrite(change))
        {
            change.Fail(new InvalidOperationException("The runtime is stopping."));
        }
    }

    private RecordValues Scratch(RuntimeRelease release, ActionDecoder decoder)
    {
        if (_scratchRelease != release)
        {
            _scratch.Clear();
            _scratchRelease = release;
        }
        if (!_scratch.TryGetValue(decoder, out var values))
        {
            values = new RecordValues(decoder.Layout);
            _scratch[decoder] = values;
        }
        return values;
    }

    public async Task StopAsync()
    {
        _inbox.Writer.TryComplete();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
    }

    private async Task RunAsync()
    {
        var reader = _inbox.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var group = new CommitGroup();
            while (group.Records.Count < _maxActionsPerGroup && reader.TryRead(out var item))
            {
                if (item is ReleaseSwitch change)
                {
                    foreach (var partition in _partitions)
                    {
                        partition.Rules = change.Release;
                    }
                    change.Complete();
                    continue;
                }
                var unit = (WorkUnit)item;
                Execute(unit, group.Records);
                group.Units.Add(unit);
            }
            if (group.Units.Count > 0)
            {
                _committer.Enqueue(group);
            }
        }
    }

    /// <summary>
    /// Checks each action against the partition's release (actions of a type the release declares
    /// must match its schema) and sequences the ones that pass. Each record carries the release.
    /// </summary>
    private void Execute(WorkUnit unit, List<ActionRecord> records)
    {
        var partition = unit.Partition;
        var release = partition.Rules;
        long releaseRef = release?.Ref ?? 0;
        long ingestedAt = unit.Batch.IngestedAtTicks;
        foreach (var entry in unit.Entries)
        {
            var action = entry.Action;
            if (release?.Loaded.DecoderFor(action.Type) is { } decoder)
            {
                if (!decoder.TryDecode(action.Data, Scratch(release, decoder), out var rejection))
                {
                    entry.Seq = 0;
                    entry.Rejection = rejection;
                    continue;
                }
            }
            long seq = ++partition.AssignedHead;
            entry.Seq = seq;
            records.Add(new ActionRecord(partition.Index, seq, action.Id, action.Player, action.Type, action.AtTicks, ingestedAt, action.Data, releaseRef));
        }
    }
}
