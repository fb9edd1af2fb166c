using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Showrunner.Server.Security;

namespace Showrunner.Server.Tests.Security;

/// <summary>
/// Every endpoint of the app, called by every kind of caller, answers exactly as the access matrix
/// of docs/operations.md says. The endpoints come from the app's own EndpointDataSource: an endpoint
/// added without a declared access, or missing from the table below, fails this test.
/// </summary>
[Trait("Category", "Component")]
public sealed class AuthorizationMatrixTests
{
    private const string Own = "p-own";
    private const string Other = "p-other";

    /// <summary>Which player an endpoint reads, when a player token's own player matters.</summary>
    private enum Scope
    {
        None,
        /// <summary>The player in the path: another player's token gets 403.</summary>
        PlayerPath,
        /// <summary><c>?player=</c>: another player's token gets 403.</summary>
        PlayerQuery,
        /// <summary>A grant of the own player: another player's token gets 404, as if it did not exist.</summary>
        PlayerGrant,
    }

    /// <summary>An endpoint, the access it must declare, and a request that is harmless whoever sends it (refused, or reads only).</summary>
    private sealed record Entry(Access Access, string Path, Scope Scope = Scope.None, string? Json = null);

    private static readonly string Zeros = new('0', 64);

    /// <summary>The expected table: "METHOD pattern" → entry. {grant} in a path is a grant of <see cref="Own"/>.</summary>
    private static readonly Dictionary<string, Entry> Expected = new()
    {
        ["GET /healthz"] = new(Access.Public, "/healthz"),
        ["GET /readyz"] = new(Access.Public, "/readyz"),
        ["GET /v1/ledger/key"] = new(Access.Public, "/v1/ledger/key"),
        ["GET /dashboard"] = new(Access.Public, "/dashboard"),
        ["GET /dashboard/{asset}"] = new(Access.Public, "/dashboard/dashboard.js"),
        ["GET /v1/dashboard"] = new(Access.Viewer, "/v1/dashboard"),
        ["GET /v1/dashboard/stream"] = new(Access.Viewer, "/v1/dashboard/stream?limit=1"),
        ["POST /v1/actions"] = new(Access.Ingest, "/v1/actions", Json: "{}"),
        ["GET /v1/actions/{id}"] = new(Access.Viewer, "/v1/actions/nope"),
        ["GET /v1/stats"] = new(Access.Viewer, "/v1/stats"),
        ["GET /metrics"] = new(Access.Viewer, "/metrics"),
        ["POST /v1/releases"] = new(Access.Operator, "/v1/releases"),
        ["GET /v1/releases"] = new(Access.Viewer, "/v1/releases"),
        ["GET /v1/releases/active"] = new(Access.Viewer, "/v1/releases/active"),
        ["POST /v1/releases/rollback"] = new(Access.Operator, "/v1/releases/rollback"),
        ["GET /v1/releases/{id}"] = new(Access.Viewer, "/v1/releases/" + Zeros),
        ["GET /v1/releases/{id}/bundle"] = new(Access.Viewer, $"/v1/releases/{Zeros}/bundle"),
        ["POST /v1/releases/{id}/activate"] = new(Access.Operator, $"/v1/releases/{Zeros}/activate"),
        ["GET /v1/config"] = new(Access.PlayerData, "/v1/config?player=" + Own, Scope.PlayerQuery),
        ["GET /v1/events"] = new(Access.Viewer, "/v1/events"),
        ["GET /v1/events/{id}"] = new(Access.Viewer, "/v1/events/nope"),
        ["POST /v1/events/{id}/runs/{run}/{operation}"] = new(Access.Operator, "/v1/events/nope/runs/0/pause"),
        ["GET /v1/events/{id}/leaderboard"] = new(Access.PlayerData, "/v1/events/nope/leaderboard"),
        ["GET /v1/events/{id}/leaderboard/rank/{player}"] = new(Access.PlayerData, "/v1/events/nope/leaderboard/rank/" + Own),
        ["GET /v1/events/{id}/community"] = new(Access.PlayerData, "/v1/events/nope/community"),
        ["GET /v1/players/{player}/events"] = new(Access.PlayerData, $"/v1/players/{Own}/events", Scope.PlayerPath),
        ["GET /v1/players/{player}/rewards"] = new(Access.PlayerData, $"/v1/players/{Own}/rewards", Scope.PlayerPath),
        ["GET /v1/rewards/{grantId}"] = new(Access.PlayerData, "/v1/rewards/{grant}", Scope.PlayerGrant),
        ["GET /v1/rewards/{grantId}/receipt"] = new(Access.PlayerData, "/v1/rewards/{grant}/receipt", Scope.PlayerGrant),
        ["POST /v1/grants"] = new(Access.Operator, "/v1/grants", Json: "{}"),
        ["POST /v1/rewards/{grantId}/corrections"] = new(Access.Operator, "/v1/rewards/{grant}/corrections", Json: "{}"),
        ["GET /v1/ledger"] = new(Access.Viewer, "/v1/ledger"),
        ["GET /v1/ledger/checkpoints"] = new(Access.Viewer, "/v1/ledger/checkpoints"),
        ["GET /v1/ledger/checkpoints/latest"] = new(Access.Viewer, "/v1/ledger/checkpoints/latest"),
        ["GET /v1/ledger/checkpoints/{sequence}"] = new(Access.Viewer, "/v1/ledger/checkpoints/0"),
        ["GET /v1/ledger/consistency"] = new(Access.Viewer, "/v1/ledger/consistency?from=0&to=0"),
        ["GET /v1/ledger/partitions/{partition}/entries"] = new(Access.Viewer, "/v1/ledger/partitions/0/entries"),
        ["GET /v1/outbox"] = new(Access.Viewer, "/v1/outbox"),
        ["GET /v1/outbox/dead-letters"] = new(Access.Viewer, "/v1/outbox/dead-letters"),
        ["POST /v1/outbox/redeliver"] = new(Access.Operator, "/v1/outbox/redeliver", Json: "{}"),
        ["GET /v1/outbox/{grantId}"] = new(Access.Viewer, "/v1/outbox/nope"),
        ["GET /v1/rollout"] = new(Access.Viewer, "/v1/rollout"),
        ["POST /v1/rollout"] = new(Access.Operator, "/v1/rollout", Json: "{}"),
        ["POST /v1/rollout/advance"] = new(Access.Operator, "/v1/rollout/advance", Json: "{}"),
        ["POST /v1/rollout/rollback"] = new(Access.Operator, "/v1/rollout/rollback", Json: "{}"),
        ["GET /v1/flags"] = new(Access.Viewer, "/v1/flags"),
        ["PUT /v1/flags/events/{id}"] = new(Access.Operator, "/v1/flags/events/nope", Json: "{}"),
        ["PUT /v1/flags/configs/{name}"] = new(Access.Operator, "/v1/flags/configs/nope", Json: "{}"),
        ["GET /v1/audit"] = new(Access.Viewer, "/v1/audit"),
        ["GET /v1/audit/head"] = new(Access.Viewer, "/v1/audit/head"),
        ["GET /v1/approvals"] = new(Access.Viewer, "/v1/approvals"),
        ["GET /v1/approvals/{id}"] = new(Access.Viewer, "/v1/approvals/999999"),
        ["POST /v1/approvals/{id}/approve"] = new(Access.Approver, "/v1/approvals/999999/approve", Json: "{}"),
        ["POST /v1/approvals/{id}/reject"] = new(Access.Approver, "/v1/approvals/999999/reject", Json: "{}"),
        ["POST /v1/keys"] = new(Access.Admin, "/v1/keys", Json: "{}"),
        ["GET /v1/keys"] = new(Access.Admin, "/v1/keys"),
        ["DELETE /v1/keys/{id}"] = new(Access.Admin, "/v1/keys/000000000000"),
        ["POST /v1/players/{player}/tokens"] = new(Access.GameServer, $"/v1/players/{Own}/tokens"),
    };

