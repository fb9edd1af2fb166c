using System.Globalization;

namespace Showrunner.Core.Rules.Syntax;

/// <summary>
/// Parses one HCL source file into a <see cref="BodySyntax"/>. Never throws and always returns a
/// tree: errors are reported to the <see cref="DiagnosticBag"/> and parsing resumes at the next
/// line, so one run reports every problem, not just the first.
/// </summary>
/// <remarks>
/// Grammar (newlines end attributes; inside <c>( )</c>, <c>[ ]</c> and object braces they are ignored):
/// <code>
/// body        = { attribute | block }
/// attribute   = NAME "=" expression (NEWLINE | "}" | EOF)
/// block       = NAME { STRING | NAME } "{" body "}"
/// expression  = or [ "?" expression ":" expression ]
/// or          = and { "||" and }            and = equality { "&amp;&amp;" equality }
/// equality    = comparison { ("==" | "!=") comparison }
/// comparison  = additive { ("&lt;" | "&lt;=" | "&gt;" | "&gt;=" | "in") additive }
/// additive    = term { ("+" | "-") term }    term = unary { ("*" | "/" | "%") unary }
/// unary       = ("!" | "-") unary | primary
/// primary     = NUMBER | STRING | "true" | "false" | "null" | "(" expression ")"
///             | "[" [ expression { "," expression } [","] ] "]"
///             | "{" [ key ("=" | ":") expression { ("," | NEWLINE) ... } ] "}"
///             | NAME "(" arguments ")" | NAME { "." NAME }
/// </code>
/// Nesting of blocks and expressions is limited (<see cref="MaxDepth"/>), so no input can exhaust the stack.
/// </remarks>
internal sealed class Parser
{
    public const int MaxDepth = 32;

    private readonly SourceText _source;
    private readonly DiagnosticBag _diagnostics;
    private readonly List<Token> _tokens;
    private int _position;
    private int _bracketDepth; // > 0: newlines are insignificant
    private int _depth;

    private Parser(SourceText source, DiagnosticBag diagnostics)
    {
        _source = source;
        _diagnostics = diagnostics;
        _tokens = Lexer.Tokenize(source, diagnostics);
    }

    public static BodySyntax ParseFile(SourceText source, DiagnosticBag diagnostics)
    {
        var parser = new Parser(source, diagnostics);
        var body = parser.ParseBody(topLevel: true, openOffset: 0);
        return body;
    }

    /// <summary>Parses one expression on its own (for tests and tools).</summary>
    public static ExpressionSyntax ParseExpression(SourceText source, DiagnosticBag diagnostics)
    {
        var parser = new Parser(source, diagnostics);
        var expression = parser.Expression();
        parser.SkipNewlines();
        if (parser.Current.Kind != TokenKind.EndOfFile)
        {
            parser.Unexpected("the end of the expression");
        }
        return expression;
    }

    private Token Current
    {
        get
        {
            if (_bracketDepth > 0)
            {
                while (_tokens[_position].Kind == TokenKind.Newline)
                {
                    _position++;
                }
            }
            return _tokens[_position];
        }
    }

    private Token Advance()
    {
        var token = Current;
        if (token.Kind != TokenKind.EndOfFile)
        {
            _position++;
        }
        return token;
    }

    private SourceSpan SpanOf(Token token) => _source.Span(token.Offset, Math.Max(1, token.Length));

    private SourceSpan SpanFrom(int startOffset)
    {
        int end = _position > 0 ? _tokens[_position - 1].Offset + _tokens[_position - 1].Length : startOffset;
        return _source.Span(startOffset, Math.Max(1, end - startOffset));
    }

    private void SkipNewlines()
    {
        while (_tokens[_position].Kind == TokenKind.Newline)
        {
            _position++;
        }
    }

    private static string Describe(Token token) => token.Kind switch
    {
        TokenKind.EndOfFile => "the end of the file",
        TokenKind.Newline => "the end of the line",
        TokenKind.String => $"the string {token.Text}",
        TokenKind.Number => $"the number {token.Text}",
        TokenKind.Identifier => $"'{token.Text}'",
        _ => $"'{token.Text}'",
    };

    private void Unexpected(string expected)
    {
        var token = Current;
        if (token.Kind == TokenKind.Invalid)
        {
            return; // the lexer already reported it
        }
        _diagnostics.Error("syntax.unexpected_token", $"Expected {expected}, found {Describe(token)}.", SpanOf(token));
    }

