using System.Globalization;
using System.Text;

namespace Showrunner.Core.Rules.Syntax;

/// <summary>
/// Turns HCL source into tokens. Never throws: anything it cannot read becomes an
/// <see cref="TokenKind.Invalid"/> token and a diagnostic, and lexing goes on.
/// </summary>
/// <remarks>
/// Supported: identifiers (letters, digits, <c>_</c>, <c>-</c>), double-quoted strings with the
/// escapes <c>\n \r \t \" \\ \uXXXX</c>, integers and decimals, the operators and punctuation of
/// <see cref="TokenKind"/>, comments (<c>#</c>, <c>//</c> to end of line, <c>/* */</c>), and
/// newlines (significant: they end attributes). Not supported, by design: template interpolation
/// (<c>${...}</c>), heredocs, exponents.
/// </remarks>
internal static class Lexer
{
    public const int MaxStringLength = 64 * 1024;
    public const int MaxIdentifierLength = 128;

    public static List<Token> Tokenize(SourceText source, DiagnosticBag diagnostics)
    {
        var tokens = new List<Token>();
        string text = source.Text;
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            int start = i;
            switch (c)
            {
                case ' ' or '\t' or '\r':
                    i++;
                    continue;
                case '\n':
                    tokens.Add(new Token(TokenKind.Newline, i, 1, "\n"));
                    i++;
                    continue;
                case '#':
                    while (i < text.Length && text[i] != '\n')
                    {
                        i++;
                    }
                    continue;
                case '/' when i + 1 < text.Length && text[i + 1] == '/':
                    while (i < text.Length && text[i] != '\n')
                    {
                        i++;
                    }
                    continue;
                case '/' when i + 1 < text.Length && text[i + 1] == '*':
                    {
                        int end = text.IndexOf("*/", i + 2, StringComparison.Ordinal);
                        if (end < 0)
                        {
                            diagnostics.Error("syntax.unterminated_comment", "This /* comment is never closed with */.", source.Span(i, 2));
                            i = text.Length;
                            continue;
                        }
                        // A block comment spanning lines still ends the line it started on.
                        if (text.AsSpan(i, end - i).Contains('\n'))
                        {
                            tokens.Add(new Token(TokenKind.Newline, end, 2, "\n"));
                        }
                        i = end + 2;
                        continue;
                    }
                case '"':
                    tokens.Add(ReadString(source, diagnostics, ref i));
                    continue;
            }
            if (char.IsAsciiDigit(c))
            {
                while (i < text.Length && char.IsAsciiDigit(text[i]))
                {
                    i++;
                }
                if (i + 1 < text.Length && text[i] == '.' && char.IsAsciiDigit(text[i + 1]))
                {
                    i++;
                    while (i < text.Length && char.IsAsciiDigit(text[i]))
                    {
                        i++;
                    }
                }
                tokens.Add(new Token(TokenKind.Number, start, i - start, text[start..i]));
                continue;
            }
            if (char.IsAsciiLetter(c) || c == '_')
            {
                while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] is '_' or '-'))
                {
                    i++;
                }
                if (i - start > MaxIdentifierLength)
                {
                    diagnostics.Error("syntax.identifier_too_long", $"Names are at most {MaxIdentifierLength} characters.", source.Span(start, i - start));
                }
                tokens.Add(new Token(TokenKind.Identifier, start, i - start, text[start..i]));
                continue;
            }
            var (kind, length) = Operator(text, i);
            if (kind == TokenKind.Invalid)
            {
                int width = char.IsSurrogatePair(text, i) ? 2 : 1;
                string shown = text.Substring(i, width);
                int codePoint = width == 2 ? char.ConvertToUtf32(text[i], text[i + 1]) : text[i];
                diagnostics.Error("syntax.invalid_character",
                    string.Create(CultureInfo.InvariantCulture, $"Unexpected character U+{codePoint:X4}{(codePoint >= 0x20 && !char.IsSurrogate(text[i]) || width == 2 ? $" '{shown}'" : "")}."),
                    source.Span(i, width));
                tokens.Add(new Token(TokenKind.Invalid, i, width, shown));
                i += width;
                continue;
            }
            tokens.Add(new Token(kind, i, length, text.Substring(i, length)));
            i += length;
        }
        tokens.Add(new Token(TokenKind.EndOfFile, text.Length, 0, ""));
        return tokens;
    }

    private static (TokenKind Kind, int Length) Operator(string text, int i)
    {
        char c = text[i];
        char next = i + 1 < text.Length ? text[i + 1] : '\0';
        return (c, next) switch
        {
            ('&', '&') => (TokenKind.AndAnd, 2),
            ('|', '|') => (TokenKind.OrOr, 2),
            ('=', '=') => (TokenKind.EqualEqual, 2),
            ('!', '=') => (TokenKind.BangEqual, 2),
            ('<', '=') => (TokenKind.LessEqual, 2),
            ('>', '=') => (TokenKind.GreaterEqual, 2),
            ('{', _) => (TokenKind.OpenBrace, 1),
            ('}', _) => (TokenKind.CloseBrace, 1),
            ('[', _) => (TokenKind.OpenBracket, 1),
            (']', _) => (TokenKind.CloseBracket, 1),
            ('(', _) => (TokenKind.OpenParen, 1),
            (')', _) => (TokenKind.CloseParen, 1),
            ('=', _) => (TokenKind.Equals, 1),
            (',', _) => (TokenKind.Comma, 1),
            ('.', _) => (TokenKind.Dot, 1),
            (':', _) => (TokenKind.Colon, 1),
            ('?', _) => (TokenKind.Question, 1),
            ('!', _) => (TokenKind.Bang, 1),
            ('<', _) => (TokenKind.Less, 1),
            ('>', _) => (TokenKind.Greater, 1),
            ('+', _) => (TokenKind.Plus, 1),
            ('-', _) => (TokenKind.Minus, 1),
            ('*', _) => (TokenKind.Star, 1),
            ('/', _) => (TokenKind.Slash, 1),
            ('%', _) => (TokenKind.Percent, 1),
            _ => (TokenKind.Invalid, 1),
        };
    }

    private static Token ReadString(SourceText source, DiagnosticBag diagnostics, ref int i)
    {
        string text = source.Text;
        int start = i;
        i++; // opening quote
        var value = new StringBuilder();
        bool valid = true;
        while (true)
        {
            if (i >= text.Length || text[i] == '\n')
            {
                diagnostics.Error("syntax.unterminated_string", "This string is not closed with \" before the end of the line.", source.Span(start, Math.Max(1, i - start)));
                return new Token(TokenKind.Invalid, start, i - start, text[start..i]);
            }
            char c = text[i];
            if (c == '"')
            {
                i++;
                break;
            }
            if (c == '$' && i + 1 < text.Length && text[i + 1] == '{')
            {
                diagnostics.Error("syntax.template_not_supported", "Template interpolation (${...}) is not supported; write \"$${\" for a literal \"${\".", source.Span(i, 2));
                valid = false;
                i += 2;
                continue;
            }
            if (c == '$' && i + 2 < text.Length && text[i + 1] == '$' && text[i + 2] == '{')
            {
                value.Append("${");
                i += 3;
                continue;
            }
            if (c == '\\')
            {
                if (i + 1 >= text.Length)
                {
                    i++; // a backslash at the very end: the string is unterminated (reported next round)
                    continue;
                }
                char escape = text[i + 1];
                switch (escape)
                {
                    case 'n': value.Append('\n'); i += 2; continue;
                    case 'r': value.Append('\r'); i += 2; continue;
                    case 't': value.Append('\t'); i += 2; continue;
                    case '"': value.Append('"'); i += 2; continue;
                    case '\\': value.Append('\\'); i += 2; continue;
                    case 'u' when i + 5 < text.Length && int.TryParse(text.AsSpan(i + 2, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code)
                                  && !char.IsSurrogate((char)code):
                        value.Append((char)code);
                        i += 6;
                        continue;
                    default:
                        diagnostics.Error("syntax.invalid_escape", $"Unknown escape '\\{escape}': use \\n, \\r, \\t, \\\", \\\\ or \\uXXXX (not a surrogate).", source.Span(i, 2));
                        valid = false;
                        i += 2;
                        continue;
                }
            }
            value.Append(c);
            i++;
        }
        if (value.Length > MaxStringLength)
        {
            diagnostics.Error("syntax.string_too_long", $"Strings are at most {MaxStringLength} characters.", source.Span(start, i - start));
            valid = false;
        }
        return new Token(valid ? TokenKind.String : TokenKind.Invalid, start, i - start, text[start..i], value.ToString());
    }
}
