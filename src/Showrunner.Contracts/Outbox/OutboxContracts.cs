namespace Showrunner.Contracts.Outbox;

/// <summary>The answer of <c>GET /v1/outbox</c>; <c>worker</c> and <c>circuit</c> are null when no worker runs.</summary>
public sealed record OutboxStatusResponse(
    bool WebhookConfigured,
    string? Target,
    long Pending,
    long Delivered,
    long DeadLettered,
    string? OldestPendingEnqueuedAt,
    string Now,
    OutboxWorkerResponse? Worker,
    OutboxCircuitResponse? Circuit);

/// <summary>The delivery worker's counters since start.</summary>
public sealed record OutboxWorkerResponse(long InFlight, long Delivered, long FailedAttempts, long DeadLettered, long Deferred, long StoreErrors);

/// <summary>The webhook circuit: <c>closed</c>, <c>open</c> or <c>half_open</c>.</summary>
public sealed record OutboxCircuitResponse(string State, long ConsecutiveFailures, string? OpenedAt, string? RetryAt, long CoolDownMs, long Openings);

/// <summary>One grant's delivery as the outbox shows it (<c>GET /v1/outbox/{grant_id}</c>, dead letters).</summary>
public sealed record OutboxDeliveryResponse(
    string GrantId,
    string Status,
    int Attempts,
    int TotalAttempts,
    string? EnqueuedAt,
    string? NextAttemptAt,
    string? LastAttemptAt,
    int? LastStatusCode,
    string? LastError,
    string? DeliveredAt,
    string? DeadLetteredAt);

/// <summary>The answer of <c>GET /v1/outbox/dead-letters</c>; <c>next</c> links the following page, null on the last.</summary>
public sealed record DeadLetterListResponse(IReadOnlyList<OutboxDeliveryResponse> DeadLetters, string? Next);

/// <summary>The answer of <c>POST /v1/outbox/redeliver</c>.</summary>
public sealed record RedeliverResponse(string Scope, int Moved, bool WebhookConfigured);
