using System.Globalization;
using System.Text;

namespace Showrunner.Server.Observability;

/// <summary>
/// Renders a <see cref="MetricsSnapshot"/> in the Prometheus text exposition format 0.0.4
/// (docs/observability.md, "Prometheus"): per metric <c># HELP</c> and <c># TYPE</c>, then its
/// samples; counters end in <c>_total</c>; a histogram has cumulative <c>_bucket{le="…"}</c>
/// samples ending with <c>le="+Inf"</c>, then <c>_sum</c> and <c>_count</c>.
/// </summary>
/// <remarks>
/// Names: an instrument name's characters outside <c>[a-zA-Z0-9_:]</c> become <c>_</c>
/// (<c>showrunner.ack.latency</c> → <c>showrunner_ack_latency</c>), and the unit <c>s</c> adds
/// <c>_seconds</c>, as OpenTelemetry's Prometheus mapping does. Label names are sanitized the
/// same way (no colon); label values escape <c>\</c>, <c>"</c> and newline; help text escapes
/// <c>\</c> and newline.
/// </remarks>
internal static class PrometheusText
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static string Render(MetricsSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var text = new StringBuilder(16 * 1024);
        foreach (var family in snapshot.Metrics)
        {
            Write(text, family);
        }
        return text.ToString();
    }

    /// <summary>The Prometheus name of an instrument (without the <c>_total</c>, <c>_bucket</c>, … suffixes).</summary>
    public static string MetricName(string instrument, string unit)
    {
        string name = Sanitize(instrument, allowColon: true);
        if (unit == "s" && !name.EndsWith("_seconds", StringComparison.Ordinal))
        {
            name += "_seconds";
        }
        return name;
    }

    private static void Write(StringBuilder text, MetricFamily family)
    {
        string name = MetricName(family.Name, family.Unit);
        string sampleName = family.Kind == MetricKind.Counter ? name + "_total" : name;
        string type = family.Kind switch
        {
            MetricKind.Counter => "counter",
            MetricKind.Histogram => "histogram",
            _ => "gauge",
        };
        text.Append("# HELP ").Append(sampleName).Append(' ').Append(EscapeHelp(family.Description)).Append('\n');
        text.Append("# TYPE ").Append(sampleName).Append(' ').Append(type).Append('\n');
        foreach (var series in family.Series)
        {
            if (series.Histogram is { } histogram)
            {
                long cumulative = 0;
                for (int i = 0; i < histogram.Counts.Count; i++)
                {
                    cumulative += histogram.Counts[i];
                    string le = i < histogram.Bounds.Count ? Number(histogram.Bounds[i]) : "+Inf";
                    text.Append(name).Append("_bucket");
                    Labels(text, series.Labels, ("le", le));
                    text.Append(' ').Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
                }
                text.Append(name).Append("_sum");
                Labels(text, series.Labels, null);
                text.Append(' ').Append(Number(histogram.Sum)).Append('\n');
                text.Append(name).Append("_count");
                Labels(text, series.Labels, null);
                text.Append(' ').Append(histogram.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
            else
            {
                text.Append(sampleName);
                Labels(text, series.Labels, null);
                text.Append(' ').Append(Number(series.Value)).Append('\n');
            }
        }
    }

    private static void Labels(StringBuilder text, IReadOnlyList<KeyValuePair<string, string>> labels, (string Key, string Value)? extra)
    {
        if (labels.Count == 0 && extra is null)
        {
            return;
        }
        text.Append('{');
        bool first = true;
        foreach (var label in labels)
        {
            if (!first)
            {
                text.Append(',');
            }
            first = false;
            text.Append(Sanitize(label.Key, allowColon: false)).Append("=\"").Append(EscapeLabelValue(label.Value)).Append('"');
        }
        if (extra is { } e)
        {
            if (!first)
            {
                text.Append(',');
            }
            text.Append(e.Key).Append("=\"").Append(e.Value).Append('"');
        }
        text.Append('}');
    }

    /// <summary>A metric or label name: characters outside <c>[a-zA-Z0-9_]</c> (and <c>:</c> in metric names) become <c>_</c>; a leading digit gets a <c>_</c> before it.</summary>
    internal static string Sanitize(string name, bool allowColon)
    {
        var result = new StringBuilder(name.Length + 1);
        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            result.Append('_');
        }
        foreach (char c in name)
        {
            result.Append(char.IsAsciiLetterOrDigit(c) || c == '_' || (allowColon && c == ':') ? c : '_');
        }
        return result.ToString();
    }

    internal static string EscapeLabelValue(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    internal static string EscapeHelp(string help) =>
        help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>A sample value: integers without a fraction, others in the shortest form that reads back exactly; NaN and ±Inf as Prometheus spells them.</summary>
    internal static string Number(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ when value == Math.Floor(value) && Math.Abs(value) < 1e15 => ((long)value).ToString(CultureInfo.InvariantCulture),
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };
}
