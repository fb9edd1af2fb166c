using Showrunner.Core.Rules.Binding;
using Showrunner.Core.Rules.Evaluation;
using Showrunner.Core.Rules.Syntax;

namespace Showrunner.Core.Tests.Rules;

/// <summary>Binding (static types) and compiled evaluation of the expression language.</summary>
[Trait("Category", "Unit")]
public sealed class ExpressionTests
{
    private static readonly RecordSchema Loot = new("action \"loot.open\"",
    [
        new FieldSchema("chest_tier", RuleType.Int, 0, true, null),
        new FieldSchema("zone", RuleType.String, 1, true, null),
        new FieldSchema("multiplier", RuleType.Decimal, 2, false, 1.0m),
        new FieldSchema("boosted", RuleType.Bool, 3, false, false),
    ]);

    private static readonly RecordSchema Player = new("player attributes",
    [
        new FieldSchema("level", RuleType.Int, 0, false, 0L),
        new FieldSchema("region", RuleType.String, 1, false, ""),
    ]);

    private static readonly BindingScope ObjectiveScope = new(Loot, Player, "an objective");
    private static readonly BindingScope AudienceScope = new(null, Player, "an audience");

    private static (BoundExpression Bound, List<Diagnostic> Diagnostics) Bind(string text, BindingScope? scope = null)
    {
        var diagnostics = new List<Diagnostic>();
        var source = new SourceText("expr.hcl", text);
        var bag = new DiagnosticBag(source, diagnostics);
        var syntax = Parser.ParseExpression(source, bag);
        var bound = new ExpressionBinder(scope ?? ObjectiveScope, bag).Bind(syntax);
        return (bound, diagnostics);
    }

    private static EvaluationInput Input(long tier = 4, string zone = "crystal_caves", decimal multiplier = 1.5m, bool boosted = false, long level = 12, string region = "eu") =>
        new([tier, zone, multiplier, boosted], [level, region]);

    private static T Evaluate<T>(string text, EvaluationInput? input = null)
    {
        var (bound, diagnostics) = Bind(text);
        Assert.Empty(diagnostics);
        var compiled = ExpressionCompiler.Compile<T>(bound, text);
        Assert.True(compiled.TryEvaluate(input ?? Input(), out T value), $"{text} failed to evaluate");
        return value;
    }

    [Theory]
    [InlineData("action.chest_tier >= 3 && action.zone == \"crystal_caves\"", true)]
    [InlineData("action.chest_tier >= 5 || !action.boosted", true)]
    [InlineData("player.level >= 10 && player.region in [\"eu\", \"na\"]", true)]
    [InlineData("player.region in [\"na\", \"apac\"]", false)]
    [InlineData("action.chest_tier in [1, 2.5, 4]", true)]
    [InlineData("action.multiplier > 1", true)]
    [InlineData("action.chest_tier != 4", false)]
    public void Conditions_evaluate(string text, bool expected) => Assert.Equal(expected, Evaluate<bool>(text));

    [Theory]
    [InlineData("action.chest_tier * 2", 8L)]
    [InlineData("7 / 2", 3L)]
    [InlineData("-7 / 2", -3L)]
    [InlineData("7 % 3", 1L)]
    [InlineData("action.chest_tier > 3 ? 10 : 1", 10L)]
    [InlineData("min(action.chest_tier, 3, 9)", 3L)]
    [InlineData("max(1, action.chest_tier)", 4L)]
    [InlineData("clamp(action.chest_tier * 100, 0, 250)", 250L)]
    [InlineData("clamp(5, 10, 0)", 0L)]
    [InlineData("1 + 2 * 3 - -4", 11L)]
    public void Integer_amounts_evaluate(string text, long expected) => Assert.Equal(expected, Evaluate<long>(text));

    [Fact]
    public void Ints_widen_to_decimal_where_they_meet_one()
    {
        Assert.Equal(6.0m, Evaluate<decimal>("action.chest_tier * action.multiplier"));
        Assert.Equal(3.5m, Evaluate<decimal>("7 / 2.0"));
        Assert.Equal(2.5m, Evaluate<decimal>("max(2, 2.5)"));
        Assert.Equal(RuleType.Decimal, Bind("true ? 1 : 2.5").Bound.Type);
    }

