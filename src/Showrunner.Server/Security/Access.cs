namespace Showrunner.Server.Security;

/// <summary>
/// Who may call an endpoint. Every endpoint declares exactly one with <see cref="AccessExtensions.Allow"/>;
/// an endpoint without one is refused to everybody (fail closed). docs/operations.md has the matrix.
/// </summary>
public enum Access
{
    /// <summary>No credential needed (health probes, the ledger's public key).</summary>
    Public,
    /// <summary>Operator keys of at least the named role.</summary>
    Viewer,
    Operator,
    Approver,
    Admin,
    /// <summary>Game-server keys of this server's title (sending actions), and admin keys.</summary>
    Ingest,
    /// <summary>
    /// Reads about one player: that player's token, game-server keys of the title, and viewer and
    /// above. The endpoint checks the player it reads against <see cref="Principal.Player"/>.
    /// </summary>
    PlayerData,
    /// <summary>Any authenticated principal (players, game servers, operators).</summary>
    Authenticated,
    /// <summary>Game-server keys of this server's title only (issuing player tokens).</summary>
    GameServer,
}

/// <summary>Endpoint metadata naming the <see cref="Access"/> of an endpoint.</summary>
public sealed record AccessRequirement(Access Access);

public static class AccessExtensions
{
    public static TBuilder Allow<TBuilder>(this TBuilder builder, Access access) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AccessRequirement(access));

    private static readonly object PrincipalKey = new();

    /// <summary>The caller the authentication middleware found, or null on a <see cref="Access.Public"/> endpoint without a credential.</summary>
    public static Principal? GetPrincipal(this HttpContext context) =>
        context.Items.TryGetValue(PrincipalKey, out var value) ? value as Principal : null;

    public static void SetPrincipal(this HttpContext context, Principal principal) => context.Items[PrincipalKey] = principal;
}
