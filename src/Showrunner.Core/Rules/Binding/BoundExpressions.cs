using Showrunner.Core.Rules.Syntax;

namespace Showrunner.Core.Rules.Binding;

/// <summary>A type-checked expression, ready to compile.</summary>
public abstract record BoundExpression(RuleType Type, SourceSpan Span);

internal sealed record BoundLiteral(object Value, RuleType Type, SourceSpan Span) : BoundExpression(Type, Span);

internal enum FieldSource
{
    Action,
    Player,
}

internal sealed record BoundField(FieldSource Source, FieldSchema Field, SourceSpan Span) : BoundExpression(Field.Type, Span);

internal sealed record BoundUnary(TokenKind Operator, BoundExpression Operand, RuleType Type, SourceSpan Span) : BoundExpression(Type, Span);

internal sealed record BoundBinary(TokenKind Operator, BoundExpression Left, BoundExpression Right, RuleType Type, SourceSpan Span) : BoundExpression(Type, Span);

internal sealed record BoundIn(BoundExpression Value, IReadOnlyList<BoundExpression> Items, SourceSpan Span) : BoundExpression(RuleType.Bool, Span);

internal sealed record BoundConditional(BoundExpression Condition, BoundExpression WhenTrue, BoundExpression WhenFalse, RuleType Type, SourceSpan Span)
    : BoundExpression(Type, Span);

internal sealed record BoundCall(string Function, IReadOnlyList<BoundExpression> Arguments, RuleType Type, SourceSpan Span) : BoundExpression(Type, Span);

/// <summary>Converts an int operand to decimal where the two meet (<c>action.count * 1.5</c>).</summary>
internal sealed record BoundWiden(BoundExpression Operand, SourceSpan Span) : BoundExpression(RuleType.Decimal, Span);

/// <summary>Stands where binding failed; a diagnostic was reported and nothing else is said about it.</summary>
internal sealed record BoundError(SourceSpan Span) : BoundExpression(RuleType.Error, Span);
