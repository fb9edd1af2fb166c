using System.Globalization;
using System.Text.Json;

namespace Showrunner.Server.Api;

/// <summary>
/// RFC 9457 problem responses. Every error the API returns has a stable <c>code</c> (also the last
/// segment of <c>type</c>) that clients can switch on; <c>title</c> and <c>detail</c> are for people.
/// </summary>
internal static class Problems
{
    public const string ContentType = "application/problem+json";

    public static Task WriteAsync(HttpContext context, int status, string code, string title, string detail,
        TimeSpan? retryAfter = null, Action<Utf8JsonWriter>? extensions = null) =>
        Of(context.Request.Path.Value ?? "", status, code, title, detail, retryAfter, extensions).WriteAsync(context);

    /// <summary>A problem response for <paramref name="instance"/> (the request path), built but not yet written.</summary>
    public static ApiResult Of(string instance, int status, string code, string title, string detail,
        TimeSpan? retryAfter = null, Action<Utf8JsonWriter>? extensions = null)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, JsonOutput.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("type", "urn:showrunner:problem:" + code);
            writer.WriteString("title", title);
            writer.WriteNumber("status", status);
            writer.WriteString("detail", detail);
            writer.WriteString("code", code);
            writer.WriteString("instance", instance);
            extensions?.Invoke(writer);
            writer.WriteEndObject();
        }
        return new ApiResult(status, buffer.ToArray(), ContentType, RetryAfter: retryAfter);
    }
}

/// <summary>
/// A response decided before it is written: what an endpoint answers, or what an approved request
/// answered when it was executed later (kept with the approval, docs/api.md "Approvals").
/// </summary>
internal sealed record ApiResult(int Status, byte[] Body, string ContentType, string? Location = null, TimeSpan? RetryAfter = null)
{
    public static ApiResult Json(int status, Action<Utf8JsonWriter> body, string? location = null)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, JsonOutput.WriterOptions))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }
        return new ApiResult(status, buffer.ToArray(), "application/json", location);
    }

    public bool IsSuccess => Status is >= 200 and < 300;

    /// <summary>The body as text (it is UTF-8 JSON).</summary>
    public string Text => System.Text.Encoding.UTF8.GetString(Body);

    public async Task WriteAsync(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = Status;
        response.ContentType = ContentType;
        if (Location is not null)
        {
            response.Headers.Location = Location;
        }
        if (RetryAfter is { } delay)
        {
            response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(delay.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }
        response.ContentLength = Body.Length;
        await response.Body.WriteAsync(Body, context.RequestAborted).ConfigureAwait(false);
    }
}

