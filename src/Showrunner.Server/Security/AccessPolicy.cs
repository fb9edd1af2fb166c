namespace Showrunner.Server.Security;

/// <summary>The outcome of an access check: allowed, or the 403 problem to answer.</summary>
internal readonly record struct AccessDecision(bool Allowed, string? Code = null, string? Detail = null)
{
    public static readonly AccessDecision Allow = new(true);
}

/// <summary>
/// Who may do what: the rule behind every endpoint's <see cref="Access"/> (the matrix in
/// docs/operations.md, "Principals, keys and roles"). Pure: the same principal, access and title
/// always give the same answer.
/// </summary>
internal static class AccessPolicy
{
    public const string Forbidden = "forbidden";
    public const string TitleMismatch = "title_mismatch";

    public static AccessDecision Check(Access access, Principal principal, string title)
    {
        if (access == Access.Public)
        {
            return AccessDecision.Allow;
        }
        if (principal.Kind is PrincipalKind.GameServer or PrincipalKind.Player && principal.Title != title)
        {
            return new AccessDecision(false, TitleMismatch,
                $"This {Describe(principal)} is for title '{principal.Title}'; this server serves title '{title}'.");
        }
        bool allowed = access switch
        {
            Access.Viewer => principal.IsOperator(Role.Viewer),
            Access.Operator => principal.IsOperator(Role.Operator),
            Access.Approver => principal.IsOperator(Role.Approver),
            Access.Admin => principal.IsOperator(Role.Admin),
            Access.Ingest => principal.Kind == PrincipalKind.GameServer || principal.IsOperator(Role.Admin),
            Access.PlayerData => principal.Kind is PrincipalKind.Player or PrincipalKind.GameServer || principal.IsOperator(Role.Viewer),
            Access.GameServer => principal.Kind == PrincipalKind.GameServer,
            Access.Authenticated => true,
            _ => false,
        };
        return allowed ? AccessDecision.Allow : new AccessDecision(false, Forbidden, $"This needs {Needed(access, title)}; the caller is {Describe(principal)}.");
    }

    /// <summary>The access an endpoint needs, in words, for the 403 detail.</summary>
    public static string Needed(Access access, string title) => access switch
    {
        Access.Viewer => "an operator key with role viewer or above",
        Access.Operator => "an operator key with role operator or above",
        Access.Approver => "an operator key with role approver or above",
        Access.Admin => "an operator key with role admin",
        Access.Ingest => $"a game-server key of title '{title}' or an admin key",
        Access.PlayerData => $"the player's own token, a game-server key of title '{title}', or an operator key",
        Access.GameServer => $"a game-server key of title '{title}'",
        Access.Authenticated => "any valid credential",
        Access.Public => "no credential",
        _ => "an access rule this endpoint does not declare (it is refused to everybody)",
    };

    private static string Describe(Principal principal) => principal.Kind switch
    {
        PrincipalKind.Operator => $"operator key {principal.Id} with role {KeyRing.Name(principal.Role)}",
        PrincipalKind.GameServer => $"game-server key {principal.Id}",
        PrincipalKind.Player => $"player token of '{principal.Player}'",
        _ => "the server itself",
    };
}

/// <summary>The one check a <see cref="Access.PlayerData"/> endpoint makes itself: a player token reads only its own player.</summary>
internal static class PlayerAccess
{
    /// <summary>False only for a player token of another player than <paramref name="player"/>.</summary>
    public static bool MayReadPlayer(this HttpContext context, string player) =>
        context.GetPrincipal() is not { Kind: PrincipalKind.Player } principal || principal.Player == player;

    /// <summary>
    /// True when the caller is a player token and the (well-formed) grant id is not one of their
    /// grants: the endpoint answers 404, exactly as for a grant that does not exist. The owner is
    /// read from the entry's checked canonical bytes, never from the indexed column alone; a
    /// damaged entry is not judged here (false), so the endpoint answers <c>ledger_damaged</c>.
    /// </summary>
    public static bool IsOtherPlayersGrant(HttpContext context, Storage.ILedgerStore ledger, Runtime.Ledger.LedgerIntegrity integrity, string grantId) =>
        context.GetPrincipal() is { Kind: PrincipalKind.Player } principal &&
        Runtime.Ledger.LedgerReader.ParseGrantId(grantId) is { } id &&
        (ledger.FindGrant(id) is not { } row || integrity.Check(row) is { Entry: { } entry } && entry.Player != principal.Player);

    /// <summary>403 <c>forbidden</c>, for a player token asking about another player by name (names are not secret: leaderboards show them).</summary>
    public static Task OtherPlayerAsync(HttpContext context) =>
        Api.Problems.WriteAsync(context, StatusCodes.Status403Forbidden, AccessPolicy.Forbidden, "Forbidden",
            "A player token reads only its own player's data.");
}
