namespace Showrunner.Server.Security;

/// <summary>
/// The server's security settings (<c>Showrunner:Title</c>, <c>Showrunner:PlayerTokenLifetimeSeconds</c>,
/// <c>Showrunner:RateLimits:*</c>; read by Hosting's SecuritySettings). Authentication itself has
/// no switch: it is always on.
/// </summary>
internal sealed record SecurityOptions
{
    public const string DefaultTitle = "default";

    /// <summary>The game title this server serves: game-server keys and player tokens of another title are refused (403 <c>title_mismatch</c>).</summary>
    public string Title { get; init; } = DefaultTitle;

    /// <summary>How long a player token issued now stays valid.</summary>
    public TimeSpan PlayerTokenLifetime { get; init; } = PlayerTokens.DefaultLifetime;

    public RateLimitOptions RateLimits { get; init; } = new();
}
