namespace Showrunner.Core.Rules.Syntax;

/// <summary>The syntax of one source file: attributes and blocks in source order.</summary>
internal sealed record BodySyntax(IReadOnlyList<BodyItemSyntax> Items, SourceSpan Span)
{
    public IEnumerable<AttributeSyntax> Attributes => Items.OfType<AttributeSyntax>();
    public IEnumerable<BlockSyntax> Blocks => Items.OfType<BlockSyntax>();
}

internal abstract record BodyItemSyntax(SourceSpan Span);

/// <summary><c>name = expression</c></summary>
internal sealed record AttributeSyntax(string Name, SourceSpan NameSpan, ExpressionSyntax Value, SourceSpan Span) : BodyItemSyntax(Span);

/// <summary><c>type "label" ... { body }</c></summary>
internal sealed record BlockSyntax(string Type, SourceSpan TypeSpan, IReadOnlyList<LabelSyntax> Labels, BodySyntax Body, SourceSpan Span) : BodyItemSyntax(Span);

internal sealed record LabelSyntax(string Value, SourceSpan Span);

internal abstract record ExpressionSyntax(SourceSpan Span);

internal enum LiteralKind
{
    String,
    Integer,
    Decimal,
    Boolean,
    Null,
}

/// <summary>A literal: <c>"text"</c> (string), <c>12</c> (long), <c>1.5</c> (decimal), <c>true</c>, <c>null</c>.</summary>
internal sealed record LiteralSyntax(LiteralKind Kind, object? Value, SourceSpan Span) : ExpressionSyntax(Span);

internal sealed record ListSyntax(IReadOnlyList<ExpressionSyntax> Items, SourceSpan Span) : ExpressionSyntax(Span);

internal sealed record ObjectEntrySyntax(string Key, SourceSpan KeySpan, ExpressionSyntax Value);

internal sealed record ObjectSyntax(IReadOnlyList<ObjectEntrySyntax> Entries, SourceSpan Span) : ExpressionSyntax(Span);

/// <summary>A name or a dotted path: <c>string</c>, <c>action.chest_tier</c>, <c>player.level</c>.</summary>
internal sealed record TraversalSyntax(IReadOnlyList<LabelSyntax> Parts, SourceSpan Span) : ExpressionSyntax(Span)
{
    public string Path => string.Join('.', Parts.Select(p => p.Value));
}

internal sealed record UnarySyntax(TokenKind Operator, ExpressionSyntax Operand, SourceSpan Span) : ExpressionSyntax(Span);

internal sealed record BinarySyntax(TokenKind Operator, ExpressionSyntax Left, ExpressionSyntax Right, SourceSpan Span) : ExpressionSyntax(Span);

/// <summary><c>value in [a, b]</c></summary>
internal sealed record InSyntax(ExpressionSyntax Value, ExpressionSyntax List, SourceSpan Span) : ExpressionSyntax(Span);

internal sealed record ConditionalSyntax(ExpressionSyntax Condition, ExpressionSyntax WhenTrue, ExpressionSyntax WhenFalse, SourceSpan Span) : ExpressionSyntax(Span);

internal sealed record CallSyntax(string Function, SourceSpan NameSpan, IReadOnlyList<ExpressionSyntax> Arguments, SourceSpan Span) : ExpressionSyntax(Span);

/// <summary>Stands where an expression could not be parsed; a diagnostic has been reported.</summary>
internal sealed record ErrorSyntax(SourceSpan Span) : ExpressionSyntax(Span);
