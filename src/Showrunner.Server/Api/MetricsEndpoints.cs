using Showrunner.Server.Observability;
using Showrunner.Server.Security;

namespace Showrunner.Server.Api;

/// <summary>
/// <c>GET /metrics</c>: every Showrunner metric in the Prometheus text format (docs/observability.md).
/// Viewer access: Prometheus scrapes with a viewer key (<c>authorization: credentials_file</c>).
/// </summary>
internal static class MetricsEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/metrics", (HttpContext context, MetricsCollector collector) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            return Results.Text(PrometheusText.Render(collector.Snapshot()), PrometheusText.ContentType);
        }).Allow(Access.Viewer);
    }
}