/// <summary>Problems and request bodies shared by the endpoints.</summary>
internal static class Requests
{
    /// <summary>400 <c>invalid_parameter</c> naming the query or route parameter.</summary>
    public static Task InvalidParameterAsync(HttpContext context, string parameter, string detail) =>
        Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.InvalidParameter, "Invalid parameter", detail,
            extensions: w => w.WriteString("parameter", parameter));

    /// <summary>
    /// Reads the whole body up to <paramref name="limit"/> bytes (also lowering Kestrel's own limit
    /// for the request); beyond it answers 413 <c>body_too_large</c> with <paramref name="tooLargeDetail"/>
    /// (or a default) and returns null.
    /// </summary>
    public static async Task<byte[]?> ReadBodyAsync(HttpContext context, int limit, string? tooLargeDetail = null)
    {
        Task TooLarge() => Problems.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, ProblemCodes.BodyTooLarge, "Body too large",
            tooLargeDetail ?? $"The body exceeds the limit of {limit} bytes for this endpoint.");
        if (context.Request.ContentLength > limit)
        {
            await TooLarge().ConfigureAwait(false);
            return null;
        }
        var sizeFeature = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = limit + 1L;
        }
        var (buffer, length) = await ActionsEndpoints.ReadBodyAsync(context.Request.BodyReader, limit, context.RequestAborted).ConfigureAwait(false);
        try
        {
            if (length < 0)
            {
                await TooLarge().ConfigureAwait(false);
                return null;
            }
            return buffer.AsSpan(0, length).ToArray();
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>Stable codes of problem responses that are not about an action batch.</summary>
internal static class ProblemCodes
{
    public const string Overloaded = "overloaded";
    public const string RolloutInProgress = "rollout_in_progress";
    public const string RolloutNotRunning = "rollout_not_running";
    public const string RolloutPlanInvalid = "rollout_plan_invalid";
    public const string SoakNotElapsed = "soak_not_elapsed";
    public const string GatesFailing = "gates_failing";
    public const string SameRelease = "same_release";
    public const string FlagTargetUnknown = "flag_target_unknown";
    public const string NotReady = "not_ready";
    public const string StoreUnavailable = "store_unavailable";
    public const string NotFound = "not_found";
    public const string InvalidId = "invalid_id";
    public const string InternalError = "internal_error";

    /// <summary>An executor failed while evaluating the batch (a bug); its partitions stopped and reloaded (500).</summary>
    public const string EvaluationFailed = "evaluation_failed";

    /// <summary>The partition holding the requested state gave no answer within the answer timeout (503; readiness reports why).</summary>
    public const string RuntimeStalled = "runtime_stalled";
    public const string MethodNotAllowed = "method_not_allowed";
    public const string UnsupportedMediaType = "unsupported_media_type";
    public const string BodyTooLarge = "body_too_large";
    public const string InvalidJson = "invalid_json";
    /// <summary>Kestrel refused the request while its body was read (early end, bad framing): <see cref="HttpRequestFailures"/>.</summary>
    public const string BadRequest = "bad_request";
    /// <summary>The body arrived below the minimum data rate: <see cref="HttpRequestFailures"/>.</summary>
    public const string RequestTimeout = "request_timeout";
    public const string InvalidParameter = "invalid_parameter";
    public const string ReleaseInvalid = "release_invalid";
    public const string ReleaseHashMismatch = "release_hash_mismatch";
    public const string ReleaseNotFound = "release_not_found";
    public const string ReleaseIncompatible = "release_incompatible";
    public const string VersionConflict = "version_conflict";
    public const string NothingToRollBack = "nothing_to_roll_back";
    public const string NoActiveRelease = "no_active_release";
    public const string EventNotFound = "event_not_found";
    public const string CheckpointNotFound = "checkpoint_not_found";
    public const string InvalidGrantId = "invalid_grant_id";
    public const string GrantNotFound = "grant_not_found";
    /// <summary>503: the grant's partition ledger failed a check; see <see cref="LedgerDamageProblem"/>.</summary>
    public const string LedgerDamaged = "ledger_damaged";
    public const string NotRanked = "not_ranked";
    public const string NoCommunityGoal = "no_community_goal";
    public const string InvalidGrantRequest = "invalid_grant_request";
    public const string GrantConflict = "grant_conflict";
    public const string GrantInProgress = "grant_in_progress";
    // Principals and keys (the 401, 403 and 429 codes are in Security: AuthenticationMiddleware, AccessPolicy).
    public const string InvalidKeyRequest = "invalid_key_request";
    public const string KeyNotFound = "key_not_found";
    public const string LastAdminKey = "last_admin_key";
    public const string TooManyKeys = "too_many_keys";
    public const string Forbidden = "forbidden";
    public const string ApprovalNotFound = "approval_not_found";
    public const string SamePerson = "same_person";
    public const string ApprovalExpired = "approval_expired";
    public const string ApprovalDecided = "approval_decided";
    public const string ApprovalLimit = "approval_limit";
    public const string ApprovalKindUnknown = "approval_kind_unknown";
}

/// <summary>Writer settings for hand-written JSON responses: readable escaping (the API is not embedded in HTML).</summary>
internal static class JsonOutput
{
    /// <summary>Writes one JSON object as the response, with its Content-Length.</summary>
    public static async Task WriteAsync(HttpContext context, int status, Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength = buffer.Length;
        await response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted).ConfigureAwait(false);
    }

    public static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}

/// <summary>The media type of a Content-Type header: lower case, parameters (<c>; charset=…</c>) and spaces removed; null when absent.</summary>
internal static class MediaTypes
{
    public static string? Of(string? contentType)
    {
        if (contentType is null)
        {
            return null;
        }
        int semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        return (semicolon >= 0 ? contentType[..semicolon] : contentType).Trim().ToLowerInvariant();
    }
}
