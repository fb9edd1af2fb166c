using Showrunner.Core.Actions;
using Showrunner.Server.Hosting;
using Showrunner.Server.Security;

namespace Showrunner.Server.Api;

/// <summary>
/// <c>POST /v1/players/{player}/tokens</c>: a game server of this title gets a short-lived token
/// for one of its players, who then reads their own progress, rewards and receipts with it.
/// docs/api.md, "Player tokens". The request has no body (one sent is not read).
/// </summary>
internal sealed class TokensEndpoints(PlayerTokens tokens, ServerOptions options)
{
    public static void Map(WebApplication app)
    {
        var endpoints = app.Services.GetRequiredService<TokensEndpoints>();
        app.MapPost("/v1/players/{player}/tokens", endpoints.IssueAsync).Allow(Access.GameServer);
    }

    public async Task IssueAsync(HttpContext context, string player)
    {
        if (!ActionBatchParser.IsValidPlayer(player, options.Limits.MaxPlayerLength))
        {
            await Requests.InvalidParameterAsync(context, "player", $"A player id is 1 to {options.Limits.MaxPlayerLength} characters without control characters.").ConfigureAwait(false);
            return;
        }
        var (token, expiresAt) = tokens.Issue(options.Security.Title, player, options.Security.PlayerTokenLifetime);
        context.Response.Headers.CacheControl = "no-store";
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteString("token", token);
            w.WriteString("player", player);
            w.WriteString("title", options.Security.Title);
            w.WriteString("expires_at", Rfc3339.Format(expiresAt.UtcTicks));
        }).ConfigureAwait(false);
    }
}
