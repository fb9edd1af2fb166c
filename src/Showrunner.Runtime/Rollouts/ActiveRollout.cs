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
        HashSet<string>[] assigned, int partitionCount)
    {
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
        int partitionCount, IEnumerable<RolloutAssignmentRow> assignments)
    {
        var assigned = Enumerable.Range(0, partitionCount).Select(_ => new HashSet<string>(StringComparer.Ordinal)).ToArray();
        foreach (var row in assignments)
        {
            assigned[row.Partition].Add(row.Player);
        }
        return new ActiveRollout(id, candidate, salt, stepIndex, step, stepStartedTicks, assigned, partitionCount);
    }

    /// <summary>The same rollout at another step: fresh meters, the same assignments.</summary>
    public ActiveRollout AtStep(int stepIndex, RolloutStep step, long startedTicks) =>
        new(Id, Candidate, Salt, stepIndex, step, startedTicks, Assigned, Assigned.Length);

    /// <summary>Whether the step's percentage takes the player in (before any assignment).</summary>
    public bool InCohort(string player) => Bucketing.InCohort(Salt, player, Step.PercentBasisPoints);

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

/// <summary>Puts a rollout (or none) in force on an executor's partitions, behind the work already queued.</summary>
internal sealed class RolloutSwitch(ActiveRollout? rollout) : ExecutorItem
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ActiveRollout? Rollout { get; } = rollout;
    public Task Done => _done.Task;
    public void Complete() => _done.TrySetResult();
    public void Fail(Exception exception) => _done.TrySetException(exception);
}
