using Showrunner.Core.Rules.Model;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Testing;

namespace Showrunner.Core.Tests.LiveEvents;

/// <summary>Events checked from source, so tests use exactly what the compiler produces.</summary>
internal static class LiveEventFixtures
{
    public static readonly DateTimeOffset Start = new(2025, 7, 24, 16, 0, 0, TimeSpan.Zero);

    /// <summary>A release with one event around <paramref name="eventBody"/> (objectives, tiers, ...), and the bounds given.</summary>
    public static ReleaseDefinition Release(string schedule, string eventBody, string bounds = "")
    {
        string text = ReleaseFixtures.Source("score-event-skeleton", ("bounds", bounds), ("schedule", schedule), ("event_body", eventBody));
        var (release, diagnostics) = ReleaseChecker.Check([new SourceText("release.hcl", text)]);
        Assert.True(diagnostics.Count == 0, string.Join("\n", diagnostics.Select(d => d.Format())) + "\n" + text);
        return release!;
    }

    public const string OneObjective = """
        objective "a" {
          on     = "score"
          points = action.a
        }
        """;

    /// <summary>One-off: active 16:00–18:00, grace until 19:00.</summary>
    public static EventDefinition OneOff() =>
        Release("""
            start    = "2025-07-24T16:00:00Z"
            duration = "2h"
            grace    = "1h"
            """, OneObjective).Events[0];

    /// <summary>Daily: run i active 16:00–18:00 on day i, grace until 19:00.</summary>
    public static EventDefinition Daily() =>
        Release("""
            start    = "2025-07-24T16:00:00Z"
            duration = "2h"
            every    = "1d"
            grace    = "1h"
            """, OneObjective).Events[0];

    public static DateTimeOffset At(double hoursAfterStart) => Start + TimeSpan.FromMinutes(hoursAfterStart * 60);
}