    private enum Caller
    {
        None,
        Revoked,
        Viewer,
        Operator,
        Approver,
        Admin,
        GameServer,
        GameServerOfAnotherTitle,
        OwnPlayer,
        OtherPlayer,
        ExpiredPlayer,
    }

    /// <summary>What a caller must get: through to the endpoint, 401, 403, or the 404 that hides another player's grant.</summary>
    private enum Outcome
    {
        Through,
        Unauthorized,
        Forbidden,
        Hidden,
    }

    /// <summary>The matrix, written out independently of the server's AccessPolicy.</summary>
    private static Outcome Expect(Entry entry, Caller caller)
    {
        if (entry.Access == Access.Public)
        {
            return Outcome.Through;
        }
        if (caller is Caller.None or Caller.Revoked or Caller.ExpiredPlayer)
        {
            return Outcome.Unauthorized;
        }
        if (caller == Caller.GameServerOfAnotherTitle)
        {
            return Outcome.Forbidden;
        }
        if (entry.Access == Access.PlayerData && caller == Caller.OtherPlayer)
        {
            return entry.Scope switch
            {
                Scope.None => Outcome.Through,
                Scope.PlayerGrant => Outcome.Hidden,
                _ => Outcome.Forbidden,
            };
        }
        bool IsOperator(Caller least) => caller >= least && caller <= Caller.Admin;
        bool through = entry.Access switch
        {
            Access.Viewer => IsOperator(Caller.Viewer),
            Access.Operator => IsOperator(Caller.Operator),
            Access.Approver => IsOperator(Caller.Approver),
            Access.Admin => caller == Caller.Admin,
            Access.Ingest => caller is Caller.GameServer or Caller.Admin,
            Access.GameServer => caller == Caller.GameServer,
            Access.PlayerData => true,
            _ => throw new InvalidOperationException($"no expectation for {entry.Access}"),
        };
        return through ? Outcome.Through : Outcome.Forbidden;
    }

