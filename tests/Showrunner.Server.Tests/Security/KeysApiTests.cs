using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Showrunner.Server.Tests.Security;

/// <summary>The lifecycle of API keys over HTTP: create (secret once), list (never secrets), revoke (in force at once), never the last admin key.</summary>
[Trait("Category", "Component")]
public sealed class KeysApiTests
{
    private static Uri U(string path) => new(path, UriKind.Relative);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonNode> Ok(HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.OK)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{response.StatusCode}: {body}");
        return JsonNode.Parse(body)!;
    }

    [Fact]
    public async Task The_bootstrap_admin_key_is_in_admin_key_with_mode_0600_and_works()
    {
        using var factory = new ShowrunnerFactory();
        var admin = await factory.ReadyClientAsync();
        string path = Path.Combine(factory.DataDirectory, "admin.key");
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(factory.DataDirectory, "token.key")));
        }
        Assert.Matches("^sr_[0-9a-f]{12}_[A-Za-z0-9_-]{43}\n$", File.ReadAllText(path));
        var keys = await Ok(await admin.GetAsync(U("/v1/keys")));
        var only = Assert.Single(keys["keys"]!.AsArray())!;
        Assert.Equal(factory.AdminKey[3..15], (string?)only["id"]);
        Assert.Equal(("operator", "admin", "bootstrap admin", "system:bootstrap"),
            ((string?)only["kind"], (string?)only["role"], (string?)only["name"], (string?)only["created_by"]));
        Assert.Equal(1, (int)keys["active"]!);
    }

    [Fact]
    public async Task A_created_key_shows_its_secret_once_works_at_its_role_and_a_revoked_one_is_refused_at_once()
    {
        using var factory = new ShowrunnerFactory();
        var admin = await factory.ReadyClientAsync();
        var created = await Ok(await admin.PostAsync(U("/v1/keys"), Json("""{"name":"alice","kind":"operator","role":"viewer"}""")), HttpStatusCode.Created);
        string id = (string)created["id"]!;
        string secret = (string)created["secret"]!;
        Assert.Matches("^[0-9a-f]{12}$", id);
        Assert.StartsWith($"sr_{id}_", secret, StringComparison.Ordinal);
        Assert.Equal(("operator", "viewer", null, "alice", "2026-11-22T12:00:00Z", "key:" + factory.AdminKey[3..15], null),
            ((string?)created["kind"], (string?)created["role"], (string?)created["title"], (string?)created["name"], (string?)created["created_at"],
             (string?)created["created_by"], (string?)created["revoked_at"]));

        // The listing never carries a secret, nor anything derived from one.
        string listing = await admin.GetStringAsync(U("/v1/keys"));
        Assert.DoesNotContain(secret[16..], listing, StringComparison.Ordinal);
        Assert.DoesNotContain(factory.AdminKey[16..], listing, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", listing, StringComparison.Ordinal);
        Assert.Equal(2, JsonNode.Parse(listing)!["keys"]!.AsArray().Count);

        using var alice = factory.ClientWith(secret);
        await Ok(await alice.GetAsync(U("/v1/stats")));
        var refused = await ActionsApiTests.ProblemOf(await alice.GetAsync(U("/v1/keys")), HttpStatusCode.Forbidden, "forbidden");
        Assert.Equal("an operator key with role admin", (string?)refused["needed"]);
        await ActionsApiTests.ProblemOf(await alice.PostAsync(U("/v1/releases/rollback"), null), HttpStatusCode.Forbidden, "forbidden");

        var revoked = await Ok(await admin.DeleteAsync(U("/v1/keys/" + id)));
        Assert.Equal((true, "2026-11-22T12:00:00Z"), ((bool)revoked["changed"]!, (string?)revoked["revoked_at"]));
        var gone = await ActionsApiTests.ProblemOf(await alice.GetAsync(U("/v1/stats")), HttpStatusCode.Unauthorized, "unauthorized");
        Assert.DoesNotContain(secret, gone.ToJsonString(), StringComparison.Ordinal);
        var again = await Ok(await admin.DeleteAsync(U("/v1/keys/" + id)));
        Assert.False((bool)again["changed"]!);
        Assert.Equal(1, (int)(await Ok(await admin.GetAsync(U("/v1/keys"))))["active"]!);
    }

    [Fact]
    public async Task The_last_active_admin_key_cannot_be_revoked_but_an_admin_key_can_be_rotated()
    {
        using var factory = new ShowrunnerFactory();
        var first = await factory.ReadyClientAsync();
        string firstId = factory.AdminKey[3..15];
        await ActionsApiTests.ProblemOf(await first.DeleteAsync(U("/v1/keys/" + firstId)), HttpStatusCode.Conflict, "last_admin_key");
        await Ok(await first.GetAsync(U("/v1/stats")));

        // Rotation: a new admin key first, then the old one is revoked (here by itself).
        var (secondId, second) = await factory.CreateKeyAsync("admin", name: "rotated admin");
        await Ok(await first.DeleteAsync(U("/v1/keys/" + firstId)));
        await ActionsApiTests.ProblemOf(await first.GetAsync(U("/v1/stats")), HttpStatusCode.Unauthorized, "unauthorized");
        using var secondClient = factory.ClientWith(second);
        await ActionsApiTests.ProblemOf(await secondClient.DeleteAsync(U("/v1/keys/" + secondId)), HttpStatusCode.Conflict, "last_admin_key");
        // A revoked admin key does not count: the second stays the last one.
        await Ok(await secondClient.GetAsync(U("/v1/keys")));
    }

    [Theory]
    [InlineData("""{"kind":"operator","role":"viewer"}""", "name")]
    [InlineData("""{"name":"","kind":"operator","role":"viewer"}""", "name")]
    [InlineData("""{"name":"a\u0001b","kind":"operator","role":"viewer"}""", "name")]
    [InlineData("""{"name":"x","role":"viewer"}""", "kind")]
    [InlineData("""{"name":"x","kind":"robot","role":"viewer"}""", "kind")]
    [InlineData("""{"name":"x","kind":"operator"}""", "role")]
    [InlineData("""{"name":"x","kind":"operator","role":"root"}""", "role")]
    [InlineData("""{"name":"x","kind":"operator","role":"viewer","title":"t"}""", "title")]
    [InlineData("""{"name":"x","kind":"game_server"}""", "title")]
    [InlineData("""{"name":"x","kind":"game_server","title":"has space"}""", "title")]
    [InlineData("""{"name":"x","kind":"game_server","title":"t","role":"admin"}""", "role")]
    [InlineData("""{"name":"x","kind":"operator","role":"viewer","secret":"mine"}""", "secret")]
    [InlineData("""{"name":7,"kind":"operator","role":"viewer"}""", "name")]
    public async Task A_bad_key_request_is_refused_naming_the_field_and_creates_nothing(string body, string field)
    {
        using var factory = new ShowrunnerFactory();
        var admin = await factory.ReadyClientAsync();
        var problem = await ActionsApiTests.ProblemOf(await admin.PostAsync(U("/v1/keys"), Json(body)), HttpStatusCode.BadRequest, "invalid_key_request");
        Assert.Equal(field, (string?)problem["field"]);
        Assert.Single((await Ok(await admin.GetAsync(U("/v1/keys"))))["keys"]!.AsArray());
    }

    [Fact]
    public async Task Malformed_bodies_unknown_keys_and_bad_pages_get_their_problems()
    {
        using var factory = new ShowrunnerFactory();
        var admin = await factory.ReadyClientAsync();
        await ActionsApiTests.ProblemOf(await admin.PostAsync(U("/v1/keys"), new StringContent("{}", Encoding.UTF8, "text/plain")),
            HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        await ActionsApiTests.ProblemOf(await admin.PostAsync(U("/v1/keys"), Json("[1]")), HttpStatusCode.BadRequest, "invalid_json");
        await ActionsApiTests.ProblemOf(await admin.PostAsync(U("/v1/keys"), Json("{\"name\":")), HttpStatusCode.BadRequest, "invalid_json");
        await ActionsApiTests.ProblemOf(await admin.PostAsync(U("/v1/keys"), Json(new string(' ', 5000) + "{}")), HttpStatusCode.RequestEntityTooLarge, "body_too_large");
        await ActionsApiTests.ProblemOf(await admin.DeleteAsync(U("/v1/keys/abcdefabcdef")), HttpStatusCode.NotFound, "key_not_found");
        await ActionsApiTests.ProblemOf(await admin.DeleteAsync(U("/v1/keys/NOT-AN-ID")), HttpStatusCode.NotFound, "key_not_found");
        await ActionsApiTests.ProblemOf(await admin.GetAsync(U("/v1/keys?limit=0")), HttpStatusCode.BadRequest, "invalid_parameter");
        await ActionsApiTests.ProblemOf(await admin.GetAsync(U("/v1/keys?after=abcdefabcdef")), HttpStatusCode.BadRequest, "invalid_parameter");
        Assert.Single((await Ok(await admin.GetAsync(U("/v1/keys"))))["keys"]!.AsArray());
    }

    [Fact]
    public async Task Keys_list_in_creation_order_in_pages()
    {
        using var factory = new ShowrunnerFactory();
        var admin = await factory.ReadyClientAsync();
        var ids = new List<string> { factory.AdminKey[3..15] };
        foreach (string name in new[] { "a", "b", "c" })
        {
            ids.Add((await factory.CreateKeyAsync(title: "default", name: name)).Id);
        }
        var page = await Ok(await admin.GetAsync(U("/v1/keys?limit=3")));
        Assert.Equal(ids[..3], page["keys"]!.AsArray().Select(k => (string)k!["id"]!));
        Assert.Equal($"/v1/keys?limit=3&after={ids[2]}", (string?)page["next"]);
        var rest = await Ok(await admin.GetAsync(U((string)page["next"]!)));
        Assert.Equal([ids[3]], rest["keys"]!.AsArray().Select(k => (string)k!["id"]!));
        Assert.Null(rest["next"]);
        Assert.Equal(("game_server", "default", null), ((string?)rest["keys"]![0]!["kind"], (string?)rest["keys"]![0]!["title"], (string?)rest["keys"]![0]!["role"]));
    }

    [Theory]
    [InlineData(null, "unauthorized", "Bearer realm=\"showrunner\"")]
    [InlineData("Basic dXNlcjpwYXNz", "unauthorized", "Bearer realm=\"showrunner\", error=\"invalid_token\"")]
    [InlineData("Bearer", "unauthorized", "Bearer realm=\"showrunner\", error=\"invalid_token\"")]
    [InlineData("Bearer sr_", "unauthorized", "Bearer realm=\"showrunner\", error=\"invalid_token\"")]
    [InlineData("Bearer sr_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "unauthorized", "Bearer realm=\"showrunner\", error=\"invalid_token\"")]
    [InlineData("Bearer something-else", "unauthorized", "Bearer realm=\"showrunner\", error=\"invalid_token\"")]
    [InlineData("Bearer srt1.e30.AAAA", "unauthorized", "Bearer realm=\"showrunner\", error=\"invalid_token\"")]
    public async Task A_missing_or_malformed_credential_is_401_with_WWW_Authenticate(string? header, string code, string challenge)
    {
        using var factory = new ShowrunnerFactory();
        await factory.ReadyClientAsync();
        using var client = factory.ClientWith(null);
        using var request = new HttpRequestMessage(HttpMethod.Get, U("/v1/stats"));
        if (header is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", header);
        }
        using var response = await client.SendAsync(request);
        await ActionsApiTests.ProblemOf(response, HttpStatusCode.Unauthorized, code);
        Assert.Equal(challenge, response.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task A_key_with_the_right_id_and_a_wrong_secret_is_refused()
    {
        using var factory = new ShowrunnerFactory();
        await factory.ReadyClientAsync();
        string admin = factory.AdminKey;
        // The same id, the secret's last character changed: same length, same form.
        string wrong = admin[..^1] + (admin[^1] == 'A' ? 'B' : 'A');
        using var client = factory.ClientWith(wrong);
        await ActionsApiTests.ProblemOf(await client.GetAsync(U("/v1/stats")), HttpStatusCode.Unauthorized, "unauthorized");
        using var two = factory.ClientWith(null);
        two.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", ["Bearer " + admin, "Bearer " + admin]);
        await ActionsApiTests.ProblemOf(await two.GetAsync(U("/v1/stats")), HttpStatusCode.Unauthorized, "unauthorized");
    }
}
