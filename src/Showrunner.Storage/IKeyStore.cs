namespace Showrunner.Storage;

/// <summary>One API key as stored. The secret is not here: only its SHA-256.</summary>
/// <param name="Id">The public key id: 12 lower-case hex characters.</param>
/// <param name="Kind"><c>operator</c> or <c>game_server</c>.</param>
/// <param name="Role">For operator keys: <c>viewer</c>, <c>operator</c>, <c>approver</c> or <c>admin</c>; null for game-server keys.</param>
/// <param name="Title">For game-server keys: the game title; null for operator keys.</param>
/// <param name="Name">Who or what the key is for.</param>
/// <param name="SecretSha256">SHA-256 of the key's 32 secret bytes.</param>
/// <param name="CreatedBy">The actor that created it (<c>key:ID</c>, <c>system:bootstrap</c>).</param>
public sealed record StoredKey(
    string Id, string Kind, string? Role, string? Title, string Name, byte[] SecretSha256,
    long CreatedAtTicks, string CreatedBy, long? RevokedAtTicks = null, string? RevokedBy = null)
{
    public const string OperatorKind = "operator";
    public const string GameServerKind = "game_server";
    public const string AdminRole = "admin";

    public bool IsActiveAdmin => RevokedAtTicks is null && Kind == OperatorKind && Role == AdminRole;
}

/// <summary>What <see cref="IKeyStore.Revoke"/> did.</summary>
public enum RevokeOutcome
{
    Revoked,
    AlreadyRevoked,
    NotFound,
    /// <summary>The key is the last active admin key; nothing changed.</summary>
    LastAdmin,
}

/// <summary>
/// API keys: insert-once rows that change only by revocation. Every method is safe to call
/// concurrently with the others and with the action store.
/// </summary>
public interface IKeyStore
{
    /// <summary>Stores a new key; false (nothing written) when the id is taken.</summary>
    bool Insert(StoredKey key);

    StoredKey? Find(string id);

    /// <summary>Keys that are not revoked, in creation order.</summary>
    IReadOnlyList<StoredKey> ListActive();

    /// <summary>Keys (revoked ones too) in creation order, at most <paramref name="limit"/>, created after the key <paramref name="afterId"/> when given.</summary>
    IReadOnlyList<StoredKey> List(int limit, string? afterId);

    /// <summary>Every key ever created, revoked ones included.</summary>
    long Count();

    /// <summary>
    /// Revokes the key in one transaction that also checks it is not the last active admin key
    /// (so two concurrent revocations can never remove the last two).
    /// </summary>
    (RevokeOutcome Outcome, StoredKey? Key) Revoke(string id, long atTicks, string revokedBy);
}
