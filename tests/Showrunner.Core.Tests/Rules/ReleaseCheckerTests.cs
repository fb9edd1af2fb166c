using Showrunner.Core.Rules.Binding;
using Showrunner.Core.Rules.Model;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Testing;

namespace Showrunner.Core.Tests.Rules;

[Trait("Category", "Unit")]
public sealed class ReleaseCheckerTests
{
    private static string Example => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "summer-week-1", "release.hcl"));

    private static (ReleaseDefinition? Release, List<Diagnostic> Diagnostics) Check(params (string File, string Text)[] files) =>
        ReleaseChecker.Check(files.Select(f => new SourceText(f.File, f.Text)).ToList());

    private static readonly string Header = ReleaseFixtures.Source("loot-catalog-without-events");

    private static string WithEvent(string eventBody) => Header + "\nevent \"e\" {\n" + eventBody + "\n}\n";

    private const string MinimalEvent = """
          schedule {
            start    = "2025-07-24T16:00:00Z"
            duration = "7d"
          }
          objective "o" {
            on     = "loot.open"
            points = 1
          }
        """;

    [Fact]
    public void The_issue_example_checks_clean_into_the_expected_release()
    {
        var (release, diagnostics) = Check(("release.hcl", Example));
        Assert.Empty(diagnostics);
        Assert.NotNull(release);
        Assert.Equal("summer-week-1", release.Name);
        Assert.Equal("Crystal Caves treasure hunt", release.Description);
        Assert.Equal(["gems"], release.Currencies);
        Assert.Equal(["crystal_blade"], release.Items);
        Assert.Equal(["combat.kill", "loot.open"], release.Actions.Select(a => a.Type));
        Assert.Equal(100, release.Bounds.MaxPointsPerAction);
        Assert.Equal(5000, release.Bounds.MaxPerGrant["gems"]);
        var spawn = Assert.Single(release.Configs);
        Assert.Equal(12L, spawn.Values["base_rate"].Value);
        var hunt = Assert.Single(release.Events);
        Assert.Equal("crystal_caves_hunt", hunt.Id);
        Assert.Equal("Crystal Caves Treasure Hunt", hunt.Title);
        Assert.Equal(new DateTimeOffset(2025, 7, 24, 16, 0, 0, TimeSpan.Zero), hunt.Schedule.Start);
        Assert.Equal(TimeSpan.FromDays(7), hunt.Schedule.Duration);
        Assert.Equal(TimeSpan.FromHours(48), hunt.Schedule.Grace);
        Assert.Null(hunt.Schedule.Every);
        Assert.Equal(RuleType.Bool, hunt.Audience!.Type);
        Assert.Equal(["dragons", "treasure"], hunt.Objectives.Select(o => o.Name));
        Assert.Equal(60, hunt.Objectives[1].MaxPerHour);
        Assert.Equal([50L, 250L], hunt.Tiers.Select(t => t.At));
        Assert.Equal([new RewardLine("gems", 200), new RewardLine("crystal_blade", 1)], hunt.Tiers[1].Reward.Lines);
        Assert.Equal([(1, 1), (2, 10), (11, 100)], hunt.Prizes.Select(p => (p.FromRank, p.ToRank)));
        Assert.Equal(1_000_000, hunt.CommunityGoal!.Target);
    }

    [Theory]
    [InlineData("weekly-tournament", "arena_weekend")]
    [InlineData("daily-quest", "daily_dragons")]
    [InlineData("community-goal", "great_harvest")]
    [InlineData("casino-weekend", "high_roller_weekend")]
    public void Every_example_release_checks_clean(string directory, string eventId)
    {
        string text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", directory, "release.hcl"));
        var (release, diagnostics) = Check(("release.hcl", text));
        Assert.True(diagnostics.Count == 0, string.Join("\n", diagnostics.Select(d => d.Format())));
        Assert.Equal(eventId, Assert.Single(release!.Events).Id);
    }

    [Fact]
    public void The_examples_use_recurrence_community_goals_and_config_overrides()
    {
        string Read(string directory) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", directory, "release.hcl"));
        var weekly = Check(("r.hcl", Read("weekly-tournament"))).Release!.Events[0];
        Assert.Equal(TimeSpan.FromDays(7), weekly.Schedule.Every);
        Assert.Equal(4, weekly.Prizes.Count);
        Assert.Equal(10_000_000, Check(("r.hcl", Read("community-goal"))).Release!.Events[0].CommunityGoal!.Target);
        var casino = Check(("r.hcl", Read("casino-weekend"))).Release!.Events[0];
        var casinoOverride = Assert.Single(casino.ConfigOverrides);
        Assert.Equal(1.5m, casinoOverride.Values["bonus_multiplier"].Value);
        Assert.Equal(true, casinoOverride.Values["jackpot_enabled"].Value);
    }

    [Fact]
    public void Sources_may_be_split_over_files_in_any_order()
    {
        var (release, diagnostics) = Check(("b-events.hcl", "event \"e\" {\n" + MinimalEvent + "\n}\n"), ("a-catalog.hcl", Header));
        Assert.Empty(diagnostics);
        Assert.Single(release!.Events);
    }

    [Fact]
    public void Player_attributes_are_built_in_and_a_release_can_add_its_own()
    {
        string source = Header + """

            action "player.profile" {
              vip = bool
            }
            event "e" {
              audience { when = player.level > 3 && player.vip }
            """ + "\n" + MinimalEvent + "\n}\n";
        var (release, diagnostics) = Check(("r.hcl", source));
        Assert.Empty(diagnostics);
        var profile = release!.Actions.Single(a => a.Type == "player.profile").Schema;
        Assert.Equal(["level", "region", "country", "platform", "language", "app_version", "vip"], profile.Fields.Select(f => f.Name));
        Assert.False(profile.Find("vip")!.Required);
    }

    [Theory]
    [InlineData("schedule {\n start = \"2025-07-24T16:00:00Z\"\n duration = \"7d\"\n}\nobjective \"o\" {\n on = \"loot.open\"\n points = 1\n}\nbogus {}", "decl.unknown_block")]
    [InlineData("schedule {\n start = \"2025-07-24T16:00:00Z\"\n}\nobjective \"o\" {\n on = \"loot.open\"\n points = 1\n}", "schedule.missing_end")]
    [InlineData("schedule {\n start = \"2025-07-24T16:00:00Z\"\n end = \"2025-07-24T15:00:00Z\"\n}\nobjective \"o\" {\n on = \"loot.open\"\n points = 1\n}", "schedule.end_before_start")]
    [InlineData("schedule {\n start = \"2025-07-24T16:00:00Z\"\n end = \"2025-07-25T16:00:00Z\"\n duration = \"1d\"\n}\nobjective \"o\" {\n on = \"loot.open\"\n points = 1\n}", "schedule.end_and_duration")]
    [InlineData("schedule {\n start = \"2025-07-24T16:00:00Z\"\n duration = \"7d\"\n every = \"1d\"\n}\nobjective \"o\" {\n on = \"loot.open\"\n points = 1\n}", "schedule.overlapping_runs")]
    [InlineData("schedule {\n start = \"tomorrow\"\n duration = \"7d\"\n}\nobjective \"o\" {\n on = \"loot.open\"\n points = 1\n}", "value.invalid_time")]
    [InlineData("schedule {\n start = \"2025-07-24T16:00:00Z\"\n duration = \"7 days\"\n}\nobjective \"o\" {\n on = \"loot.open\"\n points = 1\n}", "value.invalid_duration")]
    [InlineData("schedule {\n start = \"2025-07-24T16:00:00Z\"\n duration = \"7d\"\n}", "event.no_objective")]
    [InlineData("objective \"o\" {\n on = \"loot.open\"\n points = 1\n}", "event.missing_schedule")]
    public void Event_structure_errors_have_codes(string eventBody, string code)
    {
        var (release, diagnostics) = Check(("r.hcl", WithEvent(eventBody)));
        Assert.Null(release);
        Assert.Contains(diagnostics, d => d.Code == code);
    }

    [Theory]
    [InlineData("objective \"x\" {\n on = \"combat.kill\"\n points = 1\n}", "objective.unknown_action")]
    [InlineData("objective \"x\" {\n on = \"loot.open\"\n points = action.zone\n}", "type.mismatch")]
    [InlineData("objective \"x\" {\n on = \"loot.open\"\n when = action.chest_tier\n points = 1\n}", "type.mismatch")]
    [InlineData("objective \"x\" {\n on = \"loot.open\"\n points = action.depth\n}", "name.unknown_field")]
    [InlineData("objective \"x\" {\n on = \"loot.open\"\n points = 1\n max_per_hour = 0\n}", "decl.wrong_type")]
    [InlineData("objective \"x\" {\n on = \"loot.open\"\n points = 1\n color = 3\n}", "decl.unknown_attribute")]
    [InlineData("objective \"x\" {\n on = \"loot.open\"\n}", "decl.missing_attribute")]
    [InlineData("objective \"o\" {\n on = \"loot.open\"\n points = 2\n}", "decl.duplicate")]
    [InlineData("audience {\n when = action.chest_tier > 1\n}", "name.not_in_scope")]
    [InlineData("tier \"a\" {\n at = 10\n reward = { gems = 5 }\n}\ntier \"b\" {\n at = 10\n reward = { gems = 5 }\n}", "tier.not_increasing")]
    [InlineData("tier \"a\" {\n at = 10\n reward = { diamonds = 5 }\n}", "reward.unknown")]
    [InlineData("tier \"a\" {\n at = 10\n reward = { gems = 0 }\n}", "decl.wrong_type")]
    [InlineData("tier \"a\" {\n at = 10\n reward = 5\n}", "reward.invalid")]
    [InlineData("leaderboard {\n prize \"1\" { reward = { gems = 5 } }\n prize \"1-3\" { reward = { gems = 1 } }\n}", "leaderboard.overlapping_ranges")]
    [InlineData("leaderboard {\n prize \"0\" { reward = { gems = 5 } }\n}", "leaderboard.invalid_range")]
    [InlineData("leaderboard {\n prize \"10-2\" { reward = { gems = 5 } }\n}", "leaderboard.invalid_range")]
    [InlineData("leaderboard {\n}", "leaderboard.no_prizes")]
    [InlineData("community_goal {\n target = 100\n}", "decl.missing_attribute")]
    [InlineData("config_override \"nope\" {\n a = 1\n}", "config.unknown")]
    public void Event_part_errors_have_codes(string part, string code)
    {
        var (release, diagnostics) = Check(("r.hcl", WithEvent(MinimalEvent + "\n" + part)));
        Assert.Null(release);
        Assert.Contains(diagnostics, d => d.Code == code);
    }

    [Theory]
    [InlineData("currency \"gems\" {}", "decl.duplicate")]
    [InlineData("currency \"Gems!\" {}", "decl.invalid_name")]
    [InlineData("action \"Loot\" {}", "action.invalid_type")]
    [InlineData("action \"x.y\" {\n n = integer\n}", "action.invalid_field_type")]
    [InlineData("action \"x.y\" {\n n = optional(int, \"zero\")\n}", "type.mismatch")]
    [InlineData("action \"player.profile\" {\n level = string\n}", "action.builtin_conflict")]
    [InlineData("release \"again\" {}", "decl.duplicate")]
    [InlineData("config \"c\" {\n a = 1 + 1\n}", "decl.not_a_literal")]
    [InlineData("dashboard {}", "decl.unknown_block")]
    [InlineData("stray = 1", "decl.unexpected_attribute")]
    [InlineData("safety_bounds {\n max_points_per_action = -1\n}", "decl.wrong_type")]
    public void Declaration_errors_have_codes(string extra, string code)
    {
        var (release, diagnostics) = Check(("r.hcl", Header + "\n" + extra + "\n"));
        Assert.Null(release);
        Assert.Contains(diagnostics, d => d.Code == code);
    }

    [Fact]
    public void Safety_bounds_refuse_constant_points_and_rewards_above_them()
    {
        string source = Header.Replace("item \"sword\" {}", "item \"sword\" {}\nsafety_bounds {\n max_points_per_action = 10\n max_currency_per_grant = { gems = 100 }\n}", StringComparison.Ordinal)
            + "\nevent \"e\" {\n" + MinimalEvent.Replace("points = 1", "points = 11", StringComparison.Ordinal)
            + "\ntier \"t\" {\n at = 5\n reward = { gems = 101 }\n}\n}\n";
        var (release, diagnostics) = Check(("r.hcl", source));
        Assert.Null(release);
        Assert.Equal(2, diagnostics.Count(d => d.Code == "bounds.exceeded"));
    }

    [Fact]
    public void A_missing_release_block_is_reported()
    {
        var (release, diagnostics) = Check(("r.hcl", "currency \"gems\" {}\n"));
        Assert.Null(release);
        Assert.Contains(diagnostics, d => d.Code == "decl.missing_release");
    }

    [Fact]
    public void Every_problem_in_every_file_is_reported_sorted_by_position()
    {
        var (_, diagnostics) = Check(
            ("b.hcl", "bogus {}\nevent \"e\" {\n objective \"o\" {\n on = \"nope\"\n points = 1\n }\n}\n"),
            ("a.hcl", Header + "\ncurrency \"gems\" {}\n"));
        // a.hcl: the duplicate currency. b.hcl: the unknown block, the unknown action, and so no
        // objective and no schedule for the event.
        Assert.Equal(["decl.duplicate", "decl.unknown_block", "event.missing_schedule", "event.no_objective", "objective.unknown_action"],
            diagnostics.Select(d => d.Code).Order(StringComparer.Ordinal));
        Assert.Equal("a.hcl", diagnostics[0].Span.File);
        Assert.Equal(diagnostics.OrderBy(d => d.Span.File, StringComparer.Ordinal).ThenBy(d => d.Span.Line).ThenBy(d => d.Span.Column), diagnostics);
    }

    [Theory]
    [InlineData("48h", 48 * 3600)]
    [InlineData("7d", 7 * 86400)]
    [InlineData("1h30m", 5400)]
    [InlineData("90s", 90)]
    [InlineData("0s", 0)]
    public void Durations_parse(string text, long seconds)
    {
        Assert.True(ReleaseChecker.TryParseDuration(text, out var duration));
        Assert.Equal(TimeSpan.FromSeconds(seconds), duration);
    }

    [Theory]
    [InlineData("")]
    [InlineData("h")]
    [InlineData("48")]
    [InlineData("48H")]
    [InlineData("2w")]
    [InlineData("1.5h")]
    [InlineData("-1h")]
    [InlineData("9999999999d")]
    [InlineData("4000d")]
    public void Other_durations_are_refused(string text) => Assert.False(ReleaseChecker.TryParseDuration(text, out _));
}
