namespace Showrunner.Storage;

/// <summary>A rollout as started (immutable).</summary>
/// <param name="LedgerFrontier">Each partition's ledger size when the rollout started.</param>
public sealed record StoredRollout(long Id, long CandidateRef, long BaselineRef, long RegisterVersion, string Plan, string Salt,
    long CreatedAtTicks, string CreatedBy, long[] LedgerFrontier);

/// <summary>One change in a rollout's history.</summary>
/// <param name="Kind"><c>start</c>, <c>step</c>, <c>hold</c>, <c>rollback</c> or <c>complete</c>.</param>
/// <param name="Step">The step in force after the change (0-based).</param>
public sealed record StoredRolloutChange(long RolloutId, int Sequence, string Kind, int Step, long AtTicks, string Actor, string? Reason);

/// <summary>A player the candidate evaluated, recorded with the first such action (written by the group commit).</summary>
public sealed record RolloutAssignmentRow(long RolloutId, string Player, int Partition, long Seq);

/// <summary>One flip of a kill switch.</summary>
/// <param name="Kind"><c>event</c> or <c>config</c>.</param>
public sealed record StoredFlag(long Sequence, string Kind, string Target, bool Enabled, long AtTicks, string Actor, string? Reason);

/// <summary>Rollouts, their histories and assignments, and flags. Every table only grows.</summary>
public interface IRolloutStore
{
    /// <summary>Stores a new rollout and its <c>start</c> change; returns it with its id.</summary>
    StoredRollout Start(long candidateRef, long baselineRef, long registerVersion, string plan, string salt, long atTicks, string actor,
        long[] ledgerFrontier, string? reason);

    /// <summary>Appends a change; false (and nothing written) when <paramref name="change"/>'s sequence is taken.</summary>
    bool Append(StoredRolloutChange change);

    StoredRollout? Find(long id);

    /// <summary>The newest rollouts first.</summary>
    IReadOnlyList<StoredRollout> List(int limit);

    /// <summary>A rollout's changes in order.</summary>
    IReadOnlyList<StoredRolloutChange> Changes(long rolloutId);

    /// <summary>Every player assigned to the candidate in a rollout.</summary>
    IReadOnlyList<RolloutAssignmentRow> Assignments(long rolloutId);

    long CountAssignments(long rolloutId);

    /// <summary>Every flag flip, in order.</summary>
    IReadOnlyList<StoredFlag> Flags();

    /// <summary>Appends a flip unconditionally (the last writer wins); see <see cref="TryAppendFlagAsync"/> for the checked form.</summary>
    StoredFlag AppendFlag(string kind, string target, bool enabled, long atTicks, string actor, string? reason);

    /// <summary>
    /// Compare-and-set on one flag: appends the flip only if the latest flip of
    /// (<paramref name="kind"/>, <paramref name="target"/>) is still <paramref name="expectedSequence"/>
    /// (0: it was never flipped). Returns the stored flip, or null (nothing written) when another
    /// flip of the same flag came first. Flips of other flags do not conflict.
    /// </summary>
    ValueTask<StoredFlag?> TryAppendFlagAsync(long expectedSequence, string kind, string target, bool enabled, long atTicks, string actor,
        string? reason, CancellationToken cancellationToken = default);

    /// <summary>
    /// Compare-and-set on the list of rollouts: starts a rollout (and writes its <c>start</c> change)
    /// only if the newest rollout is still <paramref name="expectedLatestId"/> (0: there is none).
    /// Returns it, or null (nothing written) when another rollout was started first.
    /// </summary>
    ValueTask<StoredRollout?> TryStartAsync(long expectedLatestId, long candidateRef, long baselineRef, long registerVersion, string plan, string salt,
        long atTicks, string actor, long[] ledgerFrontier, string? reason, CancellationToken cancellationToken = default);
}
