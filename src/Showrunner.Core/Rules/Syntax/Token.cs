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
