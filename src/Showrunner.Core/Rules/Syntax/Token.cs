namespace Showrunner.Core.Rules.Syntax;

internal enum TokenKind
{
    EndOfFile,
    Newline,
    Identifier,
    String,
    Number,
    OpenBrace,
    CloseBrace,
    OpenBracket,
    CloseBracket,
    OpenParen,
    CloseParen,
    Equals,
    Comma,
    Dot,
    Colon,
    Question,
    Bang,
    AndAnd,
    OrOr,
    EqualEqual,
    BangEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Invalid,
}

/// <summary>A token: its kind, where it is, and for strings the decoded value (escapes resolved).</summary>
internal readonly record struct Token(TokenKind Kind, int Offset, int Length, string Text, string? Value = null);

internal static class TokenText
{
    /// <summary>How an operator is written in source.</summary>
    public static string Of(TokenKind kind) => kind switch
    {
        TokenKind.AndAnd => "&&",
        TokenKind.OrOr => "||",
        TokenKind.EqualEqual => "==",
        TokenKind.BangEqual => "!=",
        TokenKind.Less => "<",
        TokenKind.LessEqual => "<=",
        TokenKind.Greater => ">",
        TokenKind.GreaterEqual => ">=",
        TokenKind.Plus => "+",
        TokenKind.Minus => "-",
        TokenKind.Star => "*",
        TokenKind.Slash => "/",
        TokenKind.Percent => "%",
        TokenKind.Bang => "!",
        _ => kind.ToString(),
    };
}
