using System.Text.Json.Nodes;
using Showrunner.Core.Ledger;
using Showrunner.Core.Rules.Evaluation;
using Showrunner.Core.Rules.Model;
using Showrunner.Core.Rules.Releases;

namespace Showrunner.Core.LiveEvents;

/// <summary>An action as the live-event state sees it: what was logged, and where.</summary>
/// <param name="IngestTicks">The ingest time recorded in the log: the time that counts.</param>
/// <param name="Data">The data object as compact UTF-8 JSON.</param>
public readonly record struct LiveAction(string Id, string Player, string Type, long IngestTicks, long Seq, byte[] Data);

/// <summary>
/// One player's state in one partition: merged profile attributes (from <c>player.profile</c>
/// actions), the audience membership learned for the release in force, and progress per run.
/// </summary>
public sealed class PlayerState
{
    private PlayerRunProgress[] _runs = [];
    private LiveRules? _membershipFor;
    private AudienceMembership? _membership;

    public PlayerState(string player) => Player = player;

    public string Player { get; }

    /// <summary>The merged profile (a JSON object, RFC 7396 merge of the player's profile actions in log order), or null.</summary>
    public byte[]? Profile { get; private set; }

    /// <summary>Changed since the partition's last snapshot.</summary>
    public bool Dirty { get; set; }

    public int RunCount { get; private set; }

    public ReadOnlySpan<PlayerRunProgress> Runs => _runs.AsSpan(0, RunCount);

    public PlayerRunProgress? Find(RunKey run)
    {
        foreach (var progress in Runs)
        {
            if (progress.Run.Run == run.Run && string.Equals(progress.Run.EventId, run.EventId, StringComparison.Ordinal))
            {
                return progress;
            }
        }
        return null;
    }

    public PlayerRunProgress GetOrAdd(RunKey run, int objectiveCount)
    {
        if (Find(run) is { } found)
        {
            return found;
        }
        var progress = new PlayerRunProgress(Player, run, objectiveCount);
        Add(progress);
        return progress;
    }

    internal void Add(PlayerRunProgress progress)
    {
        if (RunCount == _runs.Length)
        {
            Array.Resize(ref _runs, Math.Max(2, _runs.Length * 2));
        }
        _runs[RunCount++] = progress;
    }

    /// <summary>Applies a profile action's data (RFC 7396 merge patch); the audiences are learned again.</summary>
    public void MergeProfile(ReadOnlySpan<byte> patch)
    {
        Profile = ProfilePatch.Apply(Profile, patch);
        _membershipFor = null;
        _membership = null;
    }

    internal void RestoreProfile(byte[]? profile) => Profile = profile;

    /// <summary>The player's audience membership under <paramref name="rules"/>; attributes decoded (leniently) from the profile.</summary>
    public AudienceMembership MembershipFor(LiveRules rules)
    {
        if (!ReferenceEquals(_membershipFor, rules) || _membership is null)
        {
            var attributes = rules.Release.PlayerDecoder.DecodeLenient(Profile ?? "{}"u8);
            _membership = rules.Release.Evaluator.CreateMembership();
            _membership.Reset(attributes);
            _membershipFor = rules;
        }
        return _membership;
    }
}

/// <summary>RFC 7396 JSON merge patch of player profiles: members of the patch replace those of the target, null removes one.</summary>
internal static class ProfilePatch
{
    public static byte[] Apply(byte[]? target, ReadOnlySpan<byte> patch)
    {
        var patchNode = JsonNode.Parse(patch);
        if (patchNode is not JsonObject patchObject)
        {
            // A patch that is not an object replaces the target (RFC 7396 §2); profiles are objects, so keep an object.
            return "{}"u8.ToArray();
        }
        var targetObject = target is null ? new JsonObject() : JsonNode.Parse(target) as JsonObject ?? new JsonObject();
        Merge(targetObject, patchObject);
        return System.Text.Encoding.UTF8.GetBytes(targetObject.ToJsonString());
    }

    private static void Merge(JsonObject target, JsonObject patch)
    {
        foreach (var (name, value) in patch.ToList())
        {
            if (value is null)
            {
                target.Remove(name);
            }
            else if (value is JsonObject child)
            {
                if (target[name] is not JsonObject existing)
                {
                    existing = new JsonObject();
                    target[name] = existing;
                }
                Merge(existing, child);
            }
            else
            {
                target[name] = value.DeepClone();
            }
        }
    }
}

