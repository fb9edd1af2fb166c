using System.Security.Cryptography;
using System.Text;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;

namespace Showrunner.Core.Tests.Rules;

[Trait("Category", "Unit")]
public sealed class ReleaseBundleTests
{
    private static string Example(string directory = "summer-week-1") =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", directory, "release.hcl"));

    private static ReleaseBundle Build(params (string File, string Text)[] files)
    {
        var (bundle, diagnostics) = ReleaseBundle.Build(files.Select(f => new SourceText(f.File, f.Text)).ToList());
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        return bundle;
    }

    [Fact]
    public void The_id_is_the_sha256_of_the_canonical_bytes_and_is_stable()
    {
        var bundle = Build(("release.hcl", Example()));
        Assert.Matches("^[0-9a-f]{64}$", bundle.Id);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(bundle.CanonicalText))), bundle.Id);
        Assert.Equal(bundle.Id, Build(("other-name.hcl", Example())).Id);
    }

    [Fact]
    public void Whitespace_comments_attribute_order_and_file_order_do_not_change_the_id()
    {
        string original = Example();
        // The same release, written differently: comments, spacing, blocks moved across two files,
        // attributes reordered, an object's keys reordered, 5 written as a different-looking 5.
        string reformatted = original
            .Replace("  title = \"Crystal Caves Treasure Hunt\"", "  # shown to players\n  title     =    \"Crystal Caves Treasure Hunt\"   // same", StringComparison.Ordinal)
            .Replace("    on     = \"combat.kill\"\n    when   = action.target == \"dragon\" && action.zone == \"crystal_caves\"",
                     "    when = (action.target == \"dragon\") && (action.zone == \"crystal_caves\")\n    on = \"combat.kill\"", StringComparison.Ordinal)
            .Replace("reward = { gems = 200, crystal_blade = 1 }", "reward = {\n      crystal_blade = 1\n      gems = 200\n    }", StringComparison.Ordinal);
        Assert.NotEqual(original, reformatted);
        int split = reformatted.IndexOf("event \"crystal_caves_hunt\"", StringComparison.Ordinal);
        var a = Build(("release.hcl", original));
        var b = Build(("z-events.hcl", "/* events live here */\n" + reformatted[split..]), ("a-catalog.hcl", reformatted[..split]));
        Assert.Equal(a.CanonicalText, b.CanonicalText);
        Assert.Equal(a.Id, b.Id);
        Assert.Equal(a.MerkleRoot, b.MerkleRoot);
    }

    [Fact]
    public void A_change_of_meaning_changes_the_id_and_the_diff_names_exactly_what_changed()
    {
        var before = Build(("release.hcl", Example()));
        var after = Build(("release.hcl", Example().Replace("points = 5", "points = 6", StringComparison.Ordinal)
            .Replace("item \"crystal_blade\" {}", "item \"crystal_blade\" {}\nitem \"torch\" {}", StringComparison.Ordinal)
            .Replace("config \"spawn\"", "config \"spawner\"", StringComparison.Ordinal)));
        Assert.NotEqual(before.Id, after.Id);
        Assert.NotEqual(before.MerkleRoot, after.MerkleRoot);
        var diff = ReleaseBundle.Diff(before, after);
        Assert.Equal(["event \"crystal_caves_hunt\""], diff.Changed);
        Assert.Equal(["config \"spawner\"", "item \"torch\""], diff.Added);
        Assert.Equal(["config \"spawn\""], diff.Removed);
        Assert.True(ReleaseBundle.Diff(before, Build(("x.hcl", Example()))).IsEmpty);
    }

    [Theory]
    [InlineData("summer-week-1")]
    [InlineData("weekly-tournament")]
    [InlineData("daily-quest")]
    [InlineData("community-goal")]
    [InlineData("casino-weekend")]
    public void Canonical_text_loads_back_to_the_same_bytes_and_id(string directory)
    {
        var bundle = Build(("release.hcl", Example(directory)));
        var (loaded, diagnostics) = ReleaseBundle.Load(bundle.CanonicalText);
        Assert.Empty(diagnostics);
        Assert.Equal(bundle.Id, loaded!.Id);
        Assert.Equal(bundle.CanonicalText, loaded.CanonicalText);
    }

    [Fact]
    public void A_bundle_that_is_not_canonical_is_refused_on_load()
    {
        var (bundle, diagnostics) = ReleaseBundle.Load(Example());
        Assert.Null(bundle);
        Assert.Contains(diagnostics, d => d.Code == "bundle.not_canonical");
    }

    [Fact]
    public void Sources_with_errors_build_no_bundle()
    {
        var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("r.hcl", Example().Replace("points = 5", "points = \"five\"", StringComparison.Ordinal))]);
        Assert.Null(bundle);
        Assert.Contains(diagnostics, d => d.Code == "type.mismatch");
    }

    [Theory]
    [InlineData("x = 2.50", "x = 2.5")]
    [InlineData("x = 1.0", "x = 1.0")]
    [InlineData("x = -3", "x = -3")]
    [InlineData("x = (1 + 2) * 3", "x = (1 + 2) * 3")]
    [InlineData("x = 1 + (2 * 3)", "x = 1 + 2 * 3")]
    [InlineData("x = 10 - (3 - 2)", "x = 10 - (3 - 2)")]
    [InlineData("x = (10 - 3) - 2", "x = 10 - 3 - 2")]
    [InlineData("x = !(a && b)", "x = !(a && b)")]
    [InlineData("x = a ? (b ? 1 : 2) : c ? 3 : 4", "x = a ? (b ? 1 : 2) : c ? 3 : 4")]
    [InlineData("x = player.r in [\"a\",\"b\"]", "x = player.r in [\"a\", \"b\"]")]
    [InlineData("x = \"tab\\there \\\"q\\\" $${lit}\"", "x = \"tab\\there \\\"q\\\" $${lit}\"")]
    [InlineData("x = { b = 1, \"a key\" = 2 }", "x = { \"a key\" = 2, b = 1 }")]
    public void Expressions_print_in_one_canonical_form_that_reads_back_the_same(string source, string canonical)
    {
        var diagnostics = new List<Diagnostic>();
        var text = new SourceText("t.hcl", "b {\n" + source + "\n}\n");
        var block = Parser.ParseFile(text, new DiagnosticBag(text, diagnostics)).Blocks.Single();
        Assert.Empty(diagnostics);
        string printed = CanonicalPrinter.Block(block);
        Assert.Equal("b {\n  " + canonical + "\n}\n", printed);
        var again = new SourceText("t.hcl", printed);
        Assert.Equal(printed, CanonicalPrinter.Block(Parser.ParseFile(again, new DiagnosticBag(again, diagnostics)).Blocks.Single()));
        Assert.Empty(diagnostics);
    }

    [Fact]
    public void The_merkle_root_follows_rfc_6962()
    {
        static byte[] H(params byte[][] parts) => SHA256.HashData(parts.SelectMany(p => p).ToArray());
        byte[][] data = [[1], [2], [3]];
        var leaves = data.Select(d => H([0x00], d)).ToList();
        // Three leaves split at two: root = H(1 | H(1 | l0 | l1) | l2).
        byte[] expected = H([0x01], H([0x01], leaves[0], leaves[1]), leaves[2]);
        Assert.Equal(expected, ReleaseBundle.Root(leaves));
        Assert.Equal(leaves[0], ReleaseBundle.Root([leaves[0]]));
        Assert.Equal(SHA256.HashData([]), ReleaseBundle.Root([]));
        Assert.Equal(leaves[1], ReleaseBundle.LeafHash([2]));
    }
}
