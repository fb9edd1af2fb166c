using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Features;
using Showrunner.Contracts.Outbox;
using Showrunner.Contracts.Wire;
using Showrunner.Core.Actions;
using Showrunner.Runtime.Outbox;
using Showrunner.Server.Hosting;
using Showrunner.Server.Security;
using Showrunner.Storage;
using Showrunner.Storage.Outbox;

namespace Showrunner.Server.Api;

/// <summary>
/// The outbox for operators: <c>GET /v1/outbox</c> (counts, webhook, circuit),
/// <c>GET /v1/outbox/dead-letters</c> (paged), <c>POST /v1/outbox/redeliver</c> and
/// <c>GET /v1/outbox/{grant_id}</c>. The contract is in docs/api.md; delivery itself in
/// docs/webhooks.md.
/// </summary>
internal sealed class OutboxEndpoints(IActionStore store, OutboxHostedService outbox, TimeProvider time, Runtime.Audit.AuditTrail audit)
{
    private static readonly JsonTypeInfo<OutboxStatusResponse> StatusWire = WireJson.Of(OutboxJson.Default.OutboxStatusResponse);
    private static readonly JsonTypeInfo<OutboxDeliveryResponse> DeliveryWire = WireJson.Of(OutboxJson.Default.OutboxDeliveryResponse);
    private static readonly JsonTypeInfo<DeadLetterListResponse> DeadLettersWire = WireJson.Of(OutboxJson.Default.DeadLetterListResponse);
    private static readonly JsonTypeInfo<RedeliverResponse> RedeliverWire = WireJson.Of(OutboxJson.Default.RedeliverResponse);

    public const int DefaultListLimit = 50;
    public const int MaxListLimit = 500;
    /// <summary>Longest grant id accepted in a parameter or body (grant ids are 64 hex characters).</summary>
    public const int MaxGrantIdLength = 256;
    /// <summary>Most grant ids in one redeliver request.</summary>
    public const int MaxRedeliverIds = 1_000;
    /// <summary>Largest redeliver body: room for <see cref="MaxRedeliverIds"/> hex grant ids.</summary>
    public const int MaxRedeliverBodyBytes = 128 * 1024;
    /// <summary>Most grant ids an audit entry of a redelivery lists; beyond, it records their count and digest.</summary>
    public const int MaxAuditedGrantIds = 20;

    public static void Map(WebApplication app)
    {
        var endpoints = app.Services.GetRequiredService<OutboxEndpoints>();
        app.MapGet("/v1/outbox", endpoints.StatusAsync).Allow(Access.Viewer);
        app.MapGet("/v1/outbox/dead-letters", endpoints.DeadLettersAsync).Allow(Access.Viewer);
        app.MapPost("/v1/outbox/redeliver", endpoints.RedeliverAsync).Allow(Access.Operator);
        app.MapGet("/v1/outbox/{grantId}", endpoints.GetAsync).Allow(Access.Viewer);
    }

