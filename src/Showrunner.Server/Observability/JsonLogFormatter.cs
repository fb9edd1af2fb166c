using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Showrunner.Server.Observability;

/// <summary>
/// The console log as JSON, one object per line (<c>Showrunner:LogFormat=json</c>), with the field
/// names docs/observability.md lists: <c>timestamp</c>, <c>level</c>, <c>category</c>,
/// <c>event_id</c>, <c>event_name</c>, <c>message</c>, <c>template</c>, <c>fields</c> (the
/// message's named values), <c>trace_id</c> and <c>span_id</c> (when the line was written inside a
/// traced operation, e.g. a request carrying <c>traceparent</c>), <c>scopes</c> and
/// <c>exception</c>.
/// </summary>
/// <remarks>
/// Unlike the built-in JSON formatter, which nests the trace ids in its scope list, they are
/// top-level fields here, named as in OpenTelemetry's log data model, so a log pipeline can join
/// log lines to traces without parsing scopes. The trace ids come from the logger factory's
/// activity tracking (<see cref="ActivityTrackingOptions"/>), which adds them as a scope.
/// </remarks>
internal sealed class JsonLogFormatter : ConsoleFormatter
{
    public const string FormatterName = "showrunner-json";

    private readonly IOptionsMonitor<ConsoleFormatterOptions> _options;

    public JsonLogFormatter(IOptionsMonitor<ConsoleFormatterOptions> options) : base(FormatterName)
    {
        _options = options;
    }

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        string? message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null)
        {
            return;
        }
        var buffer = new ArrayBufferWriter<byte>(512);
        // Relaxed escaping: a log line is read by people and log pipelines, never embedded in HTML, so ' and µ stay as they are.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("timestamp", DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
            writer.WriteString("level", logEntry.LogLevel.ToString());
            writer.WriteString("category", logEntry.Category);
            writer.WriteNumber("event_id", logEntry.EventId.Id);
            if (logEntry.EventId.Name is { } eventName)
            {
                writer.WriteString("event_name", eventName);
            }
            writer.WriteString("message", message ?? "");
            if (logEntry.State is IReadOnlyList<KeyValuePair<string, object?>> fields)
            {
                WriteFields(writer, fields);
            }
            string? traceId = null, spanId = null;
            var scopes = new List<object?>();
            if (_options.CurrentValue.IncludeScopes && scopeProvider is not null)
            {
                scopeProvider.ForEachScope((scope, _) =>
                {
                    if (scope is IReadOnlyList<KeyValuePair<string, object?>> values && TraceIds(values) is { } ids)
                    {
                        (traceId, spanId) = ids;
                        return;
                    }
                    scopes.Add(scope);
                }, (object?)null);
            }
            if (traceId is not null)
            {
                writer.WriteString("trace_id", traceId);
                writer.WriteString("span_id", spanId);
            }
            if (scopes.Count > 0)
            {
                writer.WriteStartArray("scopes");
                foreach (var scope in scopes)
                {
                    if (scope is IReadOnlyList<KeyValuePair<string, object?>> values)
                    {
                        writer.WriteStartObject();
                        foreach (var (key, value) in values)
                        {
                            // ASP.NET Core's request scope carries the path, and a path can name a player: only its RequestId is written.
                            if (key is not ("{OriginalFormat}" or "RequestPath"))
                            {
                                WriteValue(writer, key, value);
                            }
                        }
                        writer.WriteEndObject();
                    }
                    else
                    {
                        writer.WriteStringValue(Convert.ToString(scope, CultureInfo.InvariantCulture));
                    }
                }
                writer.WriteEndArray();
            }
            if (logEntry.Exception is { } exception)
            {
                writer.WriteString("exception", exception.ToString());
            }
            writer.WriteEndObject();
        }
        textWriter.Write(Encoding.UTF8.GetString(buffer.WrittenSpan));
        textWriter.Write(Environment.NewLine);
    }

    /// <summary>The ids of the activity-tracking scope (TraceId, SpanId), or null for another scope.</summary>
    private static (string TraceId, string SpanId)? TraceIds(IReadOnlyList<KeyValuePair<string, object?>> values)
    {
        string? traceId = null, spanId = null;
        foreach (var (key, value) in values)
        {
            if (key == "TraceId")
            {
                traceId = Convert.ToString(value, CultureInfo.InvariantCulture);
            }
            else if (key == "SpanId")
            {
                spanId = Convert.ToString(value, CultureInfo.InvariantCulture);
            }
        }
        return traceId is { Length: > 0 } && spanId is not null && traceId != "00000000000000000000000000000000" ? (traceId, spanId) : null;
    }

    private static void WriteFields(Utf8JsonWriter writer, IReadOnlyList<KeyValuePair<string, object?>> fields)
    {
        bool opened = false;
        string? template = null;
        foreach (var (key, value) in fields)
        {
            if (key == "{OriginalFormat}")
            {
                template = Convert.ToString(value, CultureInfo.InvariantCulture);
                continue;
            }
            if (!opened)
            {
                writer.WriteStartObject("fields");
                opened = true;
            }
            WriteValue(writer, key, value);
        }
        if (opened)
        {
            writer.WriteEndObject();
        }
        if (template is not null)
        {
            writer.WriteString("template", template);
        }
    }

    private static void WriteValue(Utf8JsonWriter writer, string key, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNull(key);
                break;
            case bool b:
                writer.WriteBoolean(key, b);
                break;
            case int or long or short or byte or uint or ulong or ushort or sbyte:
                writer.WriteNumber(key, Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            case double d when double.IsFinite(d):
                writer.WriteNumber(key, d);
                break;
            case float f when float.IsFinite(f):
                writer.WriteNumber(key, f);
                break;
            case decimal m:
                writer.WriteNumber(key, m);
                break;
            case DateTimeOffset at:
                writer.WriteString(key, at.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
                break;
            case TimeSpan span:
                writer.WriteString(key, span.ToString("c", CultureInfo.InvariantCulture));
                break;
            default:
                writer.WriteString(key, Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }
}

/// <summary>Sets up the console log format chosen by <c>Showrunner:LogFormat</c>.</summary>
internal static class LogFormat
{
    public static void Configure(ILoggingBuilder logging, string format)
    {
        // Trace and span ids of the current activity are added to every log entry's scope (JSON: trace_id, span_id).
        logging.Configure(options => options.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
        if (format != "json")
        {
            return;
        }
        logging.AddConsoleFormatter<JsonLogFormatter, ConsoleFormatterOptions>(options => options.IncludeScopes = true);
        logging.AddConsole(options => options.FormatterName = JsonLogFormatter.FormatterName);
    }
}