/// <summary>
/// The live-event state of one partition: its players (profiles, progress per run), a leaderboard
/// and a community-goal contribution slot per run, the runs whose goal it knows was reached.
/// </summary>
/// <remarks>
/// <para>
/// Owned by the partition's single writer; not thread-safe. Pure: no clock, no I/O, no randomness.
/// It is derived state — a function of the partition's action log (with the release recorded on
/// each action and the operator's run controls) — so the executor, a restart's replay of the log
/// tail and <c>reconcile</c>'s replay from scratch all run this same code and agree.
/// </para>
/// <para>
/// Grants it owes are returned as <see cref="PendingGrant"/>s; the caller appends them to the
/// partition's ledger in the same commit as the action. Rules that pay once per player per run
/// have fixed cause ids, so a repeated cause is the same grant id, which the ledger refuses.
/// </para>
/// </remarks>
public sealed class PartitionState
{
    private readonly Dictionary<string, PlayerState> _players = new(StringComparer.Ordinal);
    private readonly Dictionary<RunKey, PartitionLeaderboard> _boards = [];
    private readonly Dictionary<RunKey, long> _slots = [];
    private readonly HashSet<RunKey> _goals = [];
    private readonly List<PlayerState> _dirty = [];
    private EvaluationResults? _results;
    private bool _slotsDirty;

    public PartitionState(int partition) => Partition = partition;

    public int Partition { get; }

    /// <summary>The seq of the last action applied.</summary>
    public long Seq { get; private set; }

    public int PlayerCount => _players.Count;

    /// <summary>Actions applied since the last snapshot.</summary>
    public int ActionsSinceSnapshot { get; private set; }

    /// <summary>Whether anything changed since the last snapshot.</summary>
    public bool IsDirty => _dirty.Count > 0 || _slotsDirty || ActionsSinceSnapshot > 0;

    public PlayerState? FindPlayer(string player) => _players.GetValueOrDefault(player);

    public IEnumerable<PlayerState> Players => _players.Values;

    /// <summary>Whether this partition knows that the run's community goal was reached.</summary>
    public bool KnowsGoal(RunKey run) => _goals.Contains(run);

    public void LearnGoal(RunKey run) => _goals.Add(run);

    /// <summary>This partition's contribution to the run's community goal.</summary>
    public long Slot(RunKey run) => _slots.GetValueOrDefault(run);

    public IReadOnlyDictionary<RunKey, long> Slots => _slots;

    public PartitionLeaderboard? Board(RunKey run) => _boards.GetValueOrDefault(run);

    /// <summary>A player's leaderboard entry in a run, or null when they have no points in it.</summary>
    public LeaderboardEntry? EntryOf(RunKey run, string player) =>
        FindPlayer(player)?.Find(run) is { AchievedAt: { } achieved } progress ? new LeaderboardEntry(player, progress.Total, achieved) : null;

