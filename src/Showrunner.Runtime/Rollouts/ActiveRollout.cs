using Showrunner.Core.LiveEvents;
using Showrunner.Core.Rollouts;
using Showrunner.Runtime.Ingest;
using Showrunner.Storage;

namespace Showrunner.Runtime.Rollouts;

/// <summary>
/// A running rollout as the partition executors see it: the candidate, the step in force, the
/// bucketing salt, who the candidate already evaluated (sticky), and the meters its gates read.
/// Put in force on every partition by <see cref="IngestPipeline.SwitchRolloutAsync"/>; a new step
/// is a new instance sharing the assignments.
/// </summary>
/// <remarks>
/// Every per-partition array slot is touched only by the partition's executor (its single writer);
/// the gate evaluator only reads the meters, whose counters only grow.
/// </remarks>
internal sealed class ActiveRollout
{
    private ActiveRollout(long id, RuntimeRelease candidate, string salt, int stepIndex, RolloutStep step, long stepStartedTicks,
        HashSet<string>[] assigned, int partitionCount, RolloutAudience? audience)
    {
        Audience = audience;
        _inAudience = audience is null ? [] : [.. Enumerable.Range(0, partitionCount).Select(_ => new Dictionary<string, bool>(StringComparer.Ordinal))];
        Id = id;
        Candidate = candidate;
        Salt = salt;
        StepIndex = stepIndex;
        Step = step;
        StepStartedTicks = stepStartedTicks;
        Assigned = assigned;
        BaselineMeters = [.. Enumerable.Range(0, partitionCount).Select(_ => new CohortMeter())];
        CandidateMeters = [.. Enumerable.Range(0, partitionCount).Select(_ => new CohortMeter())];
        Shadow = new PartitionState?[partitionCount];
    }

    private readonly Dictionary<string, bool>[] _inAudience;

    /// <summary>The plan's audience, compiled against the candidate; null: every player in the percentage.</summary>
    public RolloutAudience? Audience { get; }

    public long Id { get; }
    public RuntimeRelease Candidate { get; }
    public string Salt { get; }
    public int StepIndex { get; }
    public RolloutStep Step { get; }
    public long StepStartedTicks { get; }

    /// <summary>Per partition: players the candidate evaluated in this rollout (recorded in rollout_assignments).</summary>
    public HashSet<string>[] Assigned { get; }

    /// <summary>Per partition: the baseline's cohort in this step (in a shadow step: the baseline's evaluation of the shadowed actions).</summary>
    public CohortMeter[] BaselineMeters { get; }

    /// <summary>Per partition: the candidate's cohort in this step (in a shadow step: its shadow evaluation).</summary>
    public CohortMeter[] CandidateMeters { get; }

    /// <summary>Per partition, in a shadow step: the candidate's own copy of the shadowed players' state (never stored, never granted from).</summary>
    public PartitionState?[] Shadow { get; }

    public static ActiveRollout Create(long id, RuntimeRelease candidate, string salt, int stepIndex, RolloutStep step, long stepStartedTicks,
        int partitionCount, IEnumerable<RolloutAssignmentRow> assignments, RolloutAudience? audience = null)
    {
        var assigned = Enumerable.Range(0, partitionCount).Select(_ => new HashSet<string>(StringComparer.Ordinal)).ToArray();
        foreach (var row in assignments)
        {
            assigned[row.Partition].Add(row.Player);
        }
        return new ActiveRollout(id, candidate, salt, stepIndex, step, stepStartedTicks, assigned, partitionCount, audience);
    }

    /// <summary>The same rollout at another step: fresh meters, the same assignments.</summary>
    public ActiveRollout AtStep(int stepIndex, RolloutStep step, long startedTicks) =>
        new(Id, Candidate, Salt, stepIndex, step, startedTicks, Assigned, Assigned.Length, Audience);

    /// <summary>
    /// Whether the step takes the player in (before any assignment): their bucket is inside the
    /// percentage and the audience, if any, holds them — judged on their profile before this action
    /// and cached per partition until their next <c>player.profile</c> action.
    /// </summary>
    public bool InCohort(Partition partition, string player)
    {
        if (!Bucketing.InCohort(Salt, player, Step.PercentBasisPoints))
        {
            return false;
        }
        if (Audience is null)
        {
            return true;
        }
        var cache = _inAudience[partition.Index];
        if (!cache.TryGetValue(player, out bool member))
        {
            member = Audience.Contains(partition.Live.FindPlayer(player)?.Profile);
            cache[player] = member;
        }
        return member;
    }

    /// <summary>A player's profile changed: their audience membership is judged again at their next action.</summary>
    public void ProfileChanged(int partition, string player)
    {
        if (Audience is not null)
        {
            _inAudience[partition].Remove(player);
        }
    }

    /// <summary>Replaces one partition's assignments with what the store holds (after a failed write reloaded the partition).</summary>
    public void Reload(int partition, IEnumerable<RolloutAssignmentRow> rows)
    {
        var set = Assigned[partition];
        set.Clear();
        foreach (var row in rows)
        {
            if (row.Partition == partition)
            {
                set.Add(row.Player);
            }
        }
        Shadow[partition] = null;
    }

    /// <summary>Both cohorts' totals over every partition.</summary>
    public (CohortTotals Baseline, CohortTotals Candidate) Totals()
    {
        var baseline = new CohortTotals();
        var candidate = new CohortTotals();
        foreach (var meter in BaselineMeters)
        {
            meter.AddTo(baseline);
        }
        foreach (var meter in CandidateMeters)
        {
            meter.AddTo(candidate);
        }
        return (baseline, candidate);
    }
}
