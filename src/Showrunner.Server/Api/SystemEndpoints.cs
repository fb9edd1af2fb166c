using Showrunner.Contracts.Status;
using Showrunner.Runtime.Ingest;
using Showrunner.Server.Security;

namespace Showrunner.Server.Api;

/// <summary>
/// <c>/healthz</c>, <c>/readyz</c> and <c>/v1/stats</c>: records of Showrunner.Contracts.Status written by
/// <c>Results.Json</c> with the generated (default) escaping and content type, as these endpoints always answered.
/// </summary>
internal static class SystemEndpoints
{
    public static void Map(WebApplication app)
    {
        // Liveness: answers as soon as the process listens, also while state is being rebuilt.
        app.MapGet("/healthz", (IngestPipeline pipeline) =>
            Results.Json(new HealthResponse("alive", pipeline.State.ToString().ToLowerInvariant()), StatusJson.Default.HealthResponse)).Allow(Access.Public);

        // Readiness: 200 only when actions are accepted and no partition is stopped or stalled
        // (docs/operations.md "Health"): a load balancer takes a stuck node out of rotation.
        app.MapGet("/readyz", (IngestPipeline pipeline) =>
        {
            var readiness = pipeline.CheckReadiness();
            var body = new HealthResponse(readiness.IsReady ? "ready" : "not_ready", pipeline.State.ToString().ToLowerInvariant())
            {
                Reason = readiness.Reason,
                Detail = readiness.Detail,
            };
            return Results.Json(body, StatusJson.Default.HealthResponse,
                statusCode: readiness.IsReady ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        }).Allow(Access.Public);

        app.MapGet("/v1/stats", (IngestPipeline pipeline) =>
        {
            var stats = pipeline.GetStats();
            var gauges = pipeline.GetPipelineGauges();
            return Results.Json(new StatsResponse(
                stats.Accepted, stats.Duplicates, stats.Rejected, stats.RejectedByCode, stats.Overloaded,
                stats.PartitionCount, stats.State, stats.Since, gauges.InboxActions, gauges.Commits, gauges.CommittedActions),
                StatusJson.Default.StatsResponse);
        }).Allow(Access.Viewer);
    }
}
