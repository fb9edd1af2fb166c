using System.Text;

namespace Showrunner.Core.Rules.Syntax;

/// <summary>A range of one source file: 1-based line and column of its start, and its length in characters.</summary>
public readonly record struct SourceSpan(string File, int Offset, int Length, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}

public enum Severity
{
    Error,
    Warning,
}

/// <summary>
/// One problem in the sources: where it is, a stable code that tools can switch on, a message for
/// people, and the source line with a caret under the culprit. docs/language.md lists every code.
/// </summary>
public sealed record Diagnostic(string Code, string Message, SourceSpan Span, string Snippet, Severity Severity = Severity.Error)
{
    /// <summary><c>file:line:col: error code: message</c> followed by the snippet, like a compiler.</summary>
    public string Format()
    {
        string severity = Severity == Severity.Error ? "error" : "warning";
        return $"{Span}: {severity} {Code}: {Message}\n{Snippet}";
    }
}

/// <summary>One source file with its line starts, to turn offsets into line, column and snippet.</summary>
public sealed class SourceText
{
    private readonly int[] _lineStarts;

    public SourceText(string file, string text)
    {
        File = file;
        Text = text;
        var starts = new List<int> { 0 };
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n')
            {
                starts.Add(i + 1);
            }
        }
        _lineStarts = [.. starts];
    }

    public string File { get; }
    public string Text { get; }

    public SourceSpan Span(int offset, int length)
    {
        offset = Math.Clamp(offset, 0, Text.Length);
        int line = Array.BinarySearch(_lineStarts, offset);
        if (line < 0)
        {
            line = ~line - 1;
        }
        return new SourceSpan(File, offset, Math.Max(0, length), line + 1, offset - _lineStarts[line] + 1);
    }

    /// <summary>The span's line, and a caret line under it (at most 120 characters of each).</summary>
    public string Snippet(SourceSpan span)
    {
        int start = _lineStarts[span.Line - 1];
        int end = Text.IndexOf('\n', start);
        if (end < 0)
        {
            end = Text.Length;
        }
        string line = Text[start..end].TrimEnd('\r');
        int column = span.Column - 1;
        int window = 0;
        if (line.Length > 120)
        {
            window = Math.Clamp(column - 40, 0, line.Length - 120);
            line = line.Substring(window, 120);
        }
        var builder = new StringBuilder();
        builder.Append("  | ").Append(line.Replace('\t', ' ')).Append('\n');
        builder.Append("  | ").Append(' ', Math.Clamp(column - window, 0, line.Length));
        builder.Append('^', Math.Clamp(span.Length, 1, Math.Max(1, line.Length - (column - window))));
        return builder.ToString();
    }
}

/// <summary>Collects diagnostics for one source file, with a cap so pathological input cannot flood memory.</summary>
public sealed class DiagnosticBag(SourceText source, List<Diagnostic> sink)
{
    public const int MaxDiagnostics = 1_000;

    public SourceText Source { get; } = source;

    public bool HasErrors => sink.Exists(d => d.Severity == Severity.Error);

    public void Error(string code, string message, SourceSpan span)
    {
        if (sink.Count < MaxDiagnostics)
        {
            sink.Add(new Diagnostic(code, message, span, Source.Snippet(span)));
        }
    }
}