    /// <summary>
    /// Applies one sequenced action: a profile action merges the player's attributes; an action of
    /// a type that events count is evaluated against every event whose audience holds the player,
    /// and for each whose run is active at the action's ingest time (not paused or cancelled), its
    /// points are added under the caps. Owed grants (tiers crossed; the community goal for a player
    /// whose first points come after the partition learned it was reached) go to <paramref name="owed"/>.
    /// </summary>
    /// <param name="rules">The release recorded on the action; null when none was active (nothing counts).</param>
    /// <param name="decoded">The action's data decoded with <paramref name="rules"/>' decoder, if the caller has it; else decoded here.</param>
    /// <param name="counted">
    /// Told of every run the action counted for (the run active and not blocked, an objective
    /// matched with points &gt; 0), with what it did there, points added after caps included;
    /// <c>simulate</c> tallies matches and participants with it. Null on the server's path.
    /// </param>
    public void Apply(LiveAction action, LiveRules? rules, RecordValues? decoded, RunControls controls, List<PendingGrant> owed,
        Action<RunKey, ProgressResult>? counted = null)
    {
        ArgumentNullException.ThrowIfNull(controls);
        ArgumentNullException.ThrowIfNull(owed);
        if (action.Seq <= Seq)
        {
            throw new InvalidOperationException($"Partition {Partition} applied seq {Seq}; seq {action.Seq} comes too late (log order broken).");
        }
        Seq = action.Seq;
        ActionsSinceSnapshot++;
        if (rules is null)
        {
            return;
        }
        PlayerState? player = null;
        if (action.Type == ReleaseChecker.PlayerProfileAction)
        {
            player = GetOrAddPlayer(action.Player);
            player.MergeProfile(action.Data);
            MarkDirty(player);
        }
        var plan = rules.Release.Evaluator.FindAction(action.Type);
        if (plan is null || plan.EventCount == 0)
        {
            return;
        }
        var values = decoded;
        if (values is null)
        {
            var decoder = rules.Release.DecoderFor(action.Type)!;
            values = new RecordValues(decoder.Layout);
            if (!decoder.TryDecode(action.Data, values, out _))
            {
                // Accepted actions decode with the release that accepted them; one that does not was
                // logged under another release's schema and counts for nothing.
                return;
            }
        }
        player ??= GetOrAddPlayer(action.Player);
        var results = ResultsFor(rules);
        rules.Release.Evaluator.Evaluate(plan, values, player.MembershipFor(rules), results);
        var outcomes = results.Outcomes;
        var progressAction = new ProgressAction(action.Id, action.IngestTicks, Partition, action.Seq);
        var at = new DateTimeOffset(action.IngestTicks, TimeSpan.Zero);
        int start = 0;
        while (start < outcomes.Length)
        {
            int eventIndex = outcomes[start].Event;
            int end = start + 1;
            bool anyPoints = outcomes[start].Points > 0 && !outcomes[start].Failed;
            while (end < outcomes.Length && outcomes[end].Event == eventIndex)
            {
                anyPoints |= outcomes[end].Points > 0 && !outcomes[end].Failed;
                end++;
            }
            var slice = outcomes[start..end];
            start = end;
            if (!anyPoints)
            {
                continue;
            }
            var definition = rules.Events[eventIndex];
            if (definition.Schedule.RunAt(at) is not { } run)
            {
                continue;
            }
            var key = new RunKey(definition.Id, run.Index);
            if (controls.Blocks(key, action.IngestTicks))
            {
                continue;
            }
            var progress = player.GetOrAdd(key, definition.Objectives.Count);
            LeaderboardEntry? before = progress.AchievedAt is { } was ? new LeaderboardEntry(player.Player, progress.Total, was) : null;
            var result = rules.Progress[eventIndex].Apply(progress, RunPhase.Active, progressAction, slice);
            if (result.Status != ProgressStatus.Applied)
            {
                continue;
            }
            counted?.Invoke(key, result);
            if (result.Added > 0 || result.TiersReached.Count > 0)
            {
                // A tier can be reached with nothing added (a release added a lower tier, or a cap
                // left 0 points): the mark must reach the next snapshot, or a restart would owe it again.
                MarkDirty(player);
            }
            if (result.Added > 0)
            {
                Board(key, create: true)!.Move(before, new LeaderboardEntry(player.Player, progress.Total, progress.AchievedAt!.Value));
                _slots[key] = CommunityGoals.Add(_slots.GetValueOrDefault(key), result.Added);
                _slotsDirty = true;
            }
            foreach (var grant in result.Grants)
            {
                owed.Add(PendingGrant.Of(grant, rules.ReleaseId, action.IngestTicks, action.Id));
            }
            if (result.BecameParticipant && definition.CommunityGoal is not null && _goals.Contains(key) && !progress.CommunityGoalGranted)
            {
                progress.CommunityGoalGranted = true;
                owed.Add(PendingGrant.Of(CommunityGoals.Cause(definition, run.Index, player.Player), rules.ReleaseId, action.IngestTicks, action.Id));
            }
        }
    }

