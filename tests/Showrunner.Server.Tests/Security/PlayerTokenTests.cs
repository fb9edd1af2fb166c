using System.Buffers.Text;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Showrunner.Server.Security;
using Showrunner.Testing;

namespace Showrunner.Server.Tests.Security;

/// <summary>Player tokens: issued by game servers of the title, read only the player's own data, expire by the clock, refuse tampering and other titles.</summary>
[Trait("Category", "Component")]
public sealed class PlayerTokenTests
{
    private static Uri U(string path) => new(path, UriKind.Relative);

    private static async Task<JsonNode> Ok(HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.OK)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{response.StatusCode}: {body}");
        return JsonNode.Parse(body)!;
    }

    private static async Task<string> GrantAsync(HttpClient admin, string player, string requestId)
    {
        var created = await Ok(await admin.PostAsync(U("/v1/grants"), new StringContent(
            $$"""{"request_id":"{{requestId}}","player":"{{player}}","rewards":{"gems":5},"reason":"token test"}""", Encoding.UTF8, "application/json")),
            HttpStatusCode.Created);
        return (string)created["grant_id"]!;
    }

    [Fact]
    public async Task A_token_reads_its_own_players_data_only_and_expires_after_its_lifetime()
    {
        using var factory = new ShowrunnerFactory(new() { ["Showrunner:LoadExample"] = "true" });
        var admin = await factory.ReadyClientAsync();
        string own = await GrantAsync(admin, "p-1", "r-1");
        string other = await GrantAsync(admin, "p-2", "r-2");
        var (_, gameServer) = await factory.CreateKeyAsync(title: "default");
        using var server = factory.ClientWith(gameServer);
        var issued = await Ok(await server.PostAsync(U("/v1/players/p-1/tokens"), null));
        Assert.Equal(("p-1", "default", "2026-11-22T12:15:00Z"), ((string?)issued["player"], (string?)issued["title"], (string?)issued["expires_at"]));
        string token = (string)issued["token"]!;
        Assert.StartsWith("srt1.", token, StringComparison.Ordinal);

        using var player = factory.ClientWith(token);
        Assert.Equal(own, (string?)(await Ok(await player.GetAsync(U("/v1/players/p-1/rewards"))))["rewards"]![0]!["grant_id"]);
        await Ok(await player.GetAsync(U("/v1/players/p-1/events")));
        await Ok(await player.GetAsync(U($"/v1/rewards/{own}")));
        await Ok(await player.GetAsync(U($"/v1/rewards/{own}/receipt")));
        await Ok(await player.GetAsync(U("/v1/config?player=p-1")));
        await ActionsApiTests.ProblemOf(await player.GetAsync(U("/v1/players/p-2/rewards")), HttpStatusCode.Forbidden, "forbidden");
        await ActionsApiTests.ProblemOf(await player.GetAsync(U("/v1/config?player=p-2")), HttpStatusCode.Forbidden, "forbidden");
        // Another player's grant is "not found", exactly like one that does not exist.
        var hidden = await ActionsApiTests.ProblemOf(await player.GetAsync(U($"/v1/rewards/{other}")), HttpStatusCode.NotFound, "grant_not_found");
        var missing = await ActionsApiTests.ProblemOf(await player.GetAsync(U($"/v1/rewards/{new string('a', 64)}")), HttpStatusCode.NotFound, "grant_not_found");
        Assert.Equal((string?)missing["title"], (string?)hidden["title"]);
        await ActionsApiTests.ProblemOf(await player.GetAsync(U($"/v1/rewards/{other}/receipt")), HttpStatusCode.NotFound, "grant_not_found");
        await ActionsApiTests.ProblemOf(await player.GetAsync(U("/v1/stats")), HttpStatusCode.Forbidden, "forbidden");
        await ActionsApiTests.ProblemOf(await player.PostAsync(U("/v1/players/p-1/tokens"), null), HttpStatusCode.Forbidden, "forbidden");

        factory.Clock.Advance(TimeSpan.FromMinutes(15) - TimeSpan.FromSeconds(1));
        await Ok(await player.GetAsync(U("/v1/players/p-1/rewards")));
        factory.Clock.Advance(TimeSpan.FromSeconds(1));
        using var expired = await player.GetAsync(U("/v1/players/p-1/rewards"));
        var problem = await ActionsApiTests.ProblemOf(expired, HttpStatusCode.Unauthorized, "token_expired");
        Assert.Contains("2026-11-22T12:15:00Z", (string?)problem["detail"], StringComparison.Ordinal);
        Assert.Contains("invalid_token", expired.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_game_server_keys_of_the_title_issue_tokens_and_the_lifetime_is_an_option()
    {
        using var factory = new ShowrunnerFactory(new() { ["Showrunner:Title"] = "space-race", ["Showrunner:PlayerTokenLifetimeSeconds"] = "3600" });
        var admin = await factory.ReadyClientAsync();
        await ActionsApiTests.ProblemOf(await admin.PostAsync(U("/v1/players/p-1/tokens"), null), HttpStatusCode.Forbidden, "forbidden");
        var (_, otherTitle) = await factory.CreateKeyAsync(title: "default");
        using var wrong = factory.ClientWith(otherTitle);
        var mismatch = await ActionsApiTests.ProblemOf(await wrong.PostAsync(U("/v1/players/p-1/tokens"), null), HttpStatusCode.Forbidden, "title_mismatch");
        Assert.Contains("space-race", (string?)mismatch["detail"], StringComparison.Ordinal);
        await ActionsApiTests.ProblemOf(await wrong.PostAsync(U("/v1/actions"), new StringContent("{}", Encoding.UTF8, "application/json")),
            HttpStatusCode.Forbidden, "title_mismatch");

        var (_, right) = await factory.CreateKeyAsync(title: "space-race");
        using var server = factory.ClientWith(right);
        var issued = await Ok(await server.PostAsync(U("/v1/players/p-1/tokens"), null));
        Assert.Equal(("space-race", "2026-11-22T13:00:00Z"), ((string?)issued["title"], (string?)issued["expires_at"]));
        await ActionsApiTests.ProblemOf(await server.PostAsync(U($"/v1/players/{new string('p', 129)}/tokens"), null), HttpStatusCode.BadRequest, "invalid_parameter");
        // Game servers of the title read players' data and send actions, but no operator endpoint.
        await Ok(await server.GetAsync(U("/v1/players/p-1/rewards")));
        await ActionsApiTests.ProblemOf(await server.GetAsync(U("/v1/stats")), HttpStatusCode.Forbidden, "forbidden");
        await ActionsApiTests.ProblemOf(await server.PostAsync(U("/v1/releases/rollback"), null), HttpStatusCode.Forbidden, "forbidden");
    }

    [Fact]
    public async Task A_tampered_token_or_one_for_another_title_is_refused()
    {
        using var factory = new ShowrunnerFactory();
        await factory.ReadyClientAsync();
        var (_, gameServer) = await factory.CreateKeyAsync(title: "default");
        string token = await factory.IssueTokenAsync(gameServer, "p-1");
        string[] parts = token.Split('.');
        async Task<JsonNode> Refused(string credential, HttpStatusCode status, string code)
        {
            using var client = factory.ClientWith(credential);
            return await ActionsApiTests.ProblemOf(await client.GetAsync(U("/v1/players/p-1/rewards")), status, code);
        }

        // A changed signature, and a payload naming another player under the old signature.
        char last = parts[2][^1];
        await Refused($"{parts[0]}.{parts[1]}.{parts[2][..^1]}{(last == 'A' ? 'B' : 'A')}", HttpStatusCode.Unauthorized, "unauthorized");
        string payload = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[1]));
        string forged = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload.Replace("\"p-1\"", "\"p-2\"", StringComparison.Ordinal)));
        await Refused($"{parts[0]}.{forged}.{parts[2]}", HttpStatusCode.Unauthorized, "unauthorized");
        await Refused($"{parts[0]}.{parts[1]}", HttpStatusCode.Unauthorized, "unauthorized");
        await Refused(token + "A", HttpStatusCode.Unauthorized, "unauthorized");

        // Signed by this server's key, but for another title (the server's title changed since).
        var (otherTitle, _) = factory.Services.GetRequiredService<PlayerTokens>().Issue("another-game", "p-1", TimeSpan.FromMinutes(5));
        await Refused(otherTitle, HttpStatusCode.Forbidden, "title_mismatch");

        // A token signed with another key (another server's data directory).
        var stranger = new PlayerTokens(new byte[32], factory.Clock).Issue("default", "p-1", TimeSpan.FromMinutes(5)).Token;
        await Refused(stranger, HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public void Tokens_verify_only_as_issued_and_expire_at_exp_by_the_injected_clock()
    {
        var clock = new ManualClock(ShowrunnerFactory.Now);
        byte[] key = [.. Enumerable.Range(1, 32).Select(i => (byte)i)];
        var tokens = new PlayerTokens(key, clock);
        var (token, expiresAt) = tokens.Issue("default", "p-ü", TimeSpan.FromMinutes(15));
        Assert.Equal(ShowrunnerFactory.Now + TimeSpan.FromMinutes(15), expiresAt);
        var (status, claims) = tokens.Verify(token);
        Assert.Equal(TokenStatus.Valid, status);
        Assert.Equal(new PlayerToken("default", "p-ü", ShowrunnerFactory.Now, expiresAt), claims);
        clock.Advance(TimeSpan.FromMinutes(15) - TimeSpan.FromTicks(1));
        Assert.Equal(TokenStatus.Valid, tokens.Verify(token).Status);
        clock.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(TokenStatus.Expired, tokens.Verify(token).Status);

        string Signed(string json)
        {
            string signed = PlayerTokens.Prefix + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));
            return signed + "." + Base64Url.EncodeToString(System.Security.Cryptography.HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(signed)));
        }
        long iat = clock.GetUtcNow().ToUnixTimeSeconds(), exp = iat + 3600;
        Assert.Equal(TokenStatus.Valid, tokens.Verify(Signed($$"""{"title":"t","player":"p","iat":{{iat}},"exp":{{exp}}}""")).Status);
        foreach (string json in new[]
        {
            $$"""{"title":"t","player":"p","iat":{{iat}},"exp":{{exp}},"role":"admin"}""",
            $$"""{"title":"t","player":"p","iat":{{iat}}}""",
            $$"""{"title":"t","player":7,"iat":{{iat}},"exp":{{exp}}}""",
            $$"""{"title":"t","player":"p","iat":{{iat}},"exp":{{iat}}}""",
            $$"""{"title":"t","player":"p","iat":{{iat}},"exp":{{iat + 86401}}}""",
            $$"""{"title":"t","player":"p","iat":-1,"exp":{{exp}}}""",
            """["t","p"]""",
            $$"""{"title":"t","player":"p","iat":{{iat}},"exp":{{exp}}""",
        })
        {
            Assert.True(tokens.Verify(Signed(json)).Status == TokenStatus.Invalid, json);
        }
        foreach (string text in new[] { "", "srt1.", "srt1..", "srt1.e30", "srt1.e30.", "srt1.!!!.AAAA", "srt2." + token[5..], token + ".x", new string('a', 2000) })
        {
            Assert.Equal(TokenStatus.Invalid, tokens.Verify(text).Status);
        }
    }

    [Fact]
    public void The_token_key_file_is_created_owner_only_reused_and_refused_when_exposed_or_damaged()
    {
        using var directory = new TempDirectory();
        var (key, created) = PlayerTokens.LoadOrCreateKey(directory.Path);
        Assert.True(created);
        Assert.Equal(32, key.Length);
        var (again, createdAgain) = PlayerTokens.LoadOrCreateKey(directory.Path);
        Assert.False(createdAgain);
        Assert.Equal(key, again);
        string path = Path.Combine(directory.Path, PlayerTokens.KeyFileName);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
            Assert.Contains("chmod 600", Assert.Throws<InvalidDataException>(() => PlayerTokens.LoadOrCreateKey(directory.Path)).Message, StringComparison.Ordinal);
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        File.WriteAllText(path, "c2hvcnQ=\n");
        Assert.Throws<InvalidDataException>(() => PlayerTokens.LoadOrCreateKey(directory.Path));
    }
}
