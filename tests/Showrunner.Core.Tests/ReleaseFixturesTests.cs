using Showrunner.Core.Rules.Model;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Testing;

namespace Showrunner.Core.Tests;

/// <summary>
/// The shared release fixtures (tests/Shared/Releases) are what dozens of tests run against: each
/// folder is one release the checker accepts once its template is filled, and the template
/// language fills exactly what it is given — a missing or unused value fails instead of silently
/// testing another release.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ReleaseFixturesTests
{
    [Fact]
    public void Every_fixture_folder_holds_one_release_that_checks_clean_with_sample_values()
    {
        var folders = Directory.GetDirectories(ReleaseFixtures.Root).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.True(folders.Count >= 25, $"only {folders.Count} fixtures in {ReleaseFixtures.Root}");
        var problems = new List<string>();
        foreach (string name in folders!)
        {
            var files = Directory.GetFiles(Path.Combine(ReleaseFixtures.Root, name!), "*.hcl");
            if (files.Length != 1)
            {
                problems.Add($"{name}: {files.Length} .hcl files");
                continue;
            }
            string text = File.ReadAllText(files[0]);
            string source = ReleaseFixtures.Fill(name!, text, [.. SampleValues(text)]);
            var (release, diagnostics) = ReleaseChecker.Check([new SourceText(name + ".hcl", source)]);
            if (release is null)
            {
                problems.Add($"{name}: {string.Join("; ", diagnostics.Select(d => d.Format()))}");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Placeholders_products_and_sections_are_filled_and_the_last_line_break_dropped()
    {
        string text = "a = \"{{name}}\"\nb = {{3 * n}} {{n * 2}}\n{{#on}}c = 1\n{{/on}}{{#off}}d = 2\n{{/off}}end\n";
        string filled = ReleaseFixtures.Fill("t", text, ("name", "x"), ("n", 7), ("on", true), ("off", false));
        Assert.Equal("a = \"x\"\nb = 21 14\nc = 1\nend", filled);
    }

    [Fact]
    public void A_missing_value_an_unused_value_and_a_non_integer_product_are_refused()
    {
        Assert.Contains("no value for {{n}}", Assert.Throws<ArgumentException>(() => ReleaseFixtures.Fill("t", "{{n}}")).Message, StringComparison.Ordinal);
        Assert.Contains("no placeholder for typo", Assert.Throws<ArgumentException>(() => ReleaseFixtures.Fill("t", "{{n}}", ("n", 1), ("typo", 2))).Message, StringComparison.Ordinal);
        Assert.Contains("integer", Assert.Throws<ArgumentException>(() => ReleaseFixtures.Fill("t", "{{2 * n}}", ("n", "x"))).Message, StringComparison.Ordinal);
        Assert.Contains("bool", Assert.Throws<ArgumentException>(() => ReleaseFixtures.Fill("t", "{{#s}}x{{/s}}", ("s", 1))).Message, StringComparison.Ordinal);
        Assert.Contains("No release fixture", Assert.Throws<ArgumentException>(() => ReleaseFixtures.Source("no-such-release")).Message, StringComparison.Ordinal);
    }

    /// <summary>Values that make each template a valid release: the ones its tests use most.</summary>
    private static IEnumerable<(string Name, object Value)> SampleValues(string text)
    {
        var samples = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["gems"] = 10,
            ["reward_factor"] = 1,
            ["keep_earned"] = false,
            ["together"] = true,
            ["title"] = "Hunt",
            ["tag"] = "a",
            ["points"] = "1",
            ["start"] = "2026-11-22T00:00:00Z",
            ["schema"] = "int",
            ["objective"] = "kills",
            ["schedule"] = "start = \"2026-11-22T00:00:00Z\"\nduration = \"1d\"",
            ["event_body"] = "objective \"a\" {\n  on = \"score\"\n  points = action.a\n}",
            ["bounds"] = "",
            ["tiers"] = "",
            ["max_per_hour"] = "",
            ["sprint_extra"] = "",
            ["extra"] = "",
        };
        return samples.Where(s => text.Contains("{{" + s.Key + "}}", StringComparison.Ordinal)
                || text.Contains("{{#" + s.Key + "}}", StringComparison.Ordinal)
                || text.Contains("* " + s.Key + "}}", StringComparison.Ordinal)
                || text.Contains("{{" + s.Key + " *", StringComparison.Ordinal))
            .Select(s => (s.Key, s.Value));
    }
}
