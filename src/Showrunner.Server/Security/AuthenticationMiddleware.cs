using Showrunner.Server.Api;
using Showrunner.Server.Hosting;

namespace Showrunner.Server.Security;

/// <summary>
/// Authentication, rate limits and authorization of every request, before its endpoint runs:
/// <list type="number">
/// <item>An endpoint of the app without an <see cref="AccessRequirement"/> is refused to everybody
/// (403 <c>forbidden</c>): fail closed.</item>
/// <item><see cref="Access.Public"/> endpoints, unknown paths and the framework's 405 answers do not
/// look at credentials; they are rate-limited per remote address.</item>
/// <item>Otherwise <c>Authorization: Bearer &lt;key-or-token&gt;</c> names an API key or a player
/// token. Missing, malformed, unknown, revoked or wrong → 401 <c>unauthorized</c>, expired token →
/// 401 <c>token_expired</c>, both with <c>WWW-Authenticate: Bearer</c>, and counted against the
/// remote address (so guessing keys is rate-limited too).</item>
/// <item>A valid credential is counted in its own bucket (key id or player): over the limit → 429
/// <c>rate_limited</c> with <c>Retry-After</c>.</item>
/// <item><see cref="AccessPolicy"/> decides: 403 <c>forbidden</c> or <c>title_mismatch</c>, or the
/// principal is set on the request (<see cref="AccessExtensions.GetPrincipal"/>) and the endpoint runs.</item>
/// </list>
/// No credential is ever logged or echoed; refusals are logged at Debug with the key id at most.
/// </summary>
internal sealed partial class AuthenticationMiddleware(RequestDelegate next, KeyRing keys, PlayerTokens tokens, RateLimiter limiter,
    ServerOptions options, ILogger<AuthenticationMiddleware> logger)
{
    public const string Unauthorized = "unauthorized";
    public const string TokenExpired = "token_expired";
    public const string RateLimited = "rate_limited";
    /// <summary>Longest Authorization header looked at; longer ones are malformed without being parsed.</summary>
    public const int MaxCredentialLength = 4096;
    private const string BearerPrefix = "Bearer ";

    public async Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        if (endpoint is not RouteEndpoint)
        {
            // No endpoint (404) or the router's 405 answer: nothing to protect, but not free either.
            if (!await LimitedAsync(context, RateLimitKind.Anonymous, RemoteOf(context)).ConfigureAwait(false))
            {
                await next(context).ConfigureAwait(false);
            }
            return;
        }
        var requirement = endpoint.Metadata.GetMetadata<AccessRequirement>();
        if (requirement is null)
        {
            await Problems.WriteAsync(context, StatusCodes.Status403Forbidden, AccessPolicy.Forbidden, "Forbidden",
                $"{context.Request.Method} {context.Request.Path} declares no access rule, so it is refused to everybody.").ConfigureAwait(false);
            return;
        }
        if (requirement.Access == Access.Public)
        {
            if (!await LimitedAsync(context, RateLimitKind.Anonymous, RemoteOf(context)).ConfigureAwait(false))
            {
                await next(context).ConfigureAwait(false);
            }
            return;
        }
        var (principal, code, detail, keyId) = Resolve(context);
        if (principal is null)
        {
            if (await LimitedAsync(context, RateLimitKind.Anonymous, RemoteOf(context)).ConfigureAwait(false))
            {
                return;
            }
            Log.Refused(logger, context.Request.Method, context.Request.Path.Value ?? "", code!, keyId ?? "-");
            context.Response.Headers.WWWAuthenticate = context.Request.Headers.Authorization.Count == 0
                ? "Bearer realm=\"showrunner\""
                : "Bearer realm=\"showrunner\", error=\"invalid_token\"";
            await Problems.WriteAsync(context, StatusCodes.Status401Unauthorized, code!, code == TokenExpired ? "Token expired" : "Unauthorized", detail!).ConfigureAwait(false);
            return;
        }
        var (kind, bucket) = principal.Kind switch
        {
            PrincipalKind.Player => (RateLimitKind.Player, principal.Player!),
            PrincipalKind.GameServer => (RateLimitKind.GameServer, principal.Id),
            _ => (RateLimitKind.Operator, principal.Id),
        };
        if (await LimitedAsync(context, kind, bucket).ConfigureAwait(false))
        {
            return;
        }
        var decision = AccessPolicy.Check(requirement.Access, principal, options.Security.Title);
        if (!decision.Allowed)
        {
            Log.Refused(logger, context.Request.Method, context.Request.Path.Value ?? "", decision.Code!, principal.Actor);
            await Problems.WriteAsync(context, StatusCodes.Status403Forbidden, decision.Code!,
                decision.Code == AccessPolicy.TitleMismatch ? "Title mismatch" : "Forbidden", decision.Detail!,
                extensions: w => w.WriteString("needed", AccessPolicy.Needed(requirement.Access, options.Security.Title))).ConfigureAwait(false);
            return;
        }
        context.SetPrincipal(principal);
        await next(context).ConfigureAwait(false);
    }

    /// <summary>The caller named by the Authorization header, or why there is none.</summary>
    private (Principal? Principal, string? Code, string? Detail, string? KeyId) Resolve(HttpContext context)
    {
        var headers = context.Request.Headers.Authorization;
        if (headers.Count == 0)
        {
            return (null, Unauthorized, "This needs a credential: send 'Authorization: Bearer <key-or-token>' (an API key or a player token).", null);
        }
        string? header = headers.Count == 1 ? headers[0] : null;
        if (header is null || header.Length > MaxCredentialLength || !header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return (null, Unauthorized, "The Authorization header must be exactly one 'Bearer <key-or-token>'.", null);
        }
        // Exactly one space after the scheme and none in the credential (api.md): "Bearer  <key>" is
        // malformed, not a key with a blank in front (token68 of RFC 9110 §11.4 has no spaces).
        var credential = header.AsSpan(BearerPrefix.Length);
        if (credential.IsEmpty || credential.ContainsAny(' ', '\t'))
        {
            return (null, Unauthorized, "The Authorization header must be exactly one 'Bearer <key-or-token>', with one space and no other.", null);
        }
        if (ApiKeySecret.LooksLikeKey(credential))
        {
            var principal = keys.Authenticate(credential, out string? keyId);
            return principal is null
                ? (null, Unauthorized, "The API key is not valid: malformed, unknown, revoked, or a wrong secret.", keyId)
                : (principal, null, null, keyId);
        }
        if (PlayerTokens.LooksLikeToken(credential))
        {
            var (status, token) = tokens.Verify(credential);
            return status switch
            {
                TokenStatus.Valid => (new Principal(token!.Player, PrincipalKind.Player, token.Player, Role.Viewer, token.Title, token.Player), null, null, null),
                TokenStatus.Expired => (null, TokenExpired,
                    $"The player token expired at {Core.Actions.Rfc3339.Format(token!.ExpiresAt.UtcTicks)}; ask the game server for a new one.", null),
                _ => (null, Unauthorized, "The player token is not valid: damaged, or not signed by this server.", null),
            };
        }
        return (null, Unauthorized, "The credential is neither an API key (sr_…) nor a player token (srt1.…).", null);
    }

    /// <summary>Takes one request from the bucket; when it is empty answers 429 and returns true.</summary>
    private async Task<bool> LimitedAsync(HttpContext context, RateLimitKind kind, string bucket)
    {
        if (limiter.TryTake(kind, bucket) is not { } wait)
        {
            return false;
        }
        var limit = options.Security.RateLimits.For(kind);
        await Problems.WriteAsync(context, StatusCodes.Status429TooManyRequests, RateLimited, "Rate limited",
            $"More than {limit.PerSecond} requests per second (bursts of {limit.Burst}) for this {Name(kind)}; retry after the Retry-After seconds.",
            retryAfter: wait).ConfigureAwait(false);
        return true;
    }

    private static string Name(RateLimitKind kind) => kind switch
    {
        RateLimitKind.Operator => "operator key",
        RateLimitKind.GameServer => "game-server key",
        RateLimitKind.Player => "player",
        _ => "remote address without a valid credential",
    };

    private static string RemoteOf(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    private static partial class Log
    {
        [LoggerMessage(EventId = 6010, Level = LogLevel.Debug, Message = "Refused {Method} {Path}: {Code} ({Caller})")]
        public static partial void Refused(ILogger logger, string method, string path, string code, string caller);
    }
}