    /// <summary>Skips to the end of the current line (or a closing brace of this level) after an error.</summary>
    private void Recover()
    {
        int depth = 0;
        while (true)
        {
            var token = _tokens[_position];
            switch (token.Kind)
            {
                case TokenKind.EndOfFile:
                    return;
                case TokenKind.Newline when depth == 0:
                    return;
                case TokenKind.OpenBrace or TokenKind.OpenBracket or TokenKind.OpenParen:
                    depth++;
                    break;
                case TokenKind.CloseBrace when depth == 0:
                    return;
                case TokenKind.CloseBrace or TokenKind.CloseBracket or TokenKind.CloseParen:
                    depth = Math.Max(0, depth - 1);
                    break;
            }
            _position++;
        }
    }

    private BodySyntax ParseBody(bool topLevel, int openOffset)
    {
        var items = new List<BodyItemSyntax>();
        int savedBracketDepth = _bracketDepth;
        _bracketDepth = 0; // newlines matter inside a body, even within an expression's braces
        while (true)
        {
            SkipNewlines();
            var token = _tokens[_position];
            if (token.Kind == TokenKind.EndOfFile)
            {
                if (!topLevel)
                {
                    _diagnostics.Error("syntax.unclosed_block", "This block is never closed with }.", _source.Span(openOffset, 1));
                }
                break;
            }
            if (token.Kind == TokenKind.CloseBrace)
            {
                if (!topLevel)
                {
                    break;
                }
                _diagnostics.Error("syntax.unexpected_token", "Unexpected } with no block open.", SpanOf(token));
                _position++;
                continue;
            }
            if (token.Kind != TokenKind.Identifier)
            {
                Unexpected("an attribute name or a block type");
                _position++;
                Recover();
                continue;
            }
            var item = ParseItem();
            if (item is not null)
            {
                items.Add(item);
            }
        }
        _bracketDepth = savedBracketDepth;
        return new BodySyntax(items, _source.Span(openOffset, Math.Max(1, (_tokens[_position].Offset) - openOffset)));
    }

    private BodyItemSyntax? ParseItem()
    {
        var name = Advance();
        var nameSpan = SpanOf(name);
        if (_tokens[_position].Kind == TokenKind.Equals)
        {
            _position++;
            var value = Expression();
            var terminator = _tokens[_position].Kind;
            if (terminator is not (TokenKind.Newline or TokenKind.CloseBrace or TokenKind.EndOfFile))
            {
                Unexpected("the end of the line after this attribute");
                Recover();
            }
            return new AttributeSyntax(name.Text, nameSpan, value, SpanFrom(name.Offset));
        }
        var labels = new List<LabelSyntax>();
        while (_tokens[_position].Kind is TokenKind.String or TokenKind.Identifier)
        {
            var label = Advance();
            labels.Add(new LabelSyntax(label.Kind == TokenKind.String ? label.Value! : label.Text, SpanOf(label)));
        }
        if (_tokens[_position].Kind != TokenKind.OpenBrace)
        {
            Unexpected(labels.Count == 0 ? "'=' or a block" : "a label or '{'");
            Recover();
            return null;
        }
        var open = Advance();
        if (++_depth > MaxDepth)
        {
            _diagnostics.Error("syntax.too_deep", $"Blocks and expressions nest at most {MaxDepth} levels.", SpanOf(open));
            _depth--;
            SkipBalanced();
            return null;
        }
        var body = ParseBody(topLevel: false, openOffset: open.Offset);
        _depth--;
        if (_tokens[_position].Kind == TokenKind.CloseBrace)
        {
            _position++;
        }
        var after = _tokens[_position].Kind;
        if (after is not (TokenKind.Newline or TokenKind.EndOfFile or TokenKind.CloseBrace))
        {
            Unexpected("the end of the line after this block");
            Recover();
        }
        return new BlockSyntax(name.Text, nameSpan, labels, body, SpanFrom(name.Offset));
    }

    /// <summary>Skips a brace-balanced region (used when nesting is too deep to parse).</summary>
    private void SkipBalanced()
    {
        int depth = 1;
        while (depth > 0 && _tokens[_position].Kind != TokenKind.EndOfFile)
        {
            var kind = _tokens[_position].Kind;
            if (kind is TokenKind.OpenBrace or TokenKind.OpenBracket or TokenKind.OpenParen)
            {
                depth++;
            }
            else if (kind is TokenKind.CloseBrace or TokenKind.CloseBracket or TokenKind.CloseParen)
            {
                depth--;
            }
            _position++;
        }
    }

