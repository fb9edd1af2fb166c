namespace Showrunner.Core.Rules.Bundle;

/// <summary>Why a candidate may not replace the active release yet.</summary>
public sealed record CompatibilityProblem(string Code, string EventId, string Message);

/// <summary>
/// Whether a candidate release may replace the active one at a given moment without changing what
/// players already earned. For every event of the active release that is live (a run has started
/// and it may still owe rewards):
/// <list type="bullet">
/// <item>removing it is refused (<c>compat.event_removed</c>) unless the candidate declares <c>retire "id" { }</c>;</item>
/// <item>changing its objectives, tiers, leaderboard or community goal is refused
/// (<c>compat.earnings_changed</c>) unless the candidate's event declares <c>migration = "keep_earned"</c>;</item>
/// <item>moving its start is refused (<c>compat.start_changed</c>): runs already under way would be renumbered.</item>
/// </list>
/// Everything else — titles, audiences, config overrides, extending or shortening the schedule's
/// end, events not yet started or long finished — may change freely.
/// </summary>
public static class ReleaseCompatibility
{
    public static List<CompatibilityProblem> Check(ReleaseBundle active, ReleaseBundle candidate, DateTimeOffset now)
    {
        var problems = new List<CompatibilityProblem>();
        var next = candidate.Release.Events.ToDictionary(e => e.Id, StringComparer.Ordinal);
        foreach (var current in active.Release.Events.Where(e => e.IsLive(now)))
        {
            string owes = current.Schedule.Every is null
                ? $"it owes rewards until {current.Schedule.Start + current.Schedule.Duration + current.Schedule.Grace:yyyy-MM-dd'T'HH:mm:ss'Z'}"
                : "it recurs";
            if (!next.TryGetValue(current.Id, out var replacement))
            {
                if (!candidate.Release.Retired.Any(r => r.Id == current.Id))
                {
                    problems.Add(new CompatibilityProblem("compat.event_removed", current.Id,
                        $"Event \"{current.Id}\" is live ({owes}) and the candidate removes it. Keep it, or declare retire \"{current.Id}\" {{ reason = \"...\" }} to remove it anyway."));
                }
                continue;
            }
            if (replacement.Schedule.Start != current.Schedule.Start)
            {
                problems.Add(new CompatibilityProblem("compat.start_changed", current.Id,
                    $"Event \"{current.Id}\" is live and the candidate moves its start from {current.Schedule.Start:yyyy-MM-dd'T'HH:mm:ss'Z'} to {replacement.Schedule.Start:yyyy-MM-dd'T'HH:mm:ss'Z'}. Give the new schedule a new event id instead."));
            }
            if (replacement.Migration is null && active.EarningSignatures[current.Id] != candidate.EarningSignatures[current.Id])
            {
                problems.Add(new CompatibilityProblem("compat.earnings_changed", current.Id,
                    $"Event \"{current.Id}\" is live ({owes}) and the candidate changes its objectives, tiers, leaderboard or community goal, " +
                    $"which would change what players earn mid-run. Keep them, or set migration = \"{Model.EventDefinition.KeepEarned}\" in the event " +
                    "(earned points and granted rewards stay; the new rules apply from activation)."));
            }
        }
        return problems;
    }
}
