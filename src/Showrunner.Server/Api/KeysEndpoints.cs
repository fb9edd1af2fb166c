using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Showrunner.Contracts.Keys;
using Showrunner.Contracts.Wire;
using Showrunner.Core.Actions;
using Showrunner.Server.Security;
using Showrunner.Storage;

namespace Showrunner.Server.Api;

/// <summary>
/// API key management for admins: <c>POST /v1/keys</c> (the secret is in this answer and nowhere
/// else, ever), <c>GET /v1/keys</c> (never secrets) and <c>DELETE /v1/keys/{id}</c> (revoke; in
/// force for the next request). docs/api.md, "Keys"; docs/operations.md, "Principals, keys and roles".
/// The endpoint reads the body and answers; the use cases (checks, creation, revocation, audit) are
/// <see cref="KeyService"/>'s.
/// </summary>
internal sealed class KeysEndpoints(KeyService service, IActionStore store)
{
    public const int MaxBodyBytes = 4096;
    public const int DefaultListLimit = 100;
    public const int MaxListLimit = 1_000;

    private static readonly JsonTypeInfo<KeyResponse> KeyWire = WireJson.Of(KeysJson.Default.KeyResponse);
    private static readonly JsonTypeInfo<KeyListResponse> ListWire = WireJson.Of(KeysJson.Default.KeyListResponse);

    public static void Map(WebApplication app)
    {
        var endpoints = app.Services.GetRequiredService<KeysEndpoints>();
        app.MapPost("/v1/keys", endpoints.CreateAsync).Allow(Access.Admin);
        app.MapGet("/v1/keys", endpoints.ListAsync).Allow(Access.Admin);
        app.MapDelete("/v1/keys/{id}", endpoints.RevokeAsync).Allow(Access.Admin);
    }

    /// <summary><c>{"name": "...", "kind": "operator", "role": "viewer"}</c> or <c>{"name": "...", "kind": "game_server", "title": "..."}</c>.</summary>
    public async Task CreateAsync(HttpContext context)
    {
        if (MediaTypes.Of(context.Request.ContentType) != "application/json")
        {
            await Problems.WriteAsync(context, StatusCodes.Status415UnsupportedMediaType, ProblemCodes.UnsupportedMediaType, "Unsupported media type",
                "Send the request as application/json: {\"name\": \"...\", \"kind\": \"operator\", \"role\": \"viewer\"}.").ConfigureAwait(false);
            return;
        }
        var body = await Requests.ReadBodyAsync(context, MaxBodyBytes).ConfigureAwait(false);
        if (body is null)
        {
            return;
        }
        string? name = null, kind = null, role = null, title = null;
        try
        {
            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 2 });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new JsonException("not an object");
            }
            foreach (var property in document.RootElement.EnumerateObject())
            {
                string? text = property.Value.ValueKind switch
                {
                    JsonValueKind.String => property.Value.GetString(),
                    JsonValueKind.Null => null,
                    _ => "\0",
                };
                if (text == "\0")
                {
                    await Invalid(context, property.Name, $"{property.Name} is a string.").ConfigureAwait(false);
                    return;
                }
                switch (property.Name)
                {
                    case "name":
                        name = text;
                        break;
                    case "kind":
                        kind = text;
                        break;
                    case "role":
                        role = text;
                        break;
                    case "title":
                        title = text;
                        break;
                    default:
                        await Invalid(context, property.Name, $"'{property.Name}' is not a field of a key request (name, kind, role, title).").ConfigureAwait(false);
                        return;
                }
            }
        }
        catch (JsonException)
        {
            await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.InvalidJson, "Invalid JSON",
                "The body must be a JSON object such as {\"name\": \"alice\", \"kind\": \"operator\", \"role\": \"viewer\"}.").ConfigureAwait(false);
            return;
        }
        var result = await service.CreateAsync(new CreateKeyCommand(name, kind, role, title), context.GetPrincipal()!.Actor, context.RequestAborted).ConfigureAwait(false);
        if (result.Refusal is { } refusal)
        {
            await (refusal.Code == KeyRefusalCode.TooManyKeys
                ? Problems.WriteAsync(context, StatusCodes.Status409Conflict, ProblemCodes.TooManyKeys, "Too many keys", refusal.Detail)
                : Invalid(context, refusal.Field!, refusal.Detail)).ConfigureAwait(false);
            return;
        }
        // The only answer that ever carries the secret: no cache may keep it.
        context.Response.Headers.CacheControl = "no-store";
        await ContractResults.WriteAsync(context, StatusCodes.Status201Created, Response(result.Key!) with { Secret = result.Secret }, KeyWire).ConfigureAwait(false);
    }

    public async Task ListAsync(HttpContext context)
    {
        int limit = DefaultListLimit;
        if (context.Request.Query["limit"] is { Count: > 0 } limitText &&
            (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxListLimit))
        {
            await Requests.InvalidParameterAsync(context, "limit", $"limit must be a whole number from 1 to {MaxListLimit}.").ConfigureAwait(false);
            return;
        }
        string? after = context.Request.Query["after"];
        if (after is not null && (!ApiKeySecret.IsValidId(after) || store.Keys.Find(after) is null))
        {
            await Requests.InvalidParameterAsync(context, "after", "after must be the id of a key (the last one of the previous page).").ConfigureAwait(false);
            return;
        }
        var page = store.Keys.List(limit + 1, after);
        string? next = page.Count > limit ? $"/v1/keys?limit={limit}&after={page[limit - 1].Id}" : null;
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK, new KeyListResponse(service.ActiveCount, [.. page.Take(limit).Select(Response)], next), ListWire)
            .ConfigureAwait(false);
    }

    public async Task RevokeAsync(HttpContext context, string id)
    {
        if (!ApiKeySecret.IsValidId(id))
        {
            await NotFound(context, id).ConfigureAwait(false);
            return;
        }
        var result = await service.RevokeAsync(id, context.GetPrincipal()!.Actor, context.RequestAborted).ConfigureAwait(false);
        switch (result.Refusal?.Code)
        {
            case KeyRefusalCode.NotFound:
                await NotFound(context, id).ConfigureAwait(false);
                return;
            case KeyRefusalCode.LastAdmin:
                await Problems.WriteAsync(context, StatusCodes.Status409Conflict, ProblemCodes.LastAdminKey, "Last admin key", result.Refusal.Detail).ConfigureAwait(false);
                return;
        }
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK, Response(result.Key!) with { Changed = result.Changed }, KeyWire).ConfigureAwait(false);
    }

    private static Task NotFound(HttpContext context, string id) =>
        Problems.WriteAsync(context, StatusCodes.Status404NotFound, ProblemCodes.KeyNotFound, "Key not found", $"There is no key '{id}'.");

    private static Task Invalid(HttpContext context, string field, string detail) =>
        Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.InvalidKeyRequest, "Invalid key request", detail,
            extensions: w => w.WriteString("field", field));

    /// <summary>A key as the API shows it: everything but the secret's hash.</summary>
    private static KeyResponse Response(StoredKey key) => new(key.Id, key.Kind, key.Role, key.Title, key.Name, Rfc3339.Format(key.CreatedAtTicks), key.CreatedBy,
        key.RevokedAtTicks is { } at ? Rfc3339.Format(at) : null, key.RevokedBy);
}
