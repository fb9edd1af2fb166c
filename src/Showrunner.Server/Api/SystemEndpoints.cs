using Showrunner.Runtime.Ingest;
using Showrunner.Server.Security;

namespace Showrunner.Server.Api;

/// <summary><c>/healthz</c>, <c>/readyz</c> and <c>/v1/stats</c>.</summary>
internal static class SystemEndpoints
{
    public static void Map(WebApplication app)
    {
        // Liveness: answers as soon as the process listens, also while state is being rebuilt.
        app.MapGet("/healthz", (IngestPipeline pipeline) =>
            Results.Json(new HealthResponse("alive", pipeline.State.ToString().ToLowerInvariant()), ServerJsonContext.Default.HealthResponse)).Allow(Access.Public);

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
            return Results.Json(body, ServerJsonContext.Default.HealthResponse,
                statusCode: readiness.IsReady ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        }).Allow(Access.Public);

        app.MapGet("/v1/stats", (IngestPipeline pipeline) =>
        {
            var stats = pipeline.GetStats();
            var gauges = pipeline.GetPipelineGauges();
            return Results.Json(new StatsResponse(
                stats.Accepted, stats.Duplicates, stats.Rejected, stats.RejectedByCode, stats.Overloaded,
                stats.PartitionCount, stats.State, stats.Since, gauges.InboxActions, gauges.Commits, gauges.CommittedActions),
                ServerJsonContext.Default.StatsResponse);
        }).Allow(Access.Viewer);
    }
}

internal sealed record HealthResponse(string Status, string State)
{
    /// <summary>Why the server is not ready (a stable code: starting, recovering, stopping, partition_stopped, partition_stalled, commit_stalled, worker_stopped); absent when ready.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Reason { get; init; }

    /// <summary>A sentence for people about <see cref="Reason"/>.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Detail { get; init; }
}

internal sealed record StatsResponse(
    long Accepted,
    long Duplicates,
    long Rejected,
    IReadOnlyDictionary<string, long> RejectedByCode,
    long OverloadedBatches,
    int Partitions,
    string State,
    DateTimeOffset Since,
    int QueuedActions,
    long Commits,
    long CommittedSinceStart);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower)]
[System.Text.Json.Serialization.JsonSerializable(typeof(HealthResponse))]
[System.Text.Json.Serialization.JsonSerializable(typeof(StatsResponse))]
[System.Text.Json.Serialization.JsonSerializable(typeof(LedgerKeyResponse))]
internal sealed partial class ServerJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
