using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Showrunner.Runtime.Observability;

namespace Showrunner.Server.Observability;

/// <summary>
/// OTLP export of metrics and traces with the OpenTelemetry SDK, on when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (environment or configuration). Everything else comes
/// from the standard <c>OTEL_*</c> variables, which the SDK reads itself: protocol
/// (<c>OTEL_EXPORTER_OTLP_PROTOCOL</c>, grpc by default, or http/protobuf), headers, service name,
/// export interval (<c>OTEL_METRIC_EXPORT_INTERVAL</c>) and span batching (<c>OTEL_BSP_*</c>).
/// </summary>
/// <remarks>
/// Exported: the <c>Showrunner</c> meter (the same instruments /metrics shows), the
/// <c>Showrunner</c> activity source and ASP.NET Core's request spans (<c>Microsoft.AspNetCore</c>,
/// the parents of the pipeline's spans). /metrics keeps working beside it.
/// </remarks>
internal static class OtlpExport
{
    public const string EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Adds the exporters when an endpoint is configured; returns the endpoint as logs may show it (no credentials, no query), or null when export is off.</summary>
    public static string? Configure(IServiceCollection services, IConfiguration configuration)
    {
        string? endpoint = configuration[EndpointVariable];
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return null;
        }
        var telemetry = services.AddOpenTelemetry();
        if (string.IsNullOrWhiteSpace(configuration["OTEL_SERVICE_NAME"]))
        {
            telemetry.ConfigureResource(resource => resource.AddService("showrunner"));
        }
        telemetry
            .WithMetrics(metrics => metrics.AddMeter(ShowrunnerMetrics.MeterName).AddOtlpExporter())
            .WithTracing(tracing => tracing.AddSource(ShowrunnerActivities.SourceName, "Microsoft.AspNetCore").AddOtlpExporter());
        return Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Host}:{uri.Port}{uri.AbsolutePath}" : "(unparsable endpoint)";
    }
}
