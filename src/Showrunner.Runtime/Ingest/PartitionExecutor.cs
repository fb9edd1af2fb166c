using System.Threading.Channels;
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
    private readonly Channel<WorkUnit> _inbox = Channel.CreateUnbounded<WorkUnit>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly GroupCommitter _committer;
    private readonly int _maxActionsPerGroup;
    private Task? _loop;

    public PartitionExecutor(GroupCommitter committer, int maxActionsPerGroup)
    {
        _committer = committer;
        _maxActionsPerGroup = maxActionsPerGroup;
    }

    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>Queues a unit. Never blocks: admission has already reserved room in the partition's inbox.</summary>
    public void Enqueue(WorkUnit unit)
    {
        if (!_inbox.Writer.TryWrite(unit))
        {
            unit.Batch.Fail(new InvalidOperationException("The runtime is stopping."));
        }
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
            while (group.Records.Count < _maxActionsPerGroup && reader.TryRead(out var unit))
            {
                Execute(unit, group.Records);
                group.Units.Add(unit);
            }
            if (group.Units.Count > 0)
            {
                _committer.Enqueue(group);
            }
        }
    }

    private static void Execute(WorkUnit unit, List<ActionRecord> records)
    {
        var partition = unit.Partition;
        unit.FirstSeq = partition.AssignedHead + 1;
        long ingestedAt = unit.Batch.IngestedAtTicks;
        foreach (var entry in unit.Entries)
        {
            var action = entry.Action;
            long seq = ++partition.AssignedHead;
            records.Add(new ActionRecord(partition.Index, seq, action.Id, action.Player, action.Type, action.AtTicks, ingestedAt, action.Data));
        }
    }
}
