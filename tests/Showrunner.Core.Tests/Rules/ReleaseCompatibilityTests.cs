using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;

namespace Showrunner.Core.Tests.Rules;

[Trait("Category", "Unit")]
public sealed class ReleaseCompatibilityTests
{
    // The example event runs 2025-07-24T16:00Z to 2025-07-31T16:00Z with 48 h of grace.
    private static readonly DateTimeOffset During = new(2025, 7, 27, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset InGrace = new(2025, 8, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Before = new(2025, 7, 20, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset After = new(2025, 8, 3, 0, 0, 0, TimeSpan.Zero);

    private static string Example => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "summer-week-1", "release.hcl"));

    private static ReleaseBundle Build(string text)
    {
        var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("r.hcl", text)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        return bundle;
    }

    private static List<string> Problems(string candidate, DateTimeOffset now) =>
        ReleaseCompatibility.Check(Build(Example), Build(candidate), now).Select(p => p.Code).ToList();

    private static string MorePoints => Example.Replace("points = 5", "points = 50", StringComparison.Ordinal);

    [Fact]
    public void Changing_how_a_live_event_earns_is_refused_during_the_run_and_its_grace()
    {
        Assert.Equal(["compat.earnings_changed"], Problems(MorePoints, During));
        Assert.Equal(["compat.earnings_changed"], Problems(MorePoints, InGrace));
        Assert.Equal(["compat.earnings_changed"], Problems(Example.Replace("at     = 250", "at     = 300", StringComparison.Ordinal), During));
        Assert.Equal(["compat.earnings_changed"], Problems(Example.Replace("gems = 1000", "gems = 900", StringComparison.Ordinal), During));
        Assert.Equal(["compat.earnings_changed"], Problems(Example.Replace("target = 1000000", "target = 2000000", StringComparison.Ordinal), During));
    }

    [Fact]
    public void The_same_change_is_free_before_the_start_and_after_the_grace()
    {
        Assert.Empty(Problems(MorePoints, Before));
        Assert.Empty(Problems(MorePoints, After));
    }

    [Fact]
    public void A_declared_migration_policy_allows_the_change()
    {
        string migrated = MorePoints.Replace("  title = \"Crystal Caves Treasure Hunt\"", "  title = \"Crystal Caves Treasure Hunt\"\n  migration = \"keep_earned\"", StringComparison.Ordinal);
        Assert.Empty(Problems(migrated, During));
    }

    [Fact]
    public void Changes_that_do_not_touch_earnings_are_allowed_while_live()
    {
        string retitled = Example.Replace("Crystal Caves Treasure Hunt\"\n  schedule", "Crystal Caves Hunt (extended)\"\n  schedule", StringComparison.Ordinal)
            .Replace("2025-07-31T16:00:00Z", "2025-08-01T16:00:00Z", StringComparison.Ordinal)
            .Replace("player.level >= 10", "player.level >= 8", StringComparison.Ordinal);
        Assert.NotEqual(Example, retitled);
        Assert.Empty(Problems(retitled, During));
    }

    [Fact]
    public void Removing_a_live_event_is_refused_unless_it_is_retired()
    {
        int start = Example.IndexOf("event \"crystal_caves_hunt\"", StringComparison.Ordinal);
        string removed = Example[..start];
        Assert.Equal(["compat.event_removed"], Problems(removed, During));
        Assert.Empty(Problems(removed + "retire \"crystal_caves_hunt\" {\n  reason = \"cancelled by live ops\"\n}\n", During));
        Assert.Empty(Problems(removed, After));
    }

    [Fact]
    public void Moving_the_start_of_a_live_event_is_refused()
    {
        Assert.Equal(["compat.start_changed"], Problems(Example.Replace("2025-07-24T16:00:00Z", "2025-07-25T16:00:00Z", StringComparison.Ordinal), During));
    }

    [Fact]
    public void An_unknown_migration_policy_and_retiring_a_defined_event_are_errors()
    {
        var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("r.hcl",
            Example.Replace("  title = \"Crystal Caves Treasure Hunt\"", "  title = \"x\"\n  migration = \"whatever\"", StringComparison.Ordinal)
            + "retire \"crystal_caves_hunt\" {}\n")]);
        Assert.Null(bundle);
        Assert.Contains(diagnostics, d => d.Code == "event.unknown_migration");
        Assert.Contains(diagnostics, d => d.Code == "decl.duplicate");
    }
}
