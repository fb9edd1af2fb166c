using Showrunner.Core.Rules.Syntax;

namespace Showrunner.Core.Rules.Binding;

/// <summary>
/// Type-checks an expression against what is in scope and produces a <see cref="BoundExpression"/>.
/// Every problem is reported (never thrown); a failed subexpression becomes <see cref="BoundError"/>
/// and does not cause further reports about the expressions around it.
/// </summary>
/// <remarks>
/// Rules (docs/language.md, "Expressions"):
/// <list type="bullet">
/// <item><c>!</c>, <c>&amp;&amp;</c>, <c>||</c> take and give bool; <c>==</c>, <c>!=</c> compare two values of one type (int and decimal mix);
/// <c>&lt; &lt;= &gt; &gt;=</c> compare numbers.</item>
/// <item><c>+ - * / %</c> on ints give an int, checked for overflow; with a decimal on either side, a decimal.
/// <c>/</c> on ints truncates toward zero. Overflow or division by zero fails the evaluation.</item>
/// <item><c>x in [a, b]</c>: a list literal of x's type. <c>c ? a : b</c>: bool condition, branches of one type.</item>
/// <item>Built-ins: <c>min(a, b, …)</c>, <c>max(a, b, …)</c>, <c>clamp(x, low, high)</c> on numbers.</item>
/// <item><c>action.f</c> reads a field of the objective's action; <c>player.a</c> a player attribute.</item>
/// </list>
/// </remarks>
internal sealed class ExpressionBinder(BindingScope scope, DiagnosticBag diagnostics)
{
    public const int MaxListItems = 1_000;

    /// <summary>Binds <paramref name="syntax"/> and requires it to have type <paramref name="expected"/> (ints widen to decimal).</summary>
    public BoundExpression BindAs(ExpressionSyntax syntax, RuleType expected, string what)
    {
        var bound = Bind(syntax);
        if (bound.Type == RuleType.Error || bound.Type == expected)
        {
            return bound;
        }
        if (expected == RuleType.Decimal && bound.Type == RuleType.Int)
        {
            return new BoundWiden(bound, bound.Span);
        }
        diagnostics.Error("type.mismatch", $"{what} must be {Article(expected)}, but this is {Article(bound.Type)}.", syntax.Span);
        return new BoundError(syntax.Span);
    }

    public BoundExpression Bind(ExpressionSyntax syntax) => syntax switch
    {
        LiteralSyntax literal => BindLiteral(literal),
        TraversalSyntax traversal => BindTraversal(traversal),
        UnarySyntax unary => BindUnary(unary),
        BinarySyntax binary => BindBinary(binary),
        InSyntax @in => BindIn(@in),
        ConditionalSyntax conditional => BindConditional(conditional),
        CallSyntax call => BindCall(call),
        ListSyntax list => Refuse(list.Span, "expression.list_not_allowed", "A list can only stand on the right of 'in'."),
        ObjectSyntax @object => Refuse(@object.Span, "expression.object_not_allowed", "An object is not a value in a condition or amount."),
        _ => new BoundError(syntax.Span),
    };

    private BoundError Refuse(SourceSpan span, string code, string message)
    {
        diagnostics.Error(code, message, span);
        return new BoundError(span);
    }

    private BoundExpression BindLiteral(LiteralSyntax literal) => literal.Kind switch
    {
        LiteralKind.String => new BoundLiteral(literal.Value!, RuleType.String, literal.Span),
        LiteralKind.Integer => new BoundLiteral(literal.Value!, RuleType.Int, literal.Span),
        LiteralKind.Decimal => new BoundLiteral(literal.Value!, RuleType.Decimal, literal.Span),
        LiteralKind.Boolean => new BoundLiteral(literal.Value!, RuleType.Bool, literal.Span),
        _ => Refuse(literal.Span, "expression.null_not_allowed", "null is not a value in a condition or amount."),
    };

