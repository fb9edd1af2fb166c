using Showrunner.Core.Rules.Syntax;

namespace Showrunner.Core.Tests.Rules;

[Trait("Category", "Unit")]
public sealed class ParserTests
{
    private static (BodySyntax Body, List<Diagnostic> Diagnostics) Parse(string text, string file = "test.hcl")
    {
        var diagnostics = new List<Diagnostic>();
        var source = new SourceText(file, text);
        var body = Parser.ParseFile(source, new DiagnosticBag(source, diagnostics));
        return (body, diagnostics);
    }

    private static ExpressionSyntax Expr(string text)
    {
        var diagnostics = new List<Diagnostic>();
        var source = new SourceText("expr", text);
        var expression = Parser.ParseExpression(source, new DiagnosticBag(source, diagnostics));
        Assert.Empty(diagnostics);
        return expression;
    }

    [Fact]
    public void The_issue_example_parses_without_diagnostics_into_the_expected_blocks()
    {
        string text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "summer-week-1", "release.hcl"));
        var (body, diagnostics) = Parse(text, "release.hcl");
        Assert.Empty(diagnostics);
        Assert.Equal(["release", "currency", "item", "action", "action", "safety_bounds", "config", "event"], body.Blocks.Select(b => b.Type));
        var @event = body.Blocks.Last();
        Assert.Equal("crystal_caves_hunt", Assert.Single(@event.Labels).Value);
        Assert.Equal(["title"], @event.Body.Attributes.Select(a => a.Name));
        Assert.Equal(["schedule", "audience", "objective", "objective", "tier", "tier", "leaderboard", "community_goal"], @event.Body.Blocks.Select(b => b.Type));
        var treasure = @event.Body.Blocks.ElementAt(3);
        var points = Assert.IsType<BinarySyntax>(treasure.Body.Attributes.Single(a => a.Name == "points").Value);
        Assert.Equal(TokenKind.Star, points.Operator);
        Assert.Equal("action.chest_tier", Assert.IsType<TraversalSyntax>(points.Left).Path);
        var prizes = @event.Body.Blocks.Single(b => b.Type == "leaderboard").Body.Blocks.ToList();
        Assert.Equal(["1", "2-10", "11-100"], prizes.Select(p => p.Labels[0].Value));
        var reward = Assert.IsType<ObjectSyntax>(prizes[0].Body.Attributes.Single().Value);
        Assert.Equal(1000L, Assert.IsType<LiteralSyntax>(Assert.Single(reward.Entries).Value).Value);
        // Positions are exact: the event block starts on its line, column 1.
        Assert.Equal(@event.Span.Line, text.Split('\n').ToList().FindIndex(l => l.StartsWith("event ", StringComparison.Ordinal)) + 1);
        Assert.Equal(1, @event.Span.Column);
    }

    [Fact]
    public void Operators_bind_by_precedence_and_associate_left()
    {
        var e = Assert.IsType<BinarySyntax>(Expr("a || b && c == 1 + 2 * 3"));
        Assert.Equal(TokenKind.OrOr, e.Operator);
        var and = Assert.IsType<BinarySyntax>(e.Right);
        Assert.Equal(TokenKind.AndAnd, and.Operator);
        var eq = Assert.IsType<BinarySyntax>(and.Right);
        var sum = Assert.IsType<BinarySyntax>(eq.Right);
        Assert.Equal(TokenKind.Plus, sum.Operator);
        Assert.Equal(TokenKind.Star, Assert.IsType<BinarySyntax>(sum.Right).Operator);
        var minus = Assert.IsType<BinarySyntax>(Expr("10 - 3 - 2"));
        Assert.Equal(TokenKind.Minus, Assert.IsType<BinarySyntax>(minus.Left).Operator);
    }

    [Fact]
    public void In_conditional_calls_unary_and_grouping_parse()
    {
        var @in = Assert.IsType<InSyntax>(Expr("player.region in [\"eu\", \"na\",]"));
        Assert.Equal(2, Assert.IsType<ListSyntax>(@in.List).Items.Count);
        var conditional = Assert.IsType<ConditionalSyntax>(Expr("x > 3 ? min(x, 10) : -1"));
        var call = Assert.IsType<CallSyntax>(conditional.WhenTrue);
        Assert.Equal("min", call.Function);
        Assert.Equal(2, call.Arguments.Count);
        Assert.Equal(TokenKind.Minus, Assert.IsType<UnarySyntax>(conditional.WhenFalse).Operator);
        var grouped = Assert.IsType<BinarySyntax>(Expr("(1 + 2) * 3"));
        Assert.Equal(TokenKind.Star, grouped.Operator);
        Assert.IsType<UnarySyntax>(Expr("!(a && b)"));
    }

    [Fact]
    public void Literals_have_their_types()
    {
        Assert.Equal(42L, Assert.IsType<LiteralSyntax>(Expr("42")).Value);
        Assert.Equal(2.50m, Assert.IsType<LiteralSyntax>(Expr("2.50")).Value);
        Assert.Equal("a\"b\n\u00e9${x}", Assert.IsType<LiteralSyntax>(Expr("\"a\\\"b\\n\\u00e9$${x}\"")).Value);
        Assert.Equal(true, Assert.IsType<LiteralSyntax>(Expr("true")).Value);
        Assert.Equal(LiteralKind.Null, Assert.IsType<LiteralSyntax>(Expr("null")).Kind);
    }

    [Fact]
    public void Objects_and_lists_span_lines_and_accept_both_separators()
    {
        var (body, diagnostics) = Parse("reward = {\n  gems = 200,\n  crystal_blade = 1\n  \"quoted key\": 3\n}\nzones = [\n  \"a\",\n  \"b\"\n]\n");
        Assert.Empty(diagnostics);
        var reward = Assert.IsType<ObjectSyntax>(body.Attributes.First().Value);
        Assert.Equal(["gems", "crystal_blade", "quoted key"], reward.Entries.Select(e => e.Key));
        Assert.Equal(2, Assert.IsType<ListSyntax>(body.Attributes.Last().Value).Items.Count);
    }

    [Fact]
    public void Comments_of_all_three_kinds_are_ignored()
    {
        var (body, diagnostics) = Parse("# one\na = 1 // two\n/* three\n spans */ b = 2\nc = /* inline */ 3\n");
        Assert.Empty(diagnostics);
        Assert.Equal(["a", "b", "c"], body.Attributes.Select(a => a.Name));
    }

    [Theory]
    [InlineData("a = \"open", "syntax.unterminated_string", 1, 5)]
    [InlineData("a = \"bad \\q escape\"", "syntax.invalid_escape", 1, 10)]
    [InlineData("a = \"${var}\"", "syntax.template_not_supported", 1, 6)]
    [InlineData("a = 1\n/* never closed", "syntax.unterminated_comment", 2, 1)]
    [InlineData("a = 1 @ 2", "syntax.invalid_character", 1, 7)]
    [InlineData("a = 99999999999999999999", "syntax.number_too_large", 1, 5)]
    [InlineData("a = 1 2", "syntax.unexpected_token", 1, 7)]
    [InlineData("block {\n  a = 1\n", "syntax.unclosed_block", 1, 7)]
    [InlineData("a = ", "syntax.unexpected_token", 1, 5)]
    [InlineData("= 3", "syntax.unexpected_token", 1, 1)]
    [InlineData("block \"x\" y", "syntax.unexpected_token", 1, 12)]
    [InlineData("}", "syntax.unexpected_token", 1, 1)]
    [InlineData("a = \"ends in a backslash\\", "syntax.unterminated_string", 1, 5)]
    public void Each_syntax_error_has_a_code_and_an_exact_position(string text, string code, int line, int column)
    {
        var (_, diagnostics) = Parse(text);
        var diagnostic = diagnostics.First();
        Assert.Equal(code, diagnostic.Code);
        Assert.Equal((line, column), (diagnostic.Span.Line, diagnostic.Span.Column));
        Assert.Contains("^", diagnostic.Snippet, StringComparison.Ordinal);
        Assert.StartsWith($"test.hcl:{line}:{column}: error {code}: ", diagnostic.Format(), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_error_is_reported_not_just_the_first()
    {
        var (body, diagnostics) = Parse("a = 1 2\nb = \"ok\"\nc = @\nblock \"x\" {\n  d = (1 +\n}\ne = 5\n");
        Assert.True(diagnostics.Count >= 3, string.Join("\n", diagnostics.Select(d => d.Format())));
        Assert.Equal([1, 3, 6], diagnostics.Select(d => d.Span.Line).Distinct().Order());
        Assert.Contains(body.Attributes, a => a.Name == "b");
        Assert.Contains(body.Attributes, a => a.Name == "e");
    }

    [Fact]
    public void Nesting_beyond_the_limit_is_an_error_not_a_crash()
    {
        string deepExpression = "a = " + new string('(', 10_000) + "1" + new string(')', 10_000);
        Assert.Contains(Parse(deepExpression).Diagnostics, d => d.Code == "syntax.too_deep");
        string deepBlocks = string.Concat(Enumerable.Repeat("b {\n", 5_000)) + string.Concat(Enumerable.Repeat("}\n", 5_000));
        Assert.Contains(Parse(deepBlocks).Diagnostics, d => d.Code == "syntax.too_deep");
        string deepNot = "a = " + new string('!', 10_000) + "x";
        Assert.Contains(Parse(deepNot).Diagnostics, d => d.Code == "syntax.too_deep");
    }

    [Fact]
    public void The_snippet_shows_the_line_and_a_caret_under_the_culprit()
    {
        var (_, diagnostics) = Parse("ok = 1\nbad = 1 @ 2\n");
        Assert.Equal("  | bad = 1 @ 2\n  |         ^", diagnostics.Single().Snippet);
    }
}
