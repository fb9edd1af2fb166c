using Showrunner.Core.Ledger;

namespace Showrunner.Core.Reconciliation;

/// <summary>How a recorded grant and an expected one differ.</summary>
public enum DifferenceKind
{
    /// <summary>Expected by the replay, not in the ledger: a grant the server did not make.</summary>
    Missing,
    /// <summary>In the ledger, not expected: a grant nothing in the log caused (or a second entry for one cause).</summary>
    Extra,
    /// <summary>The same grant id, but what was recorded is not what the replay derives.</summary>
    Different,
}

/// <summary>One field of a grant that differs: its name, the expected value and the recorded one, as text.</summary>
public sealed record FieldDifference(string Field, string Expected, string Recorded);

/// <summary>One difference between the expected and the recorded grants.</summary>
/// <param name="Expected">The expected grant (missing, different), else null.</param>
/// <param name="Recorded">The recorded entry (extra, different), else null.</param>
public sealed record GrantDifference(DifferenceKind Kind, string GrantId, ExpectedGrant? Expected, GrantEntry? Recorded, IReadOnlyList<FieldDifference> Fields);

/// <summary>What reconciliation found: counts of everything compared and the first differences.</summary>
public sealed class ReconciliationReport
{
    public long Expected { get; init; }
    public long Recorded { get; init; }
    public long Matched { get; init; }
    public long Missing { get; init; }
    public long Extra { get; init; }
    public long Different { get; init; }

    /// <summary>Operator grants in the ledger: not derived from the log, so not compared.</summary>
    public long OperatorEntries { get; init; }

    /// <summary>Corrections in the ledger: not derived from the log, so not compared.</summary>
    public long CorrectionEntries { get; init; }

    /// <summary>The first differences (extra and different in ledger order, then missing by partition and grant id), at most the limit.</summary>
    public required IReadOnlyList<GrantDifference> Listed { get; init; }

    public long Differences => Missing + Extra + Different;
}

/// <summary>
/// Compares the recorded ledger with the expected grants, one recorded entry at a time (the ledger
/// streams through; the expected grants are held). Operator grants and corrections are counted, not
/// compared: nothing in the action log causes them.
/// </summary>
/// <remarks>
/// Grants are matched by grant id. For a match, the fields the id does not already fix are compared:
/// the partition whose log holds it and the rewards (and, as a second check, player, event, run,
/// rule and cause kind, which an entry whose id derives from its cause cannot differ in); for a tier
/// grant also the release that evaluated it and the action that crossed the tier, which the replay
/// derives exactly. Not compared: times (a prize's time is when finalization ran), and the release
/// and action of community-goal and prize grants (the server records the release in force when it
/// paid, the replay knows only the goal's or the finalization's).
/// </remarks>
public sealed class GrantComparison
{
    private readonly Dictionary<string, ExpectedGrant> _unmatched;
    private readonly int _listLimit;
    private readonly List<GrantDifference> _listed = [];
    private readonly long _expected;
    private long _recorded, _matched, _extra, _different, _operator, _correction;

    /// <param name="listLimit">How many differences to keep for listing; all are counted.</param>
    public GrantComparison(IReadOnlyDictionary<string, ExpectedGrant> expected, int listLimit)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentOutOfRangeException.ThrowIfNegative(listLimit);
        _unmatched = new Dictionary<string, ExpectedGrant>(expected, StringComparer.Ordinal);
        _expected = expected.Count;
        _listLimit = listLimit;
    }

    /// <summary>The next recorded entry (in ledger order: partition, then index).</summary>
    public void Add(GrantEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        switch (entry.CauseKind)
        {
            case CauseKind.Operator:
                _operator++;
                return;
            case CauseKind.Correction:
                _correction++;
                return;
        }
        _recorded++;
        // Removed when matched: a second entry with the same id is then an extra one.
        if (!_unmatched.Remove(entry.GrantId, out var expected))
        {
            _extra++;
            List(new GrantDifference(DifferenceKind.Extra, entry.GrantId, null, entry, []));
            return;
        }
        var fields = Compare(expected, entry);
        if (fields.Count == 0)
        {
            _matched++;
            return;
        }
        _different++;
        List(new GrantDifference(DifferenceKind.Different, entry.GrantId, expected, entry, fields));
    }

    public ReconciliationReport Finish()
    {
        foreach (var missing in _unmatched.Values.OrderBy(g => g.Partition).ThenBy(g => g.GrantId, StringComparer.Ordinal))
        {
            List(new GrantDifference(DifferenceKind.Missing, missing.GrantId, missing, null, []));
        }
        return new ReconciliationReport
        {
            Expected = _expected,
            Recorded = _recorded,
            Matched = _matched,
            Missing = _unmatched.Count,
            Extra = _extra,
            Different = _different,
            OperatorEntries = _operator,
            CorrectionEntries = _correction,
            Listed = [.. _listed],
        };
    }

    private void List(GrantDifference difference)
    {
        if (_listed.Count < _listLimit)
        {
            _listed.Add(difference);
        }
    }

    private static List<FieldDifference> Compare(ExpectedGrant expected, GrantEntry recorded)
    {
        var grant = expected.Grant;
        var fields = new List<FieldDifference>();
        void Field(string name, string wanted, string actual)
        {
            if (!string.Equals(wanted, actual, StringComparison.Ordinal))
            {
                fields.Add(new FieldDifference(name, wanted, actual));
            }
        }
        Field("partition", Text(expected.Partition), Text(recorded.Partition));
        Field("player", grant.Cause.Player, recorded.Player);
        Field("event", grant.Cause.EventId, recorded.EventId);
        Field("run", Text(grant.Cause.Run), Text(recorded.Run));
        Field("rule", grant.Cause.Rule, recorded.Rule);
        Field("cause_kind", GrantEntry.KindName(grant.Cause.Kind), GrantEntry.KindName(recorded.CauseKind));
        Field("rewards", Rewards(grant.Rewards), Rewards(recorded.Rewards));
        if (grant.Cause.Kind == CauseKind.Action)
        {
            Field("release", grant.ReleaseId, recorded.ReleaseId);
            Field("action", grant.ActionId ?? "null", recorded.ActionId ?? "null");
        }
        return fields;
    }

    /// <summary>Reward lines as <c>name amount, …</c> in grant order (the order is part of the entry).</summary>
    public static string Rewards(IReadOnlyList<RewardLine> rewards) => string.Join(", ", rewards.Select(r => r.Name + " " + Text(r.Amount)));

    private static string Text(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
