using System.Globalization;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Server.Hosting;

namespace Showrunner.Server.Demo;

/// <summary>
/// The releases demo mode runs: the built-in example (<c>examples/summer-week-1</c>) with its one
/// event moved to run now — from the start of the current UTC day for seven days — and, for the
/// staged rollout, a tuned candidate of it that only changes the <c>spawn</c> config (so its gates
/// compare like with like and the rollout holds at its canary step until a person advances it).
/// </summary>
/// <remarks>
/// Both are derived from the example's text by exact substitutions; one that does not match
/// exactly once throws, so a change to the example cannot silently give a demo without a live event.
/// The same day gives the same release ids.
/// </remarks>
internal static class DemoRelease
{
    public const string Name = "summer-week-1-demo";
    public const string CandidateName = "summer-week-1-demo-tuned";
    public static readonly TimeSpan Duration = TimeSpan.FromDays(7);

    /// <summary>The demo's live release for the day of <paramref name="now"/>.</summary>
    public static ReleaseBundle Live(DateTimeOffset now) => Build(now, tuned: false);

    /// <summary>The rollout candidate: the same event, a tuned <c>spawn</c> config.</summary>
    public static ReleaseBundle Candidate(DateTimeOffset now) => Build(now, tuned: true);

    /// <summary>When the demo event starts: the start of the UTC day of <paramref name="now"/>.</summary>
    public static DateTimeOffset StartOf(DateTimeOffset now) => new(now.UtcDateTime.Date, TimeSpan.Zero);

    private static ReleaseBundle Build(DateTimeOffset now, bool tuned)
    {
        var start = StartOf(now);
        var end = start + Duration;
        string startText = start.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        string endText = end.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
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
                $"description = \"Crystal Caves treasure hunt (demo: examples/summer-week-1 moved to {startText} – {endText}{(tuned ? ", spawn tuned" : "")})\"");
            text = ReplaceOnce(text, "start = \"2025-07-24T16:00:00Z\"", $"start = \"{startText}\"");
            text = ReplaceOnce(text, "end   = \"2025-07-31T16:00:00Z\"", $"end   = \"{endText}\"");
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
