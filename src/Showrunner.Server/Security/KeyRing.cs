using System.Collections.Concurrent;
using System.Security.Cryptography;
using Showrunner.Storage;

namespace Showrunner.Server.Security;

/// <summary>What an admin asks for when creating a key (checked by the endpoint before).</summary>
/// <param name="Role">For operator keys.</param>
/// <param name="Title">For game-server keys.</param>
internal sealed record NewKey(string Name, PrincipalKind Kind, Role? Role, string? Title);

/// <summary>
/// The API keys: every active key is held in memory (id → SHA-256 of its secret and its principal),
/// loaded from the store at start; requests are authenticated against memory only, never the store.
/// Creating a key writes the store, then memory; revoking writes the store, then removes the key
/// from memory before it returns, so a revoked key is refused from the next request on.
/// </summary>
/// <remarks>
/// Secrets are compared as SHA-256 digests with <see cref="CryptographicOperations.FixedTimeEquals"/>:
/// the time a comparison takes says nothing about how much of a guess was right. No secret is
/// ever logged; only key ids (public) are.
/// </remarks>
internal sealed partial class KeyRing
{
    /// <summary>Most keys active at once (memory and the listing stay bounded; revoked keys do not count).</summary>
    public const int MaxActiveKeys = 10_000;
    public const int NameLengthMax = 100;
    public const int TitleLengthMax = 64;
    public const string AdminKeyFileName = "admin.key";
    public const string BootstrapActor = "system:bootstrap";

    private readonly IKeyStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<KeyRing> _logger;
    private readonly ConcurrentDictionary<string, ActiveKey> _active = new(StringComparer.Ordinal);
    private readonly Lock _writeLock = new();

    private sealed record ActiveKey(byte[] SecretSha256, Principal Principal);

    public KeyRing(IKeyStore store, TimeProvider time, ILogger<KeyRing> logger)
    {
        _store = store;
        _time = time;
        _logger = logger;
        foreach (var key in store.ListActive())
        {
            _active[key.Id] = new ActiveKey(key.SecretSha256, PrincipalOf(key));
        }
    }

    public int ActiveCount => _active.Count;

    /// <summary>
    /// On a data directory without any key, creates the first admin key and writes it to
    /// <c>&lt;data&gt;/admin.key</c> (mode 0600) before storing it, so a crash in between leaves no
    /// key nobody has. Returns the key's text to show once, or null when keys exist.
    /// </summary>
    public (string Id, string Text, string Path)? Bootstrap(string dataDirectory)
    {
        lock (_writeLock)
        {
            if (_store.Count() > 0)
            {
                return null;
            }
            var (id, text, hash) = ApiKeySecret.Create();
            string path = Path.Combine(dataDirectory, AdminKeyFileName);
            SecretFile.Write(path, text + "\n");
            var stored = new StoredKey(id, StoredKey.OperatorKind, Name(Role.Admin), null, "bootstrap admin", hash, _time.GetUtcNow().UtcTicks, BootstrapActor);
            if (!_store.Insert(stored))
            {
                throw new InvalidOperationException($"A new key id {id} was already taken in an empty key table.");
            }
            _active[id] = new ActiveKey(hash, PrincipalOf(stored));
            Log.AdminKeyCreated(_logger, id, path);
            return (id, text, path);
        }
    }

    /// <summary>Creates a key; its text is returned here and nowhere else. Null when <see cref="MaxActiveKeys"/> keys are active.</summary>
    public (StoredKey Key, string Text)? Create(NewKey request, string createdBy)
    {
        lock (_writeLock)
        {
            if (_active.Count >= MaxActiveKeys)
            {
                return null;
            }
            // 48-bit ids: a collision is rare, and is simply drawn again.
            for (int attempt = 0; ; attempt++)
            {
                var (id, text, hash) = ApiKeySecret.Create();
                var stored = request.Kind == PrincipalKind.GameServer
                    ? new StoredKey(id, StoredKey.GameServerKind, null, request.Title, request.Name, hash, _time.GetUtcNow().UtcTicks, createdBy)
                    : new StoredKey(id, StoredKey.OperatorKind, Name(request.Role ?? Role.Viewer), null, request.Name, hash, _time.GetUtcNow().UtcTicks, createdBy);
                if (_store.Insert(stored))
                {
                    _active[id] = new ActiveKey(hash, PrincipalOf(stored));
                    Log.KeyCreated(_logger, id, stored.Kind, stored.Role ?? stored.Title!, stored.Name, createdBy);
                    return (stored, text);
                }
                if (attempt == 8)
                {
                    throw new InvalidOperationException("Eight new key ids in a row were taken; the random source is broken.");
                }
            }
        }
    }

    /// <summary>Revokes a key in the store and then in memory, before returning.</summary>
    public (RevokeOutcome Outcome, StoredKey? Key) Revoke(string id, string revokedBy)
    {
        lock (_writeLock)
        {
            var result = _store.Revoke(id, _time.GetUtcNow().UtcTicks, revokedBy);
            if (result.Outcome is RevokeOutcome.Revoked or RevokeOutcome.AlreadyRevoked)
            {
                _active.TryRemove(id, out _);
            }
            if (result.Outcome == RevokeOutcome.Revoked)
            {
                Log.KeyRevoked(_logger, id, revokedBy);
            }
            return result;
        }
    }

    /// <summary>The principal of an active key whose text this is, or null (not a key, unknown, revoked, wrong secret).</summary>
    public Principal? Authenticate(ReadOnlySpan<char> text, out string? keyId)
    {
        Span<byte> hash = stackalloc byte[32];
        if (!ApiKeySecret.TryParse(text, out string id, hash))
        {
            keyId = null;
            return null;
        }
        keyId = id;
        if (!_active.TryGetValue(id, out var key))
        {
            return null;
        }
        return CryptographicOperations.FixedTimeEquals(hash, key.SecretSha256) ? key.Principal : null;
    }

    public static Principal PrincipalOf(StoredKey key) => key.Kind == StoredKey.GameServerKind
        ? new Principal(key.Id, PrincipalKind.GameServer, key.Name, Role.Viewer, Title: key.Title)
        : new Principal(key.Id, PrincipalKind.Operator, key.Name, ParseRole(key.Role!) ?? throw new InvalidDataException($"Key {key.Id} has an unknown role '{key.Role}'."));

    public static string Name(Role role) => role switch
    {
        Role.Viewer => "viewer",
        Role.Operator => "operator",
        Role.Approver => "approver",
        _ => "admin",
    };

    public static Role? ParseRole(string text) => text switch
    {
        "viewer" => Role.Viewer,
        "operator" => Role.Operator,
        "approver" => Role.Approver,
        "admin" => Role.Admin,
        _ => null,
    };

    /// <summary>A title is 1 to 64 ASCII letters, digits, '.', '_' or '-'.</summary>
    public static bool IsValidTitle(string? title) =>
        title is { Length: > 0 and <= TitleLengthMax } && title.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    private static partial class Log
    {
        [LoggerMessage(EventId = 6000, Level = LogLevel.Warning,
            Message = "No API key existed: created admin key {KeyId} and wrote it to {Path} (shown once on standard output)")]
        public static partial void AdminKeyCreated(ILogger logger, string keyId, string path);

        [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "API key {KeyId} created: {Kind} {RoleOrTitle} for '{Name}' by {Actor}")]
        public static partial void KeyCreated(ILogger logger, string keyId, string kind, string roleOrTitle, string name, string actor);

        [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "API key {KeyId} revoked by {Actor}")]
        public static partial void KeyRevoked(ILogger logger, string keyId, string actor);
    }
}