    private BoundExpression BindTraversal(TraversalSyntax traversal)
    {
        string root = traversal.Parts[0].Value;
        (RecordSchema? schema, FieldSource source) = root switch
        {
            "action" => (scope.Action, FieldSource.Action),
            "player" => (scope.Player, FieldSource.Player),
            _ => (null, FieldSource.Action),
        };
        if (root is not ("action" or "player"))
        {
            return Refuse(traversal.Span, "name.unknown", $"Unknown name '{traversal.Path}': expressions read action.<field> and player.<attribute>.");
        }
        if (schema is null)
        {
            return Refuse(traversal.Span, "name.not_in_scope",
                root == "action" ? $"There is no action in {scope.Where}; only player.<attribute> can be read here."
                                 : $"Player attributes cannot be read in {scope.Where}; declare action \"player.profile\" to define them.");
        }
        if (traversal.Parts.Count != 2)
        {
            return Refuse(traversal.Span, "name.unknown", $"'{traversal.Path}' must be {root}.<name>: fields are not nested.");
        }
        var field = schema.Find(traversal.Parts[1].Value);
        if (field is null)
        {
            string known = schema.Fields.Count == 0 ? "it declares no fields" : "known: " + string.Join(", ", schema.Fields.Select(f => f.Name));
            return Refuse(traversal.Parts[1].Span, "name.unknown_field", $"{schema.Name} has no field '{traversal.Parts[1].Value}' ({known}).");
        }
        return new BoundField(source, field, traversal.Span);
    }

    private BoundExpression BindUnary(UnarySyntax unary)
    {
        var operand = Bind(unary.Operand);
        if (operand.Type == RuleType.Error)
        {
            return operand;
        }
        if (unary.Operator == TokenKind.Bang)
        {
            return operand.Type == RuleType.Bool
                ? new BoundUnary(TokenKind.Bang, operand, RuleType.Bool, unary.Span)
                : Mismatch(unary.Span, $"'!' needs a bool, not {Article(operand.Type)}.");
        }
        return operand.Type.IsNumeric
            ? new BoundUnary(TokenKind.Minus, operand, operand.Type, unary.Span)
            : Mismatch(unary.Span, $"'-' needs a number, not {Article(operand.Type)}.");
    }

    private BoundExpression BindBinary(BinarySyntax binary)
    {
        var left = Bind(binary.Left);
        var right = Bind(binary.Right);
        if (left.Type == RuleType.Error || right.Type == RuleType.Error)
        {
            return new BoundError(binary.Span);
        }
        string op = TokenText.Of(binary.Operator);
        switch (binary.Operator)
        {
            case TokenKind.AndAnd or TokenKind.OrOr:
                return left.Type == RuleType.Bool && right.Type == RuleType.Bool
                    ? new BoundBinary(binary.Operator, left, right, RuleType.Bool, binary.Span)
                    : Mismatch(binary.Span, $"'{op}' needs two bools, not {Article(left.Type)} and {Article(right.Type)}.");
            case TokenKind.EqualEqual or TokenKind.BangEqual:
                if (Unify(ref left, ref right) is { } common && common.Kind is not ValueKind.List)
                {
                    return new BoundBinary(binary.Operator, left, right, RuleType.Bool, binary.Span);
                }
                return Mismatch(binary.Span, $"'{op}' compares two values of one type, not {Article(left.Type)} and {Article(right.Type)}.");
            case TokenKind.Less or TokenKind.LessEqual or TokenKind.Greater or TokenKind.GreaterEqual:
                if (left.Type.IsNumeric && right.Type.IsNumeric)
                {
                    Unify(ref left, ref right);
                    return new BoundBinary(binary.Operator, left, right, RuleType.Bool, binary.Span);
                }
                return Mismatch(binary.Span, $"'{op}' compares numbers, not {Article(left.Type)} and {Article(right.Type)}.");
            default: // + - * / %
                if (left.Type.IsNumeric && right.Type.IsNumeric)
                {
                    var type = Unify(ref left, ref right)!;
                    return new BoundBinary(binary.Operator, left, right, type, binary.Span);
                }
                return Mismatch(binary.Span, $"'{op}' needs numbers, not {Article(left.Type)} and {Article(right.Type)}.");
        }
    }

