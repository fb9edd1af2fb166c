using Showrunner.Core.LiveEvents;
using Showrunner.Core.Partitioning;

namespace Showrunner.Core.Reconciliation;

/// <summary>One action of the log as the replay needs it: where it was sequenced, what it says, and the release recorded on it (0: none was active).</summary>
public readonly record struct LoggedAction(int Partition, long Seq, string Id, string Player, string Type, long IngestTicks, byte[] Data, long ReleaseRef);

/// <summary>A grant the replay says the ledger must hold, and the partition whose log must hold it.</summary>
public sealed record ExpectedGrant(int Partition, PendingGrant Grant)
{
    public string GrantId => Grant.Cause.GrantId;
}

/// <summary>The replay cannot go on: the log or the records it reads break an invariant (a stable code and a message naming where).</summary>
public sealed class ReplayException(string code, string message) : Exception(message)
{
    public const string ActionOutOfOrder = "reconcile.action_out_of_order";
    public const string ActionMisplaced = "reconcile.action_misplaced";
    public const string ReleaseUnknown = "reconcile.release_unknown";
    public const string EventUnknown = "reconcile.event_unknown";

    public string Code { get; } = code;
}

/// <summary>
/// Replays the action log from scratch and derives every grant the server should have made: what
/// <c>reconcile</c> compares the recorded ledger with. Pure and deterministic, like the engine it runs.
/// </summary>
/// <remarks>
/// <para>
/// The replay runs the engine's own code: each action, in its partition's seq order, is applied
/// to that partition's <see cref="PartitionState"/> with the release recorded on the action and
/// the operator's pauses and cancels (<see cref="RunControls"/> from every recorded transition),
/// exactly as the partition executor did — but with no community goal known, so the state owes
/// only tier grants. Then, from the end state:
/// </para>
/// <list type="bullet">
/// <item>each recorded community goal (<see cref="GoalReached"/>) owes its reward to every participant
/// of the run (progress &gt; 0), whether the server paid them in bulk or as their first points came;</item>
/// <item>each run recorded <c>finalized</c> (<see cref="Finalized"/>) owes the prizes of the merged
/// leaderboard of all partitions — final, since nothing counts for a run after its end.</item>
/// </list>
/// <para>
/// Memory: every partition's state (players, progress, boards) and every expected grant. Actions
/// stream through.
/// </para>
/// </remarks>
public sealed class GrantReplay
{
    private readonly PartitionState[] _partitions;
    private readonly PartitionRouter _router;
    private readonly RunControls _controls;
    private readonly Func<long, LiveRules> _releaseOf;
    private readonly Dictionary<string, ExpectedGrant> _expected = new(StringComparer.Ordinal);
    private readonly List<PendingGrant> _owed = [];

    /// <param name="releaseOf">The rules of a stored release by ref; throws <see cref="ReplayException"/> when there is none.</param>
    public GrantReplay(int partitionCount, RunControls controls, Func<long, LiveRules> releaseOf)
    {
        ArgumentNullException.ThrowIfNull(controls);
        ArgumentNullException.ThrowIfNull(releaseOf);
        _router = new PartitionRouter(partitionCount);
        _partitions = [.. Enumerable.Range(0, partitionCount).Select(p => new PartitionState(p))];
        _controls = controls;
        _releaseOf = releaseOf;
    }

    public long ActionsReplayed { get; private set; }

    /// <summary>The grants expected so far, by grant id.</summary>
    public IReadOnlyDictionary<string, ExpectedGrant> Expected => _expected;

    /// <summary>Applies the next logged action (actions of one partition must come in seq order, 1, 2, 3, …).</summary>
    public void Apply(LoggedAction action)
    {
        if (action.Partition < 0 || action.Partition >= _partitions.Length || _router.PartitionOf(action.Player) != action.Partition)
        {
            throw new ReplayException(ReplayException.ActionMisplaced,
                $"action '{action.Id}' of player '{action.Player}' is logged in partition {action.Partition}; the player's partition is {_router.PartitionOf(action.Player)}");
        }
        var state = _partitions[action.Partition];
        if (action.Seq != state.Seq + 1)
        {
            throw new ReplayException(ReplayException.ActionOutOfOrder,
                $"action '{action.Id}' has seq {action.Seq} in partition {action.Partition}; the previous action there has seq {state.Seq} (a gap or a reordering of the log)");
        }
        var rules = action.ReleaseRef == 0 ? null : _releaseOf(action.ReleaseRef);
        _owed.Clear();
        state.Apply(new LiveAction(action.Id, action.Player, action.Type, action.IngestTicks, action.Seq, action.Data), rules, null, _controls, _owed);
        foreach (var grant in _owed)
        {
            Expect(action.Partition, grant);
        }
        ActionsReplayed++;
    }

    /// <summary>A recorded community goal: every participant of the run, in every partition, is owed the reward of the event as the goal's release defines it.</summary>
    public void GoalReached(string eventId, long run, long releaseRef, long atTicks)
    {
        var rules = _releaseOf(releaseRef);
        var definition = rules.FindEvent(eventId);
        if (definition?.CommunityGoal is null)
        {
            throw new ReplayException(ReplayException.EventUnknown,
                $"the community goal of {eventId} run {run} is recorded under release {rules.ReleaseId}, which has no such event with a community goal");
        }
        var key = new RunKey(eventId, run);
        foreach (var partition in _partitions)
        {
            foreach (var player in partition.Players.OrderBy(p => p.Player, StringComparer.Ordinal))
            {
                if (player.Find(key) is { IsParticipant: true })
                {
                    Expect(partition.Partition, PendingGrant.Of(CommunityGoals.Cause(definition, run, player.Player), rules.ReleaseId, atTicks, null));
                }
            }
        }
    }

    /// <summary>A run recorded <c>finalized</c> under a release: its prizes, by rank on the merged leaderboard, are owed (none when the event has no prizes).</summary>
    public void Finalized(string eventId, long run, long releaseRef, long atTicks)
    {
        var rules = _releaseOf(releaseRef);
        var definition = rules.FindEvent(eventId) ?? throw new ReplayException(ReplayException.EventUnknown,
            $"{eventId} run {run} is recorded finalized under release {rules.ReleaseId}, which has no such event");
        if (definition.Prizes.Count == 0)
        {
            return;
        }
        // As the coordinator does: each partition's top to the deepest prize rank, merged.
        int deepest = Math.Min(Prizes.DeepestRank(definition), PartitionLeaderboard.MaxTop);
        var key = new RunKey(eventId, run);
        var tops = _partitions.Select(p => p.Board(key) is { } board ? board.Top(deepest) : []).ToList();
        foreach (var cause in Prizes.Causes(definition, run, Leaderboards.MergeTop(tops, deepest)))
        {
            Expect(_router.PartitionOf(cause.Player), PendingGrant.Of(cause, rules.ReleaseId, atTicks, null));
        }
    }

    private void Expect(int partition, PendingGrant grant) =>
        // A cause owed twice is one grant (the ledger keeps one entry per id): the first one stands,
        // as the first entry would.
        _expected.TryAdd(grant.Cause.GrantId, new ExpectedGrant(partition, grant));
}