    private ExpressionSyntax Expression()
    {
        if (++_depth > MaxDepth)
        {
            var token = Current;
            _diagnostics.Error("syntax.too_deep", $"Blocks and expressions nest at most {MaxDepth} levels.", SpanOf(token));
            _depth--;
            Recover();
            return new ErrorSyntax(SpanOf(token));
        }
        try
        {
            var condition = Binary(0);
            if (Current.Kind != TokenKind.Question)
            {
                return condition;
            }
            Advance();
            var whenTrue = Expression();
            if (Current.Kind != TokenKind.Colon)
            {
                Unexpected("':' of the conditional");
                return new ErrorSyntax(condition.Span);
            }
            Advance();
            var whenFalse = Expression();
            return new ConditionalSyntax(condition, whenTrue, whenFalse, SpanFrom(condition.Span.Offset));
        }
        finally
        {
            _depth--;
        }
    }

    private static int Precedence(Token token) => token.Kind switch
    {
        TokenKind.OrOr => 1,
        TokenKind.AndAnd => 2,
        TokenKind.EqualEqual or TokenKind.BangEqual => 3,
        TokenKind.Less or TokenKind.LessEqual or TokenKind.Greater or TokenKind.GreaterEqual => 4,
        TokenKind.Identifier when token.Text == "in" => 4,
        TokenKind.Plus or TokenKind.Minus => 5,
        TokenKind.Star or TokenKind.Slash or TokenKind.Percent => 6,
        _ => 0,
    };

    /// <summary>Precedence climbing; all binary operators are left-associative.</summary>
    private ExpressionSyntax Binary(int minimum)
    {
        var left = Unary();
        while (true)
        {
            var op = Current;
            int precedence = Precedence(op);
            if (precedence == 0 || precedence <= minimum)
            {
                return left;
            }
            Advance();
            var right = Binary(precedence);
            left = op.Kind == TokenKind.Identifier
                ? new InSyntax(left, right, SpanFrom(left.Span.Offset))
                : new BinarySyntax(op.Kind, left, right, SpanFrom(left.Span.Offset));
        }
    }

    private ExpressionSyntax Unary()
    {
        var token = Current;
        if (token.Kind is TokenKind.Bang or TokenKind.Minus)
        {
            Advance();
            if (++_depth > MaxDepth)
            {
                _diagnostics.Error("syntax.too_deep", $"Blocks and expressions nest at most {MaxDepth} levels.", SpanOf(token));
                _depth--;
                Recover();
                return new ErrorSyntax(SpanOf(token));
            }
            var operand = Unary();
            _depth--;
            return new UnarySyntax(token.Kind, operand, SpanFrom(token.Offset));
        }
        return Primary();
    }

    private ExpressionSyntax Primary()
    {
        var token = Current;
        switch (token.Kind)
        {
            case TokenKind.Number:
                Advance();
                return Number(token);
            case TokenKind.String:
                Advance();
                return new LiteralSyntax(LiteralKind.String, token.Value, SpanOf(token));
            case TokenKind.OpenParen:
                {
                    Advance();
                    _bracketDepth++;
                    var inner = Expression();
                    Expect(TokenKind.CloseParen, "')'");
                    _bracketDepth--;
                    return inner;
                }
            case TokenKind.OpenBracket:
                return List();
            case TokenKind.OpenBrace:
                return Object();
            case TokenKind.Identifier:
                return token.Text switch
                {
                    "true" => Literal(LiteralKind.Boolean, true),
                    "false" => Literal(LiteralKind.Boolean, false),
                    "null" => Literal(LiteralKind.Null, null),
                    _ => NameOrCall(),
                };
            default:
                Unexpected("a value");
                if (token.Kind is not (TokenKind.Newline or TokenKind.EndOfFile or TokenKind.CloseBrace or TokenKind.CloseBracket or TokenKind.CloseParen or TokenKind.Comma))
                {
                    Advance();
                }
                return new ErrorSyntax(SpanOf(token));
        }
    }