    private BoundExpression BindIn(InSyntax @in)
    {
        var value = Bind(@in.Value);
        if (@in.List is not ListSyntax list)
        {
            Bind(@in.List);
            return Refuse(@in.List.Span, "expression.in_needs_list", "The right of 'in' must be a list written in place, like [\"eu\", \"na\"].");
        }
        if (list.Items.Count > MaxListItems)
        {
            return Refuse(list.Span, "expression.list_too_long", $"A list holds at most {MaxListItems} items.");
        }
        var items = new List<BoundExpression>();
        bool failed = value.Type == RuleType.Error;
        foreach (var itemSyntax in list.Items)
        {
            var item = Bind(itemSyntax);
            if (item.Type == RuleType.Error)
            {
                failed = true;
                continue;
            }
            var left = value;
            if (!failed && Unify(ref left, ref item) is null)
            {
                diagnostics.Error("type.mismatch", $"This list item is {Article(item.Type)}, but the value tested is {Article(value.Type)}.", itemSyntax.Span);
                failed = true;
                continue;
            }
            items.Add(item);
        }
        if (failed)
        {
            return new BoundError(@in.Span);
        }
        // Mixed int/decimal: compare everything as decimal.
        if (value.Type == RuleType.Int && items.Exists(i => i.Type == RuleType.Decimal))
        {
            value = new BoundWiden(value, value.Span);
        }
        if (value.Type == RuleType.Decimal)
        {
            items = items.ConvertAll(i => i.Type == RuleType.Int ? new BoundWiden(i, i.Span) : i);
        }
        return new BoundIn(value, items, @in.Span);
    }

    private BoundExpression BindConditional(ConditionalSyntax conditional)
    {
        var condition = BindAs(conditional.Condition, RuleType.Bool, "The condition before '?'");
        var whenTrue = Bind(conditional.WhenTrue);
        var whenFalse = Bind(conditional.WhenFalse);
        if (condition.Type == RuleType.Error || whenTrue.Type == RuleType.Error || whenFalse.Type == RuleType.Error)
        {
            return new BoundError(conditional.Span);
        }
        return Unify(ref whenTrue, ref whenFalse) is { } type
            ? new BoundConditional(condition, whenTrue, whenFalse, type, conditional.Span)
            : Mismatch(conditional.Span, $"Both branches of '? :' must have one type, not {Article(whenTrue.Type)} and {Article(whenFalse.Type)}.");
    }

    private BoundExpression BindCall(CallSyntax call)
    {
        (int min, int max) = call.Function switch
        {
            "min" or "max" => (2, 16),
            "clamp" => (3, 3),
            _ => (-1, -1),
        };
        if (min < 0)
        {
            foreach (var argument in call.Arguments)
            {
                Bind(argument);
            }
            return Refuse(call.NameSpan, "call.unknown_function", $"There is no function '{call.Function}': the built-ins are min, max and clamp.");
        }
        var arguments = call.Arguments.Select(Bind).ToList();
        if (arguments.Exists(a => a.Type == RuleType.Error))
        {
            return new BoundError(call.Span);
        }
        if (arguments.Count < min || arguments.Count > max)
        {
            string expected = min == max ? $"{min}" : $"{min} to {max}";
            return Refuse(call.Span, "call.argument_count", $"{call.Function} takes {expected} arguments, not {arguments.Count}.");
        }
        if (arguments.Find(a => !a.Type.IsNumeric) is { } bad)
        {
            return Mismatch(bad.Span, $"{call.Function} takes numbers, not {Article(bad.Type)}.");
        }
        var type = arguments.Exists(a => a.Type == RuleType.Decimal) ? RuleType.Decimal : RuleType.Int;
        if (type == RuleType.Decimal)
        {
            arguments = arguments.ConvertAll(a => a.Type == RuleType.Int ? new BoundWiden(a, a.Span) : a);
        }
        return new BoundCall(call.Function, arguments, type, call.Span);
    }

    /// <summary>The common type of two operands, widening an int side to decimal; null when they do not meet.</summary>
    private static RuleType? Unify(ref BoundExpression left, ref BoundExpression right)
    {
        if (left.Type == right.Type)
        {
            return left.Type;
        }
        if (left.Type == RuleType.Int && right.Type == RuleType.Decimal)
        {
            left = new BoundWiden(left, left.Span);
            return RuleType.Decimal;
        }
        if (left.Type == RuleType.Decimal && right.Type == RuleType.Int)
        {
            right = new BoundWiden(right, right.Span);
            return RuleType.Decimal;
        }
        return null;
    }

    private BoundError Mismatch(SourceSpan span, string message) => Refuse(span, "type.mismatch", message);

    private static string Article(RuleType type) => type.Kind switch
    {
        ValueKind.Int => "an int",
        ValueKind.List => "a list",
        _ => "a " + type,
    };
}
