using Showrunner.Contracts.Keys;
using Showrunner.Contracts.Wire;
using Showrunner.Runtime.Audit;
using Showrunner.Storage;

namespace Showrunner.Server.Security;

/// <summary>A key as an admin asks for it, each field as given (null: left out); <see cref="KeyService.CreateAsync"/> checks it.</summary>
internal sealed record CreateKeyCommand(string? Name, string? Kind, string? Role, string? Title);

internal enum KeyRefusalCode
{
    /// <summary>A field breaks a rule (<see cref="KeyRefusal.Field"/> names it).</summary>
    InvalidRequest,
    /// <summary><see cref="KeyRing.MaxActiveKeys"/> keys are active.</summary>
    TooManyKeys,
    NotFound,
    /// <summary>The key is the last active admin key.</summary>
    LastAdmin,
}

internal sealed record KeyRefusal(KeyRefusalCode Code, string Detail, string? Field = null);

/// <summary>The result of a key request: the key (and, once, its secret), or the refusal. <see cref="Changed"/>: a revocation revoked it now.</summary>
internal sealed record KeyResult(StoredKey? Key, string? Secret = null, bool Changed = false, KeyRefusal? Refusal = null);

/// <summary>
/// Key management as use cases (docs/operations.md, "Principals, keys and roles"): create a key from a
/// checked request, revoke one, and record either in the audit trail when one is registered. The
/// secret leaves only in the result of <see cref="CreateAsync"/>; the audit details never carry it.
/// </summary>
/// <remarks>
/// It lives beside <see cref="KeyRing"/> (the server's principals) rather than in Runtime: moving the
/// key ring and principals out of the server touches authentication, which is not this change's.
/// </remarks>
internal sealed class KeyService(KeyRing keys, IServiceProvider services)
{
    private static readonly System.Text.Json.Serialization.Metadata.JsonTypeInfo<KeyAuditDetails> DetailsWire = WireJson.Of(KeysJson.Default.KeyAuditDetails);
    private readonly IAuditTrail? _audit = services.GetService<IAuditTrail>();

    public int ActiveCount => keys.ActiveCount;

    /// <summary>Creates the key <paramref name="command"/> asks for, by <paramref name="actor"/>; checked in a fixed order: name, kind, then the kind's role or title.</summary>
    public async Task<KeyResult> CreateAsync(CreateKeyCommand command, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        string? name = command.Name;
        if (name is null || name.Length is 0 or > KeyRing.NameLengthMax || name.Any(char.IsControl))
        {
            return Invalid("name", $"name (who or what the key is for) is required: 1 to {KeyRing.NameLengthMax} characters without control characters.");
        }
        NewKey request;
        switch (command.Kind)
        {
            case StoredKey.OperatorKind:
                if (command.Title is not null)
                {
                    return Invalid("title", "An operator key has a role, not a title.");
                }
                if (command.Role is null || KeyRing.ParseRole(command.Role) is not { } role)
                {
                    return Invalid("role", "An operator key needs a role: viewer, operator, approver or admin.");
                }
                request = new NewKey(name, PrincipalKind.Operator, role, null);
                break;
            case StoredKey.GameServerKind:
                if (command.Role is not null)
                {
                    return Invalid("role", "A game-server key has a title, not a role.");
                }
                if (!KeyRing.IsValidTitle(command.Title))
                {
                    return Invalid("title", $"A game-server key needs a title: 1 to {KeyRing.TitleLengthMax} ASCII letters, digits, '.', '_' or '-'.");
                }
                request = new NewKey(name, PrincipalKind.GameServer, null, command.Title);
                break;
            default:
                return Invalid("kind", "kind is required: \"operator\" or \"game_server\".");
        }
        if (keys.Create(request, actor) is not var (stored, secret))
        {
            return new KeyResult(null, Refusal: new KeyRefusal(KeyRefusalCode.TooManyKeys,
                $"{KeyRing.MaxActiveKeys} keys are active, the most there may be; revoke keys that are no longer used."));
        }
        if (_audit is not null)
        {
            await _audit.RecordAsync(new AuditRecord(actor, "key.create", stored.Id, null, stored.Id, null, Details(stored)), cancellationToken).ConfigureAwait(false);
        }
        return new KeyResult(stored, secret);
    }

    /// <summary>Revokes key <paramref name="id"/> (a valid key id) by <paramref name="actor"/>; revoking a revoked key changes nothing.</summary>
    public async Task<KeyResult> RevokeAsync(string id, string actor, CancellationToken cancellationToken = default)
    {
        var (outcome, key) = keys.Revoke(id, actor);
        switch (outcome)
        {
            case RevokeOutcome.NotFound:
                return new KeyResult(null, Refusal: new KeyRefusal(KeyRefusalCode.NotFound, $"There is no key '{id}'."));
            case RevokeOutcome.LastAdmin:
                return new KeyResult(null, Refusal: new KeyRefusal(KeyRefusalCode.LastAdmin,
                    $"Key {id} is the last active admin key; create another admin key first, then revoke this one."));
        }
        if (outcome == RevokeOutcome.Revoked && _audit is not null)
        {
            await _audit.RecordAsync(new AuditRecord(actor, "key.revoke", id, id, null, null, Details(key!)), cancellationToken).ConfigureAwait(false);
        }
        return new KeyResult(key, Changed: outcome == RevokeOutcome.Revoked);
    }

    private static KeyResult Invalid(string field, string detail) => new(null, Refusal: new KeyRefusal(KeyRefusalCode.InvalidRequest, detail, field));

    /// <summary>The audit details of a key: compact JSON, never the secret or its hash.</summary>
    private static string Details(StoredKey key) => System.Text.Json.JsonSerializer.Serialize(new KeyAuditDetails(key.Kind, key.Role, key.Title, key.Name), DetailsWire);
}
