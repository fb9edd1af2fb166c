using System.Globalization;
using System.Text;

namespace Showrunner.Core.Rules.Syntax;

/// <summary>
/// Renders syntax in the one canonical form a release is stored and hashed in: no comments, fixed
/// spacing and two-space indentation, top-level blocks sorted by type and labels, attributes
/// sorted by name before nested blocks (which keep their order: tiers and prizes are ordered),
/// object keys sorted, numbers normalised (<c>2.50</c> → <c>2.5</c>, decimals keep a point),
/// strings with one escaping, and only the parentheses precedence needs.
/// </summary>
/// <remarks>Parsing the output and printing it again gives the same bytes (pinned by tests).</remarks>
internal static class CanonicalPrinter
{
    /// <summary>Sort key of a top-level block: its type and labels, NUL-separated.</summary>
    public static string KeyOf(BlockSyntax block) => block.Type + "\0" + string.Join("\0", block.Labels.Select(l => l.Value));

    /// <summary>Human-readable name of a definition: <c>event "crystal_caves_hunt"</c>.</summary>
    public static string NameOf(BlockSyntax block) => block.Labels.Count == 0 ? block.Type : $"{block.Type} {string.Join(" ", block.Labels.Select(l => Quote(l.Value)))}";

    /// <summary>The top-level blocks of all files in canonical order.</summary>
    public static List<BlockSyntax> Order(IEnumerable<BlockSyntax> blocks) =>
        [.. blocks.OrderBy(KeyOf, StringComparer.Ordinal)];

    public static string Block(BlockSyntax block)
    {
        var builder = new StringBuilder();
        WriteBlock(builder, block, 0);
        return builder.ToString();
    }

    private static void WriteBlock(StringBuilder builder, BlockSyntax block, int indent)
    {
        builder.Append(' ', indent * 2).Append(block.Type);
        foreach (var label in block.Labels)
        {
            builder.Append(' ').Append(Quote(label.Value));
        }
        var attributes = block.Body.Attributes.OrderBy(a => a.Name, StringComparer.Ordinal).ToList();
        var blocks = block.Body.Blocks.ToList();
        if (attributes.Count == 0 && blocks.Count == 0)
        {
            builder.Append(" {}\n");
            return;
        }
        builder.Append(" {\n");
        foreach (var attribute in attributes)
        {
            builder.Append(' ', (indent + 1) * 2).Append(attribute.Name).Append(" = ");
            WriteExpression(builder, attribute.Value);
            builder.Append('\n');
        }
        foreach (var child in blocks)
        {
            WriteBlock(builder, child, indent + 1);
        }
        builder.Append(' ', indent * 2).Append("}\n");
    }

    public static string Expression(ExpressionSyntax expression)
    {
        var builder = new StringBuilder();
        WriteExpression(builder, expression);
        return builder.ToString();
    }

    private static int Precedence(ExpressionSyntax expression) => expression switch
    {
        ConditionalSyntax => 0,
        BinarySyntax binary => binary.Operator switch
        {
            TokenKind.OrOr => 1,
            TokenKind.AndAnd => 2,
            TokenKind.EqualEqual or TokenKind.BangEqual => 3,
            TokenKind.Less or TokenKind.LessEqual or TokenKind.Greater or TokenKind.GreaterEqual => 4,
            TokenKind.Plus or TokenKind.Minus => 5,
            _ => 6,
        },
        InSyntax => 4,
        UnarySyntax => 7,
        _ => 8,
    };

    private static void WriteOperand(StringBuilder builder, ExpressionSyntax operand, int parent, bool right)
    {
        int own = Precedence(operand);
        bool parenthesize = own < parent || (right && own == parent && parent is >= 1 and <= 6);
        if (parenthesize)
        {
            builder.Append('(');
        }
        WriteExpression(builder, operand);
        if (parenthesize)
        {
            builder.Append(')');
        }
    }

