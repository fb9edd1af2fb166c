using System.Text.Json.Serialization;

namespace Showrunner.Contracts.Status;

/// <summary>The answer of <c>/healthz</c> and <c>/readyz</c>.</summary>
public sealed record HealthResponse(string Status, string State)
{
    /// <summary>Why the server is not ready (a stable code: starting, recovering, stopping, partition_stopped, partition_stalled, commit_stalled, worker_stopped); absent when ready.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Reason { get; init; }

    /// <summary>A sentence for people about <see cref="Reason"/>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Detail { get; init; }
}

/// <summary>The answer of <c>GET /v1/stats</c>; <c>since</c> is written as System.Text.Json writes a <see cref="DateTimeOffset"/>.</summary>
public sealed record StatsResponse(
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
