using Showrunner.Core.Rules.Binding;
using Showrunner.Core.Rules.Evaluation;
using Showrunner.Core.Rules.Model;
using Showrunner.Core.Rules.Releases;
using Showrunner.Core.Rules.Syntax;

namespace Showrunner.Core.Rollouts;

/// <summary>
/// A rollout's audience: a condition in the event language over <c>player.*</c> (like an event's
/// <c>audience { when = … }</c>), checked against the candidate's player attributes. A player joins
/// the candidate's cohort when their bucket is inside the step's percentage <em>and</em> the audience
/// holds them (evaluated on their profile before the action); once assigned they stay.
/// </summary>
public sealed class RolloutAudience
{
    public const int MaxLength = 2_000;

    private readonly CompiledExpression<bool> _condition;
    private readonly ActionDecoder _decoder;

    private RolloutAudience(string text, CompiledExpression<bool> condition, ActionDecoder decoder)
    {
        Text = text;
        _condition = condition;
        _decoder = decoder;
    }

    public string Text { get; }

    /// <summary>Compiles <paramref name="text"/> against <paramref name="release"/>'s player attributes; on errors, returns null and the diagnostics.</summary>
    public static (RolloutAudience? Audience, IReadOnlyList<Diagnostic> Diagnostics) Compile(LoadedRelease release, string text)
    {
        ArgumentNullException.ThrowIfNull(release);
        ArgumentNullException.ThrowIfNull(text);
        var source = new SourceText("audience", text);
        var diagnostics = new List<Diagnostic>();
        var bag = new DiagnosticBag(source, diagnostics);
        if (text.Length > MaxLength)
        {
            bag.Error("audience.too_long", $"A rollout audience is at most {MaxLength} characters.", source.Span(0, 0));
            return (null, diagnostics);
        }
        var syntax = Parser.ParseExpression(source, bag);
        if (bag.HasErrors)
        {
            return (null, diagnostics);
        }
        var schema = release.Bundle.Release.Actions.FirstOrDefault(a => a.Type == ReleaseChecker.PlayerProfileAction)?.Schema
            ?? ReleaseChecker.DefaultPlayerSchema();
        var bound = new ExpressionBinder(new BindingScope(null, schema, "a rollout audience"), bag).BindAs(syntax, RuleType.Bool, "A rollout audience");
        if (bag.HasErrors)
        {
            return (null, diagnostics);
        }
        return (new RolloutAudience(text, ExpressionCompiler.Compile<bool>(bound, "rollout audience"), release.PlayerDecoder), diagnostics);
    }

    /// <summary>Whether a player with this merged profile (JSON; null: none sent yet) is in the audience. A condition that fails to evaluate holds nobody.</summary>
    public bool Contains(byte[]? profile)
    {
        var attributes = _decoder.DecodeLenient(profile ?? "{}"u8);
        return _condition.TryEvaluate(new EvaluationInput([], attributes.ToBoxed()), out bool member) && member;
    }
}
