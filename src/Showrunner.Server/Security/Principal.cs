namespace Showrunner.Server.Security;

/// <summary>
/// Operator roles, each including the ones below it: a viewer reads; an operator also publishes,
/// activates, steps rollouts, flips flags and requests grants; an approver also approves another
/// person's request (two-person rule); an admin also manages keys.
/// </summary>
public enum Role
{
    Viewer = 1,
    Operator = 2,
    Approver = 3,
    Admin = 4,
}

/// <summary>Who a credential belongs to.</summary>
public enum PrincipalKind
{
    /// <summary>A person (or their tooling) with an operator API key and a <see cref="Role"/>.</summary>
    Operator,
    /// <summary>A game server's API key: ingest, and reads for its title.</summary>
    GameServer,
    /// <summary>A short-lived player token: reads the player's own progress, rewards and receipts.</summary>
    Player,
    /// <summary>The server itself (automatic gates, scheduled work); never authenticated over HTTP.</summary>
    System,
}

/// <summary>
/// The authenticated caller of a request.
/// </summary>
/// <param name="Id">Stable id: the key id (not the secret) for keys, the player id for player tokens, a fixed name for <see cref="PrincipalKind.System"/>.</param>
/// <param name="Name">The key's display name (who it was issued to).</param>
/// <param name="Role">The operator role; <see cref="Role.Viewer"/> for game servers and players (their rights come from <see cref="Kind"/>).</param>
/// <param name="Title">The game title a game-server key or player token is bound to.</param>
/// <param name="Player">The player a player token is for.</param>
public sealed record Principal(string Id, PrincipalKind Kind, string Name, Role Role, string? Title = null, string? Player = null)
{
    /// <summary>The server's own principal, for automatic acts (gate rollbacks) in the audit log.</summary>
    public static Principal System(string name) => new(name, PrincipalKind.System, name, Role.Admin);

    /// <summary>How the principal is named in the audit log and the ledger's <c>author</c>: <c>key:ID</c>, <c>player:ID</c> or <c>system:NAME</c>.</summary>
    public string Actor => Kind switch
    {
        PrincipalKind.Player => "player:" + Id,
        PrincipalKind.System => "system:" + Id,
        _ => "key:" + Id,
    };

    public bool IsOperator(Role atLeast) => (Kind == PrincipalKind.Operator || Kind == PrincipalKind.System) && Role >= atLeast;
}
