using System.Globalization;
using System.Text.Json;
using Showrunner.Core.Actions;
using Showrunner.Runtime.Audit;
using Showrunner.Server.Security;
using Showrunner.Storage;

namespace Showrunner.Server.Api;

/// <summary>
/// API key management for admins: <c>POST /v1/keys</c> (the secret is in this answer and nowhere
/// else, ever), <c>GET /v1/keys</c> (never secrets) and <c>DELETE /v1/keys/{id}</c> (revoke; in
/// force for the next request). docs/api.md, "Keys"; docs/operations.md, "Principals, keys and roles".
/// When an audit trail is registered, every creation and revocation is recorded in it.
/// </summary>
internal sealed class KeysEndpoints(KeyRing keys, IActionStore store, IServiceProvider services)
{
    public const int MaxBodyBytes = 4096;
    public const int DefaultListLimit = 100;
    public const int MaxListLimit = 1_000;

    private readonly IAuditTrail? _audit = services.GetService<IAuditTrail>();

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
        if (name is null || name.Length is 0 or > KeyRing.NameLengthMax || name.Any(char.IsControl))
        {
            await Invalid(context, "name", $"name (who or what the key is for) is required: 1 to {KeyRing.NameLengthMax} characters without control characters.").ConfigureAwait(false);
            return;
        }
        NewKey request;
        switch (kind)
        {
            case StoredKey.OperatorKind:
                if (title is not null)
                {
                    await Invalid(context, "title", "An operator key has a role, not a title.").ConfigureAwait(false);
                    return;
                }
                if (role is null || KeyRing.ParseRole(role) is not { } parsedRole)
                {
                    await Invalid(context, "role", "An operator key needs a role: viewer, operator, approver or admin.").ConfigureAwait(false);
                    return;
                }
                request = new NewKey(name, PrincipalKind.Operator, parsedRole, null);
                break;
            case StoredKey.GameServerKind:
                if (role is not null)
                {
                    await Invalid(context, "role", "A game-server key has a title, not a role.").ConfigureAwait(false);
                    return;
                }
                if (!KeyRing.IsValidTitle(title))
                {
                    await Invalid(context, "title", $"A game-server key needs a title: 1 to {KeyRing.TitleLengthMax} ASCII letters, digits, '.', '_' or '-'.").ConfigureAwait(false);
                    return;
                }
                request = new NewKey(name, PrincipalKind.GameServer, null, title);
                break;
            default:
                await Invalid(context, "kind", "kind is required: \"operator\" or \"game_server\".").ConfigureAwait(false);
                return;
        }
        string actor = context.GetPrincipal()!.Actor;
        if (keys.Create(request, actor) is not var (stored, secret))
        {
            await Problems.WriteAsync(context, StatusCodes.Status409Conflict, ProblemCodes.TooManyKeys, "Too many keys",
                $"{KeyRing.MaxActiveKeys} keys are active, the most there may be; revoke keys that are no longer used.").ConfigureAwait(false);
            return;
        }
        if (_audit is not null)
        {
            await _audit.RecordAsync(new AuditRecord(actor, "key.create", stored.Id, null, stored.Id, null, Details(stored)), context.RequestAborted).ConfigureAwait(false);
        }
        // The only answer that ever carries the secret: no cache may keep it.
        context.Response.Headers.CacheControl = "no-store";
        await JsonOutput.WriteAsync(context, StatusCodes.Status201Created, w =>
        {
            WriteKey(w, stored);
            w.WriteString("secret", secret);
        }).ConfigureAwait(false);
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
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteNumber("active", keys.ActiveCount);
            w.WriteStartArray("keys");
            foreach (var key in page.Take(limit))
            {
                w.WriteStartObject();
                WriteKey(w, key);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (page.Count > limit)
            {
                w.WriteString("next", $"/v1/keys?limit={limit}&after={page[limit - 1].Id}");
            }
            else
            {
                w.WriteNull("next");
            }
        }).ConfigureAwait(false);
    }

    public async Task RevokeAsync(HttpContext context, string id)
    {
        if (!ApiKeySecret.IsValidId(id))
        {
            await NotFound(context, id).ConfigureAwait(false);
            return;
        }
        string actor = context.GetPrincipal()!.Actor;
        var (outcome, key) = keys.Revoke(id, actor);
        switch (outcome)
        {
            case RevokeOutcome.NotFound:
                await NotFound(context, id).ConfigureAwait(false);
                return;
            case RevokeOutcome.LastAdmin:
                await Problems.WriteAsync(context, StatusCodes.Status409Conflict, ProblemCodes.LastAdminKey, "Last admin key",
                    $"Key {id} is the last active admin key; create another admin key first, then revoke this one.").ConfigureAwait(false);
                return;
        }
        if (outcome == RevokeOutcome.Revoked && _audit is not null)
        {
            await _audit.RecordAsync(new AuditRecord(actor, "key.revoke", id, id, null, null, Details(key!)), context.RequestAborted).ConfigureAwait(false);
        }
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            WriteKey(w, key!);
            w.WriteBoolean("changed", outcome == RevokeOutcome.Revoked);
        }).ConfigureAwait(false);
    }

    private static Task NotFound(HttpContext context, string id) =>
        Problems.WriteAsync(context, StatusCodes.Status404NotFound, ProblemCodes.KeyNotFound, "Key not found", $"There is no key '{id}'.");

    private static Task Invalid(HttpContext context, string field, string detail) =>
        Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.InvalidKeyRequest, "Invalid key request", detail,
            extensions: w => w.WriteString("field", field));

    /// <summary>A key as the API shows it: everything but the secret's hash.</summary>
    private static void WriteKey(Utf8JsonWriter w, StoredKey key)
    {
        w.WriteString("id", key.Id);
        w.WriteString("kind", key.Kind);
        WriteNullable(w, "role", key.Role);
        WriteNullable(w, "title", key.Title);
        w.WriteString("name", key.Name);
        w.WriteString("created_at", Rfc3339.Format(key.CreatedAtTicks));
        w.WriteString("created_by", key.CreatedBy);
        WriteNullable(w, "revoked_at", key.RevokedAtTicks is { } at ? Rfc3339.Format(at) : null);
        WriteNullable(w, "revoked_by", key.RevokedBy);
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    /// <summary>The audit details of a key: compact JSON, never the secret or its hash.</summary>
    private static string Details(StoredKey key)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, JsonOutput.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("kind", key.Kind);
            WriteNullable(w, "role", key.Role);
            WriteNullable(w, "title", key.Title);
            w.WriteString("name", key.Name);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