    [Fact]
    public void Every_endpoint_of_the_app_declares_the_access_the_matrix_names()
    {
        using var factory = new ShowrunnerFactory();
        var found = Endpoints(factory);
        var unknown = found.Keys.Except(Expected.Keys).ToList();
        Assert.True(unknown.Count == 0, "endpoints missing from the matrix (add them here and to docs/operations.md): " + string.Join(", ", unknown));
        var gone = Expected.Keys.Except(found.Keys).ToList();
        Assert.True(gone.Count == 0, "matrix entries without an endpoint: " + string.Join(", ", gone));
        foreach (var (name, access) in found)
        {
            Assert.True(access == Expected[name].Access, $"{name} declares {access?.ToString() ?? "no access"}, the matrix says {Expected[name].Access}");
        }
    }

    [Fact]
    public async Task Every_endpoint_called_by_every_kind_of_caller_answers_exactly_as_the_matrix_says()
    {
        using var factory = new ShowrunnerFactory(new() { ["Showrunner:LoadExample"] = "true", ["Showrunner:PlayerTokenLifetimeSeconds"] = "60" });
        var admin = await factory.ReadyClientAsync();
        var callers = await CallersAsync(factory, admin);
        string grant = await GrantAsync(admin);

        var failures = new List<string>();
        foreach (var (name, entry) in Expected)
        {
            string method = name[..name.IndexOf(' ', StringComparison.Ordinal)];
            foreach (var (caller, credential) in callers)
            {
                using var client = factory.ClientWith(credential);
                using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(entry.Path.Replace("{grant}", grant, StringComparison.Ordinal), UriKind.Relative));
                if (entry.Json is not null)
                {
                    request.Content = new StringContent(entry.Json, Encoding.UTF8, "application/json");
                }
                using var response = await client.SendAsync(request);
                string body = await response.Content.ReadAsStringAsync();
                var expected = Expect(entry, caller);
                int status = (int)response.StatusCode;
                string? code = status >= 400 && body.Length > 0 ? (string?)JsonNode.Parse(body)?["code"] : null;
                bool ok = expected switch
                {
                    Outcome.Through => status is not (401 or 403) && !(entry.Scope == Scope.PlayerGrant && status == 404),
                    Outcome.Unauthorized => status == 401 && code is "unauthorized" or "token_expired" && response.Headers.WwwAuthenticate.Count == 1,
                    Outcome.Forbidden => status == 403 && code == (caller == Caller.GameServerOfAnotherTitle ? "title_mismatch" : "forbidden"),
                    _ => status == 404 && code == "grant_not_found",
                };
                if (!ok)
                {
                    failures.Add($"{name} as {caller}: expected {expected}, got {status} {code}");
                }
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>"METHOD pattern" of every route endpoint, with the access it declares (null: none).</summary>
    private static Dictionary<string, Access?> Endpoints(ShowrunnerFactory factory)
    {
        _ = factory.Server;
        var endpoints = new Dictionary<string, Access?>();
        foreach (var endpoint in factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            foreach (string method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"])
            {
                endpoints.Add($"{method} {endpoint.RoutePattern.RawText}", endpoint.Metadata.GetMetadata<AccessRequirement>()?.Access);
            }
        }
        return endpoints;
    }

    private static async Task<Dictionary<Caller, string?>> CallersAsync(ShowrunnerFactory factory, HttpClient admin)
    {
        var (revokedId, revoked) = await factory.CreateKeyAsync("admin", name: "to be revoked");
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync(new Uri("/v1/keys/" + revokedId, UriKind.Relative))).StatusCode);
        var (_, gameServer) = await factory.CreateKeyAsync(title: "default", name: "game server");
        // The expired token is issued first; the clock then passes its 60 s lifetime, and the others are issued after.
        string expired = await factory.IssueTokenAsync(gameServer, Own);
        factory.Clock.Advance(TimeSpan.FromSeconds(60));
        return new()
        {
            [Caller.None] = null,
            [Caller.Revoked] = revoked,
            [Caller.Viewer] = (await factory.CreateKeyAsync("viewer")).Secret,
            [Caller.Operator] = (await factory.CreateKeyAsync("operator")).Secret,
            [Caller.Approver] = (await factory.CreateKeyAsync("approver")).Secret,
            [Caller.Admin] = factory.AdminKey,
            [Caller.GameServer] = gameServer,
            [Caller.GameServerOfAnotherTitle] = (await factory.CreateKeyAsync(title: "another-game")).Secret,
            [Caller.OwnPlayer] = await factory.IssueTokenAsync(gameServer, Own),
            [Caller.OtherPlayer] = await factory.IssueTokenAsync(gameServer, Other),
            [Caller.ExpiredPlayer] = expired,
        };
    }

    /// <summary>A grant of <see cref="Own"/> (the example release has gems).</summary>
    private static async Task<string> GrantAsync(HttpClient admin)
    {
        using var response = await admin.PostAsync(new Uri("/v1/grants", UriKind.Relative), new StringContent(
            $$"""{"request_id":"matrix-1","player":"{{Own}}","rewards":{"gems":5},"reason":"matrix"}""", Encoding.UTF8, "application/json"));
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        return (string)JsonNode.Parse(body)!["grant_id"]!;
    }
}
