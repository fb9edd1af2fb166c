using System.Linq.Expressions;
using System.Reflection;
using Showrunner.Core.Rules.Binding;
using Showrunner.Core.Rules.Syntax;

namespace Showrunner.Core.Rules.Evaluation;

/// <summary>
/// What a compiled expression reads: the fields of the action being evaluated and the player's
/// attributes, each already decoded into its schema slot (long, decimal, string or bool, boxed).
/// </summary>
public sealed class EvaluationInput(object?[] action, object?[] player)
{
    public object?[] Action = action;
    public object?[] Player = player;
}

/// <summary>
/// A compiled condition or amount. Evaluation is pure and deterministic; an int overflow or a
/// division by zero makes it fail (<see cref="TryEvaluate"/> returns false), the same way on every
/// replay — never a wrapped or rounded value.
/// </summary>
public sealed class CompiledExpression<T>(Func<EvaluationInput, T> function, string source)
{
    /// <summary>The expression as written, for diagnostics and inspection.</summary>
    public string Source { get; } = source;

    public bool TryEvaluate(EvaluationInput input, out T value)
    {
        try
        {
            value = function(input);
            return true;
        }
        catch (Exception exception) when (exception is OverflowException or DivideByZeroException)
        {
            value = default!;
            return false;
        }
    }
}

/// <summary>
/// Compiles bound expressions to delegates (System.Linq.Expressions), once per release: nothing
/// is interpreted from text on the hot path. <see cref="Build"/> is the one definition of the
/// operators' meaning; <see cref="ReleaseEvaluator"/> uses it too, with typed slots instead of
/// boxed ones, so the two cannot disagree about arithmetic, overflow or comparisons.
/// </summary>
public static class ExpressionCompiler
{
    private static readonly FieldInfo ActionSlots = typeof(EvaluationInput).GetField(nameof(EvaluationInput.Action))!;
    private static readonly FieldInfo PlayerSlots = typeof(EvaluationInput).GetField(nameof(EvaluationInput.Player))!;

    public static CompiledExpression<T> Compile<T>(BoundExpression bound, string source)
    {
        var input = Expression.Parameter(typeof(EvaluationInput), "input");
        var body = Build(bound, field => ReadBoxedSlot(field, input));
        if (body.Type != typeof(T))
        {
            throw new InvalidOperationException($"Expression of type {body.Type} compiled as {typeof(T)}: the binder should have prevented this.");
        }
        var lambda = Expression.Lambda<Func<EvaluationInput, T>>(body, input);
        return new CompiledExpression<T>(lambda.Compile(), source);
    }

    public static Type ClrType(RuleType type) => type.Kind switch
    {
        ValueKind.Bool => typeof(bool),
        ValueKind.Int => typeof(long),
        ValueKind.Decimal => typeof(decimal),
        ValueKind.String => typeof(string),
        _ => throw new InvalidOperationException($"No runtime type for {type}."),
    };

    private static UnaryExpression ReadBoxedSlot(BoundField field, ParameterExpression input)
    {
        var slots = Expression.Field(input, field.Source == FieldSource.Action ? ActionSlots : PlayerSlots);
        var slot = Expression.ArrayIndex(slots, Expression.Constant(field.Field.Index));
        return Expression.Convert(slot, ClrType(field.Type));
    }

    /// <summary>
    /// The expression tree of <paramref name="bound"/>; <paramref name="readField"/> says where a
    /// field's value comes from and must give an expression of the field's CLR type. Int arithmetic
    /// is checked: overflow throws <see cref="OverflowException"/>, division or remainder by zero
    /// <see cref="DivideByZeroException"/>; callers turn both into a failed evaluation.
    /// </summary>
    internal static Expression Build(BoundExpression bound, Func<BoundField, Expression> readField)
    {
        switch (bound)
        {
            case BoundLiteral literal:
                return Expression.Constant(literal.Value, ClrType(literal.Type));
            case BoundField field:
                return readField(field);
            case BoundWiden widen:
                return Expression.Convert(Build(widen.Operand, readField), typeof(decimal));
            case BoundUnary unary:
                {
                    var operand = Build(unary.Operand, readField);
                    return unary.Operator == TokenKind.Bang ? Expression.Not(operand) : Expression.NegateChecked(operand);
                }
            case BoundBinary binary:
                {
                    var left = Build(binary.Left, readField);
                    var right = Build(binary.Right, readField);
                    return binary.Operator switch
                    {
                        TokenKind.AndAnd => Expression.AndAlso(left, right),
                        TokenKind.OrOr => Expression.OrElse(left, right),
                        TokenKind.EqualEqual => Expression.Equal(left, right),
                        TokenKind.BangEqual => Expression.NotEqual(left, right),
                        TokenKind.Less => Expression.LessThan(left, right),
                        TokenKind.LessEqual => Expression.LessThanOrEqual(left, right),
                        TokenKind.Greater => Expression.GreaterThan(left, right),
                        TokenKind.GreaterEqual => Expression.GreaterThanOrEqual(left, right),
                        TokenKind.Plus => Expression.AddChecked(left, right),
                        TokenKind.Minus => Expression.SubtractChecked(left, right),
                        TokenKind.Star => Expression.MultiplyChecked(left, right),
                        // long: truncates toward zero, throws on /0 and on MinValue / -1; decimal: throws on /0.
                        TokenKind.Slash => Expression.Divide(left, right),
                        TokenKind.Percent => Expression.Modulo(left, right),
                        _ => throw new InvalidOperationException($"Unknown operator {binary.Operator}."),
                    };
                }
            case BoundIn @in:
                {
                    var value = Build(@in.Value, readField);
                    Expression? any = null;
                    foreach (var item in @in.Items)
                    {
                        var test = Expression.Equal(value, Build(item, readField));
                        any = any is null ? test : Expression.OrElse(any, test);
                    }
                    if (any is null)
                    {
                        return Expression.Constant(false);
                    }
                    // Evaluate the tested value once.
                    var temporary = Expression.Variable(value.Type, "value");
                    var rebound = new ReplaceVisitor(value, temporary).Visit(any)!;
                    return Expression.Block(typeof(bool), [temporary], Expression.Assign(temporary, value), rebound);
                }
            case BoundConditional conditional:
                return Expression.Condition(Build(conditional.Condition, readField), Build(conditional.WhenTrue, readField), Build(conditional.WhenFalse, readField));
            case BoundCall call:
                {
                    var arguments = call.Arguments.Select(a => Build(a, readField)).ToList();
                    var type = ClrType(call.Type);
                    var min = typeof(Math).GetMethod(nameof(Math.Min), [type, type])!;
                    var max = typeof(Math).GetMethod(nameof(Math.Max), [type, type])!;
                    return call.Function switch
                    {
                        "min" => arguments.Skip(1).Aggregate(arguments[0], (a, b) => Expression.Call(min, a, b)),
                        "max" => arguments.Skip(1).Aggregate(arguments[0], (a, b) => Expression.Call(max, a, b)),
                        // clamp(x, low, high) = min(max(x, low), high): never throws, even if low > high.
                        _ => Expression.Call(min, Expression.Call(max, arguments[0], arguments[1]), arguments[2]),
                    };
                }
            default:
                throw new InvalidOperationException($"Cannot compile {bound.GetType().Name}: binding reported errors.");
        }
    }

    private sealed class ReplaceVisitor(Expression from, Expression to) : ExpressionVisitor
    {
        public override Expression? Visit(Expression? node) => ReferenceEquals(node, from) ? to : base.Visit(node);
    }
}