    private LiteralSyntax Literal(LiteralKind kind, object? value)
    {
        var token = Advance();
        return new LiteralSyntax(kind, value, SpanOf(token));
    }

    private ExpressionSyntax Number(Token token)
    {
        if (!token.Text.Contains('.'))
        {
            if (long.TryParse(token.Text, NumberStyles.None, CultureInfo.InvariantCulture, out long integer))
            {
                return new LiteralSyntax(LiteralKind.Integer, integer, SpanOf(token));
            }
            _diagnostics.Error("syntax.number_too_large", $"{token.Text} does not fit a 64-bit integer.", SpanOf(token));
            return new ErrorSyntax(SpanOf(token));
        }
        if (token.Text.Length <= 40 && decimal.TryParse(token.Text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal value))
        {
            return new LiteralSyntax(LiteralKind.Decimal, value, SpanOf(token));
        }
        _diagnostics.Error("syntax.number_too_large", $"{token.Text} does not fit a decimal (28 significant digits).", SpanOf(token));
        return new ErrorSyntax(SpanOf(token));
    }

    private void Expect(TokenKind kind, string description)
    {
        if (Current.Kind == kind)
        {
            Advance();
            return;
        }
        Unexpected(description);
    }

    private ExpressionSyntax List()
    {
        var open = Advance();
        _bracketDepth++;
        var items = new List<ExpressionSyntax>();
        while (Current.Kind is not (TokenKind.CloseBracket or TokenKind.EndOfFile))
        {
            int before = _position;
            items.Add(Expression());
            if (Current.Kind == TokenKind.Comma)
            {
                Advance();
            }
            else if (Current.Kind != TokenKind.CloseBracket)
            {
                Unexpected("',' or ']'");
                if (_position == before)
                {
                    Advance();
                }
                break;
            }
        }
        Expect(TokenKind.CloseBracket, "']'");
        _bracketDepth--;
        return new ListSyntax(items, SpanFrom(open.Offset));
    }

    private ExpressionSyntax Object()
    {
        var open = Advance();
        _bracketDepth++;
        var entries = new List<ObjectEntrySyntax>();
        while (Current.Kind is not (TokenKind.CloseBrace or TokenKind.EndOfFile))
        {
            var key = Current;
            if (key.Kind is not (TokenKind.Identifier or TokenKind.String))
            {
                Unexpected("a key");
                Advance();
                continue;
            }
            Advance();
            if (Current.Kind is not (TokenKind.Equals or TokenKind.Colon))
            {
                Unexpected("'=' after the key");
                continue;
            }
            Advance();
            var value = Expression();
            entries.Add(new ObjectEntrySyntax(key.Kind == TokenKind.String ? key.Value! : key.Text, SpanOf(key), value));
            if (Current.Kind == TokenKind.Comma)
            {
                Advance();
            }
        }
        Expect(TokenKind.CloseBrace, "'}'");
        _bracketDepth--;
        return new ObjectSyntax(entries, SpanFrom(open.Offset));
    }

    private ExpressionSyntax NameOrCall()
    {
        var first = Advance();
        if (Current.Kind == TokenKind.OpenParen && _tokens[_position].Offset == first.Offset + first.Length)
        {
            Advance();
            _bracketDepth++;
            var arguments = new List<ExpressionSyntax>();
            while (Current.Kind is not (TokenKind.CloseParen or TokenKind.EndOfFile))
            {
                int before = _position;
                arguments.Add(Expression());
                if (Current.Kind == TokenKind.Comma)
                {
                    Advance();
                }
                else if (Current.Kind != TokenKind.CloseParen)
                {
                    Unexpected("',' or ')'");
                    if (_position == before)
                    {
                        Advance();
                    }
                    break;
                }
            }
            Expect(TokenKind.CloseParen, "')'");
            _bracketDepth--;
            return new CallSyntax(first.Text, SpanOf(first), arguments, SpanFrom(first.Offset));
        }
        var parts = new List<LabelSyntax> { new(first.Text, SpanOf(first)) };
        while (_tokens[_position].Kind == TokenKind.Dot)
        {
            _position++;
            var part = _tokens[_position];
            if (part.Kind != TokenKind.Identifier)
            {
                Unexpected("a field name after '.'");
                break;
            }
            _position++;
            parts.Add(new LabelSyntax(part.Text, SpanOf(part)));
        }
        return new TraversalSyntax(parts, SpanFrom(first.Offset));
    }
}