    private static void WriteExpression(StringBuilder builder, ExpressionSyntax expression)
    {
        switch (expression)
        {
            case LiteralSyntax literal:
                builder.Append(literal.Kind switch
                {
                    LiteralKind.String => Quote((string)literal.Value!),
                    LiteralKind.Integer => ((long)literal.Value!).ToString(CultureInfo.InvariantCulture),
                    LiteralKind.Decimal => Decimal((decimal)literal.Value!),
                    LiteralKind.Boolean => (bool)literal.Value! ? "true" : "false",
                    _ => "null",
                });
                break;
            case TraversalSyntax traversal:
                builder.Append(traversal.Path);
                break;
            case ListSyntax list:
                builder.Append('[');
                for (int i = 0; i < list.Items.Count; i++)
                {
                    if (i > 0)
                    {
                        builder.Append(", ");
                    }
                    WriteExpression(builder, list.Items[i]);
                }
                builder.Append(']');
                break;
            case ObjectSyntax @object:
                if (@object.Entries.Count == 0)
                {
                    builder.Append("{}");
                    break;
                }
                builder.Append("{ ");
                bool first = true;
                foreach (var entry in @object.Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
                {
                    if (!first)
                    {
                        builder.Append(", ");
                    }
                    first = false;
                    builder.Append(IsIdentifier(entry.Key) ? entry.Key : Quote(entry.Key)).Append(" = ");
                    WriteExpression(builder, entry.Value);
                }
                builder.Append(" }");
                break;
            case UnarySyntax unary:
                builder.Append(unary.Operator == TokenKind.Bang ? '!' : '-');
                WriteOperand(builder, unary.Operand, 7, right: false);
                break;
            case BinarySyntax binary:
                {
                    int precedence = Precedence(binary);
                    WriteOperand(builder, binary.Left, precedence, right: false);
                    builder.Append(' ').Append(TokenText.Of(binary.Operator)).Append(' ');
                    WriteOperand(builder, binary.Right, precedence, right: true);
                    break;
                }
            case InSyntax @in:
                WriteOperand(builder, @in.Value, 4, right: false);
                builder.Append(" in ");
                WriteOperand(builder, @in.List, 4, right: true);
                break;
            case ConditionalSyntax conditional:
                WriteOperand(builder, conditional.Condition, 1, right: false);
                builder.Append(" ? ");
                WriteOperand(builder, conditional.WhenTrue, 1, right: false);
                builder.Append(" : ");
                WriteOperand(builder, conditional.WhenFalse, 0, right: false);
                break;
            case CallSyntax call:
                builder.Append(call.Function).Append('(');
                for (int i = 0; i < call.Arguments.Count; i++)
                {
                    if (i > 0)
                    {
                        builder.Append(", ");
                    }
                    WriteExpression(builder, call.Arguments[i]);
                }
                builder.Append(')');
                break;
            default:
                throw new InvalidOperationException("Only syntax without errors is printed canonically.");
        }
    }

    /// <summary>Normalised decimal: no trailing zeros, always a point (so it reads back as a decimal).</summary>
    private static string Decimal(decimal value)
    {
        string text = (value / 1.0000000000000000000000000000m).ToString(CultureInfo.InvariantCulture);
        return text.Contains('.', StringComparison.Ordinal) ? text : text + ".0";
    }

    public static string Quote(string value)
    {
        var builder = new StringBuilder(value.Length + 2).Append('"');
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                case '$' when i + 1 < value.Length && value[i + 1] == '{':
                    builder.Append("$$");
                    break;
                default:
                    if (char.IsControl(c))
                    {
                        builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        builder.Append(c);
                    }
                    break;
            }
        }
        return builder.Append('"').ToString();
    }

    private static bool IsIdentifier(string key) =>
        key.Length > 0 && (char.IsAsciiLetter(key[0]) || key[0] == '_') && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-')
        && key is not ("true" or "false" or "null" or "in");
}
