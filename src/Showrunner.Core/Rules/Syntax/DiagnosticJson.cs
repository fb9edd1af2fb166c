using System.Text.Json;

namespace Showrunner.Core.Rules.Syntax;

/// <summary>The JSON form of diagnostics, shared by the CLI's <c>--json</c> output and the HTTP API.</summary>
public static class DiagnosticJson
{
    /// <summary>Writes <c>"diagnostics": [{severity, code, message, file, line, column, length}, …]</c>.</summary>
    public static void Write(Utf8JsonWriter writer, IEnumerable<Diagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(diagnostics);
        writer.WriteStartArray("diagnostics");
        foreach (var diagnostic in diagnostics)
        {
            writer.WriteStartObject();
            writer.WriteString("severity", diagnostic.Severity == Severity.Error ? "error" : "warning");
            writer.WriteString("code", diagnostic.Code);
            writer.WriteString("message", diagnostic.Message);
            writer.WriteString("file", diagnostic.Span.File);
            writer.WriteNumber("line", diagnostic.Span.Line);
            writer.WriteNumber("column", diagnostic.Span.Column);
            writer.WriteNumber("length", diagnostic.Span.Length);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }
}