    /// <summary>
    /// The run's community goal was reached: learns it, and owes every participant of this partition
    /// (progress &gt; 0 in the run) the reward once, in player id order. <paramref name="alreadyGranted"/>
    /// names the grant ids (hex) of the candidates that the ledger already holds (a repeated step after a restart).
    /// </summary>
    public IReadOnlyList<PendingGrant> GoalReached(EventDefinition definition, long run, string releaseId, long atTicks,
        Func<IReadOnlyList<GrantCause>, ISet<string>> alreadyGranted)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var key = new RunKey(definition.Id, run);
        _goals.Add(key);
        if (definition.CommunityGoal is null)
        {
            return [];
        }
        var candidates = new List<(PlayerRunProgress Progress, OwedGrant Owed)>();
        foreach (var player in _players.Values.OrderBy(p => p.Player, StringComparer.Ordinal))
        {
            if (player.Find(key) is { IsParticipant: true, CommunityGoalGranted: false } progress)
            {
                candidates.Add((progress, CommunityGoals.Cause(definition, run, player.Player)));
            }
        }
        var stored = alreadyGranted([.. candidates.Select(c => LiveRules.CauseOf(c.Owed))]);
        var owed = new List<PendingGrant>();
        foreach (var (progress, grant) in candidates)
        {
            progress.CommunityGoalGranted = true;
            MarkDirty(_players[progress.Player]);
            var pending = PendingGrant.Of(grant, releaseId, atTicks, null);
            if (!stored.Contains(pending.Cause.GrantId))
            {
                owed.Add(pending);
            }
        }
        return owed;
    }

    /// <summary>The prize grants of this partition's players, minus those the ledger already holds.</summary>
    public static IReadOnlyList<PendingGrant> Owed(IReadOnlyList<OwedGrant> grants, string releaseId, long atTicks,
        Func<IReadOnlyList<GrantCause>, ISet<string>> alreadyGranted)
    {
        var pending = grants.Select(g => PendingGrant.Of(g, releaseId, atTicks, null)).ToList();
        var stored = alreadyGranted([.. pending.Select(p => p.Cause)]);
        return [.. pending.Where(p => !stored.Contains(p.Cause.GrantId))];
    }

    private EvaluationResults ResultsFor(LiveRules rules)
    {
        if (_results is null || _results.Evaluator != rules.Release.Evaluator)
        {
            _results = rules.Release.Evaluator.CreateResults();
        }
        return _results;
    }

    private PlayerState GetOrAddPlayer(string player)
    {
        if (!_players.TryGetValue(player, out var state))
        {
            state = new PlayerState(player);
            _players.Add(player, state);
        }
        return state;
    }

    private void MarkDirty(PlayerState player)
    {
        if (!player.Dirty)
        {
            player.Dirty = true;
            _dirty.Add(player);
        }
    }

    private PartitionLeaderboard? Board(RunKey run, bool create)
    {
        if (!_boards.TryGetValue(run, out var board) && create)
        {
            board = new PartitionLeaderboard();
            _boards.Add(run, board);
        }
        return board;
    }

    /// <summary>
    /// The state to store: partition-wide data, and each player changed since the last snapshot.
    /// Clears the dirty marks; the caller stores the result behind every action up to <see cref="Seq"/>.
    /// </summary>
    public (long Seq, byte[] Data, List<(string Player, byte[] Data)> Players) TakeSnapshot()
    {
        var players = new List<(string, byte[])>(_dirty.Count);
        foreach (var player in _dirty)
        {
            players.Add((player.Player, StateCodec.EncodePlayer(player)));
            player.Dirty = false;
        }
        _dirty.Clear();
        _slotsDirty = false;
        ActionsSinceSnapshot = 0;
        return (Seq, StateCodec.EncodePartition(_slots), players);
    }

    /// <summary>
    /// Takes in a player decoded from another state's copy (a shadow evaluation starts each player
    /// where the live state has them); puts them on the leaderboards of their runs. Not marked dirty:
    /// a shadow state is never stored.
    /// </summary>
    public void Adopt(PlayerState player)
    {
        ArgumentNullException.ThrowIfNull(player);
        _players.Add(player.Player, player);
        foreach (var progress in player.Runs)
        {
            if (progress.Total > 0)
            {
                Board(progress.Run, create: true)!.Move(null, new LeaderboardEntry(player.Player, progress.Total, progress.AchievedAt!.Value));
            }
        }
    }

    /// <summary>Loads a stored snapshot (before any action is applied): partition data and players; rebuilds the leaderboards.</summary>
    public void Restore(long seq, byte[]? data, IEnumerable<(string Player, byte[] Data)> players)
    {
        if (Seq != 0 || _players.Count > 0)
        {
            throw new InvalidOperationException("A snapshot is restored into an empty partition state only.");
        }
        Seq = seq;
        if (data is not null)
        {
            foreach (var (run, slot) in StateCodec.DecodePartition(data))
            {
                _slots[run] = slot;
            }
        }
        var pool = new StateCodec.Pool();
        foreach (var (name, bytes) in players)
        {
            var player = StateCodec.DecodePlayer(name, bytes, pool);
            _players.Add(name, player);
            foreach (var progress in player.Runs)
            {
                if (progress.Total > 0)
                {
                    Board(progress.Run, create: true)!.Move(null, new LeaderboardEntry(name, progress.Total, progress.AchievedAt!.Value));
                }
            }
        }
    }
}