    [Theory]
    [InlineData("9223372036854775807 + action.chest_tier")]
    [InlineData("action.chest_tier * 9223372036854775807")]
    [InlineData("-(action.chest_tier - action.chest_tier - 9223372036854775807 - 1)")]
    [InlineData("action.chest_tier / (action.chest_tier - 4)")]
    [InlineData("action.chest_tier % 0")]
    public void Overflow_and_division_by_zero_fail_the_evaluation_instead_of_wrapping(string text)
    {
        var (bound, diagnostics) = Bind(text);
        Assert.Empty(diagnostics);
        var compiled = ExpressionCompiler.Compile<long>(bound, text);
        Assert.False(compiled.TryEvaluate(Input(), out _));
    }

    [Theory]
    [InlineData("action.chest_tier && true", "type.mismatch")]
    [InlineData("action.zone > 3", "type.mismatch")]
    [InlineData("action.zone == 3", "type.mismatch")]
    [InlineData("!action.chest_tier", "type.mismatch")]
    [InlineData("-action.zone", "type.mismatch")]
    [InlineData("action.zone + \"x\"", "type.mismatch")]
    [InlineData("true ? 1 : \"one\"", "type.mismatch")]
    [InlineData("action.zone in [\"a\", 3]", "type.mismatch")]
    [InlineData("action.nope > 1", "name.unknown_field")]
    [InlineData("actor.level > 1", "name.unknown")]
    [InlineData("action.a.b > 1", "name.unknown")]
    [InlineData("floor(1)", "call.unknown_function")]
    [InlineData("min(1)", "call.argument_count")]
    [InlineData("clamp(1, 2)", "call.argument_count")]
    [InlineData("min(action.zone, 1)", "type.mismatch")]
    [InlineData("action.zone in action.zone", "expression.in_needs_list")]
    [InlineData("[1, 2]", "expression.list_not_allowed")]
    [InlineData("{ a = 1 }", "expression.object_not_allowed")]
    [InlineData("null", "expression.null_not_allowed")]
    public void Type_errors_have_codes(string text, string code)
    {
        var (bound, diagnostics) = Bind(text);
        Assert.Equal(RuleType.Error, bound.Type);
        Assert.Equal(code, Assert.Single(diagnostics).Code);
    }

    [Fact]
    public void An_audience_cannot_read_the_action()
    {
        var (_, diagnostics) = Bind("action.chest_tier > 1", AudienceScope);
        var diagnostic = Assert.Single(diagnostics);
        Assert.Equal("name.not_in_scope", diagnostic.Code);
        Assert.Contains("an audience", diagnostic.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void One_error_is_reported_once_not_for_every_enclosing_expression()
    {
        var (_, diagnostics) = Bind("(action.nope + 1) * 2 > 3 && true");
        Assert.Equal("name.unknown_field", Assert.Single(diagnostics).Code);
    }

    [Fact]
    public void BindAs_requires_the_expected_type_and_widens_ints_to_decimal()
    {
        var diagnostics = new List<Diagnostic>();
        var source = new SourceText("expr.hcl", "action.chest_tier * 2");
        var bag = new DiagnosticBag(source, diagnostics);
        var binder = new ExpressionBinder(ObjectiveScope, bag);
        var syntax = Parser.ParseExpression(source, bag);
        Assert.Equal(RuleType.Decimal, binder.BindAs(syntax, RuleType.Decimal, "points").Type);
        Assert.Equal(RuleType.Error, binder.BindAs(syntax, RuleType.Bool, "A condition").Type);
        Assert.Equal("A condition must be a bool, but this is an int.", Assert.Single(diagnostics).Message);
    }

    [Fact]
    public void The_value_tested_by_in_is_evaluated_once()
    {
        // A throwing left side would surface once; a repeated one would be evaluated per item.
        Assert.True(Evaluate<bool>("action.chest_tier * 2 in [1, 2, 8]"));
        var (bound, _) = Bind("9223372036854775807 * action.chest_tier in [1, 2]");
        Assert.False(ExpressionCompiler.Compile<bool>(bound, "x").TryEvaluate(Input(), out _));
    }
}
