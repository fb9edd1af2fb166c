using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Server.Hosting;

namespace Showrunner.Server.Demo;

/// <summary>
/// The releases demo mode runs: the built-in example (<c>examples/summer-week-1</c>) with its one
/// event made weekly — a run every Monday 00:00 UTC for seven days (then its 48 hours of grace and
/// its prizes) — so that an event is always running, and, for the staged rollout, a tuned
/// candidate of it that only changes the <c>spawn</c> config (its gates compare like with like; the
/// rollout holds at its canary step until a person advances it).
/// </summary>
/// <remarks>
/// A fixed schedule anchor, not "today": the release is the same bundle whenever the demo starts,
/// and each week is another run of the same event, so a demo restarted weeks later never meets a
/// run that was already finalized. Both releases are derived from the example's text by exact
/// substitutions; one that does not match exactly once throws, so a change to the example cannot
/// silently give a demo without a live event.
/// </remarks>
internal static class DemoRelease
{
    public const string Name = "summer-week-1-demo";
    public const string CandidateName = "summer-week-1-demo-tuned";
    /// <summary>The first run's start (a Monday); every later run starts a week after the one before.</summary>
    public const string Anchor = "2026-01-05T00:00:00Z";
    public static readonly TimeSpan Every = TimeSpan.FromDays(7);

    /// <summary>The demo's live release.</summary>
    public static ReleaseBundle Live() => Build(tuned: false);

    /// <summary>The rollout candidate: the same event, a tuned <c>spawn</c> config.</summary>
    public static ReleaseBundle Candidate() => Build(tuned: true);

    private static ReleaseBundle Build(bool tuned)
    {
        var files = new List<SourceText>();
        foreach (var file in ExampleRelease.Sources())
        {
            if (file.File != "release.hcl")
            {
                files.Add(file);
                continue;
            }
            string text = file.Text;
            text = ReplaceOnce(text, "release \"summer-week-1\" {", $"release \"{(tuned ? CandidateName : Name)}\" {{");
            text = ReplaceOnce(text, "description = \"Crystal Caves treasure hunt\"",
                $"description = \"Crystal Caves treasure hunt (demo: examples/summer-week-1 as a weekly event from Mondays 00:00 UTC{(tuned ? ", spawn tuned" : "")})\"");
            text = ReplaceOnce(text, "start = \"2025-07-24T16:00:00Z\"", $"start    = \"{Anchor}\"");
            text = ReplaceOnce(text, "end   = \"2025-07-31T16:00:00Z\"", "duration = \"7d\"\n    every    = \"7d\"");
            if (tuned)
            {
                text = ReplaceOnce(text, "base_rate      = 12", "base_rate      = 15");
                text = ReplaceOnce(text, "cooldown_ms    = 8000", "cooldown_ms    = 6500");
            }
            files.Add(new SourceText(file.File, text));
        }
        return ExampleRelease.Build(files);
    }
    private static string ReplaceOnce(string text, string from, string to)
    {
        int at = text.IndexOf(from, StringComparison.Ordinal);
        if (at < 0 || text.IndexOf(from, at + from.Length, StringComparison.Ordinal) >= 0)
        {
            throw new InvalidOperationException($"The example release (examples/summer-week-1) no longer holds '{from}' exactly once; demo mode derives its live release from it.");
        }
        return string.Concat(text.AsSpan(0, at), to, text.AsSpan(at + from.Length));
    }
}
