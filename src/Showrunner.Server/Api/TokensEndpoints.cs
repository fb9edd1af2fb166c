using Showrunner.Contracts.Players;
using Showrunner.Contracts.Wire;
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
    private static readonly System.Text.Json.Serialization.Metadata.JsonTypeInfo<PlayerTokenResponse> TokenWire = WireJson.Of(PlayersJson.Default.PlayerTokenResponse);

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
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK,
            new PlayerTokenResponse(token, player, options.Security.Title, Rfc3339.Format(expiresAt.UtcTicks)), TokenWire).ConfigureAwait(false);
    }
}