    public async Task StatusAsync(HttpContext context)
    {
        var counts = await store.Outbox.CountsAsync(context.RequestAborted).ConfigureAwait(false);
        var worker = outbox.Worker;
        var stats = worker?.GetStats();
        var circuit = stats?.Circuit;
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK, new OutboxStatusResponse(
            outbox.WebhookConfigured,
            outbox.Target,
            counts.Pending,
            counts.Delivered,
            counts.DeadLettered,
            GrantResponses.Time(counts.OldestPendingEnqueuedAt),
            Rfc3339.Format(time.GetUtcNow().UtcTicks),
            stats is null ? null : new OutboxWorkerResponse(stats.InFlight, stats.Delivered, stats.FailedAttempts, stats.DeadLettered, stats.Deferred, stats.StoreErrors),
            circuit is null ? null : new OutboxCircuitResponse(
                circuit.State switch
                {
                    CircuitState.Closed => "closed",
                    CircuitState.Open => "open",
                    _ => "half_open",
                },
                circuit.ConsecutiveFailures,
                GrantResponses.Time(circuit.OpenedAt),
                GrantResponses.Time(circuit.RetryAt),
                (long)circuit.CoolDown.TotalMilliseconds,
                circuit.Openings)), StatusWire).ConfigureAwait(false);
    }

    public async Task DeadLettersAsync(HttpContext context)
    {
        int limit = DefaultListLimit;
        if (context.Request.Query["limit"] is { Count: > 0 } limitText &&
            (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxListLimit))
        {
            await Requests.InvalidParameterAsync(context, "limit", $"limit must be a whole number from 1 to {MaxListLimit}.").ConfigureAwait(false);
            return;
        }
        string? after = null;
        if (context.Request.Query["after"] is { Count: > 0 } afterText)
        {
            after = afterText.ToString();
            if (!IsGrantId(after))
            {
                await Requests.InvalidParameterAsync(context, "after", $"after must be a grant id (1 to {MaxGrantIdLength} characters): the last one of the previous page.").ConfigureAwait(false);
                return;
            }
        }
        // One more than asked tells whether there is a next page.
        var page = await store.Outbox.ListDeadLettersAsync(limit + 1, after, context.RequestAborted).ConfigureAwait(false);
        string? next = page.Count > limit ? $"/v1/outbox/dead-letters?limit={limit}&after={Uri.EscapeDataString(page[limit - 1].GrantId)}" : null;
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK, new DeadLetterListResponse([.. page.Take(limit).Select(Delivery)], next), DeadLettersWire)
            .ConfigureAwait(false);
    }

    public async Task GetAsync(HttpContext context, string grantId)
    {
        var state = IsGrantId(grantId) ? await store.Outbox.GetAsync(grantId, context.RequestAborted).ConfigureAwait(false) : null;
        if (state is null)
        {
            await Problems.WriteAsync(context, StatusCodes.Status404NotFound, OutboxProblemCodes.DeliveryNotFound, "Delivery not found",
                $"No grant '{grantId}' is in the outbox.").ConfigureAwait(false);
            return;
        }
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK, Delivery(state), DeliveryWire).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>{"scope": "dead_lettered" | "all_failed", "grant_ids": [...]}</c>; <c>scope</c> is
    /// required, <c>grant_ids</c> optional (absent: every delivery in the scope). Unknown
    /// properties are refused: a misspelt <c>grant_ids</c> would otherwise widen the request to
    /// every delivery in the scope.
    /// </summary>
    public async Task RedeliverAsync(HttpContext context)
    {
        if (MediaTypes.Of(context.Request.ContentType) != "application/json")
        {
            await Problems.WriteAsync(context, StatusCodes.Status415UnsupportedMediaType, ProblemCodes.UnsupportedMediaType, "Unsupported media type",
                "Send the request as application/json: {\"scope\": \"dead_lettered\"} or {\"scope\": \"all_failed\", \"grant_ids\": [\"…\"]}.").ConfigureAwait(false);
            return;
        }
        var body = await Requests.ReadBodyAsync(context, MaxRedeliverBodyBytes, $"The body exceeds the limit of {MaxRedeliverBodyBytes} bytes for this endpoint; redeliver at most {MaxRedeliverIds} grant ids at a time.").ConfigureAwait(false);
        if (body is null)
        {
            return;
        }
        RedeliverScope? scope = null;
        List<string>? grantIds = null;
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new JsonException("not an object");
            }
            foreach (var property in document.RootElement.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "scope":
                        scope = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() switch
                        {
                            "dead_lettered" => RedeliverScope.DeadLettered,
                            "all_failed" => RedeliverScope.AllFailed,
                            _ => null,
                        } : null;
                        if (scope is null)
                        {
                            await Requests.InvalidParameterAsync(context, "scope", "scope must be \"dead_lettered\" or \"all_failed\".").ConfigureAwait(false);
                            return;
                        }
                        break;
                    case "grant_ids" when property.Value.ValueKind == JsonValueKind.Null:
                        break;
                    case "grant_ids":
                        grantIds = ReadGrantIds(property.Value);
                        if (grantIds is null)
                        {
                            await Requests.InvalidParameterAsync(context, "grant_ids",
                                $"grant_ids must be a non-empty array of at most {MaxRedeliverIds} grant ids (strings of 1 to {MaxGrantIdLength} characters); " +
                                "leave it out to redeliver every delivery in the scope.").ConfigureAwait(false);
                            return;
                        }
                        break;
                    default:
                        await Requests.InvalidParameterAsync(context, property.Name, $"'{property.Name}' is not a field of a redeliver request (scope, grant_ids).").ConfigureAwait(false);
                        return;
                }
            }
        }
        catch (JsonException)
        {
            await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.InvalidJson, "Invalid JSON",
                "The body must be a JSON object such as {\"scope\": \"dead_lettered\", \"grant_ids\": [\"…\"]}.").ConfigureAwait(false);
            return;
        }
        if (scope is null)
        {
            await Requests.InvalidParameterAsync(context, "scope", "scope is required: \"dead_lettered\" or \"all_failed\".").ConfigureAwait(false);
            return;
        }
        int moved = await store.Outbox.RedeliverAsync(scope.Value, time.GetUtcNow(), grantIds, context.RequestAborted).ConfigureAwait(false);
        if (moved > 0)
        {
            // They are due now: wake the worker instead of waiting for its next poll.
            outbox.Worker?.Notify();
            await audit.RecordAsync(new Runtime.Audit.AuditRecord(Security.Acting.Of(context).Actor, "outbox.redeliver",
                scope == RedeliverScope.AllFailed ? "all_failed" : "dead_lettered", null, moved.ToString(CultureInfo.InvariantCulture), null,
                Runtime.Audit.AuditDetails.Of(w => WriteRedeliveredIds(w, grantIds))), CancellationToken.None).ConfigureAwait(false);
        }
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK,
            new RedeliverResponse(scope == RedeliverScope.AllFailed ? "all_failed" : "dead_lettered", moved, outbox.WebhookConfigured), RedeliverWire).ConfigureAwait(false);
    }

    /// <summary>The grant ids asked for: all of them when few, else their count and the SHA-256 of them joined by line feeds.</summary>
    private static void WriteRedeliveredIds(Utf8JsonWriter w, List<string>? grantIds)
    {
        if (grantIds is null)
        {
            w.WriteNull("grant_ids");
            return;
        }
        w.WriteNumber("grant_id_count", grantIds.Count);
        if (grantIds.Count <= MaxAuditedGrantIds)
        {
            w.WriteStartArray("grant_ids");
            foreach (string id in grantIds)
            {
                w.WriteStringValue(id);
            }
            w.WriteEndArray();
            return;
        }
        byte[] digest = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', grantIds)));
        w.WriteString("grant_ids_sha256", Convert.ToHexStringLower(digest));
    }

    private static List<string>? ReadGrantIds(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            return null;
        }
        int count = value.GetArrayLength();
        if (count is 0 or > MaxRedeliverIds)
        {
            return null;
        }
        var ids = new List<string>(count);
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || item.GetString() is not { } id || !IsGrantId(id))
            {
                return null;
            }
            ids.Add(id);
        }
        return ids;
    }

    private static OutboxDeliveryResponse Delivery(DeliveryState state) => new(
        state.GrantId,
        state.Status switch
        {
            DeliveryStatus.Pending => "pending",
            DeliveryStatus.Delivered => "delivered",
            _ => "dead_lettered",
        },
        state.Attempts,
        state.TotalAttempts,
        GrantResponses.Time(state.EnqueuedAt),
        GrantResponses.Time(state.NextAttemptAt),
        GrantResponses.Time(state.LastAttemptAt),
        state.LastStatusCode,
        state.LastError,
        GrantResponses.Time(state.DeliveredAt),
        GrantResponses.Time(state.DeadLetteredAt));

    private static bool IsGrantId(string id) => id.Length is > 0 and <= MaxGrantIdLength && !id.Any(char.IsControl);


}

/// <summary>Stable problem codes of the outbox endpoints (kept here, next to the only endpoints that use them).</summary>
internal static class OutboxProblemCodes
{
    public const string DeliveryNotFound = "delivery_not_found";
}
