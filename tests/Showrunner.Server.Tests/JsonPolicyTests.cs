using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Testing;

namespace Showrunner.Server.Tests;

/// <summary>
/// The one strict JSON reading policy over HTTP (docs/api.md, "Request bodies"): the bodies that
/// were misread before (issue 12) are refused with 400 invalid_json naming what and where, and
/// nothing is stored — checked in the keys, flags, ledger, audit log and stats afterwards.
/// </summary>
[Trait("Category", "Component")]
public sealed class JsonPolicyTests
{
    private static readonly string Source = ReleaseFixtures.Source("hunt-one-tier");

    private const string At = "2026-11-22T11:59:00Z";

    private static Uri U(string path) => new(path, UriKind.Relative);

    private static StringContent Json(string json, string contentType = "application/json") =>
        new(json, Encoding.UTF8, MediaTypeHeaderValue.Parse(contentType));

    private static ByteArrayContent Bytes(byte[] body, string contentType = "application/json")
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    private static async Task<JsonNode> Get(HttpClient client, string path)
    {
        using var response = await client.GetAsync(U(path));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    private static async Task<(ShowrunnerFactory Factory, HttpClient Client)> StartAsync()
    {
        var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        var (bundle, diagnostics) = Core.Rules.Bundle.ReleaseBundle.Build([new Core.Rules.Syntax.SourceText("j.hcl", Source)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        var content = new ByteArrayContent(bundle.CanonicalBytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync(U("/v1/releases"), content)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(U($"/v1/releases/{bundle.Id}/activate"), null)).StatusCode);
        await factory.Services.GetRequiredService<LifecycleCoordinator>().TickAsync();
        return (factory, client);
    }

    /// <summary>Everything a refused request could have changed, read back through the API.</summary>
    private static async Task<string> StateAsync(HttpClient client)
    {
        var keys = await Get(client, "/v1/keys");
        var stats = await Get(client, "/v1/stats");
        return string.Join(" | ",
            keys["keys"]!.AsArray().Select(k => $"{k!["id"]}:{k["role"]}:{k["revoked_at"]}").Order(StringComparer.Ordinal).Aggregate("", (a, b) => a + b + ","),
            (await Get(client, "/v1/flags")).ToJsonString(),
            (string?)(await Get(client, "/v1/ledger"))["entries"]?.ToJsonString(),
            (await Get(client, "/v1/audit/head")).ToJsonString(),
            (string?)stats["accepted"]?.ToJsonString(),
            (await Get(client, "/v1/players/p-1/rewards")).ToJsonString(),
            (await Get(client, "/v1/players/p-2/rewards")).ToJsonString(),
            (await Get(client, "/v1/approvals")).ToJsonString());
    }

    private static async Task<JsonNode> RefusedAsync(HttpResponseMessage response, string violation)
    {
        var problem = await ActionsApiTests.ProblemOf(response, HttpStatusCode.BadRequest, "invalid_json");
        Assert.Equal(violation, (string?)problem["violation"]);
        Assert.True((long)problem["line"]! >= 1 && (long)problem["byte"]! >= 1, problem.ToJsonString());
        return problem;
    }

    [Fact]
    public async Task The_three_duplicate_member_bugs_of_issue_12_are_refused_and_change_nothing()
    {
        var (factory, client) = await StartAsync();
        using var _ = factory;
        string before = await StateAsync(client);

        // Was 201 with an admin key.
        var keys = await RefusedAsync(await client.PostAsync(U("/v1/keys"), Json("""{"name":"x","kind":"operator","role":"viewer","role":"admin"}""")), "duplicate_member");
        Assert.Contains("\"role\" twice", (string?)keys["detail"], StringComparison.Ordinal);
        Assert.Equal((1L, 47L), ((long)keys["line"]!, (long)keys["byte"]!));
        // Was 200 with the event killed.
        await RefusedAsync(await client.PutAsync(U("/v1/flags/events/hunt"), Json("""{"enabled":true,"enabled":false}""")), "duplicate_member");
        // Was a grant to the second player.
        await RefusedAsync(await client.PostAsync(U("/v1/grants"),
            Json("""{"request_id":"ops-1","player":"p-1","player":"p-2","rewards":{"gems":5},"reason":"r"}""")), "duplicate_member");
        // Nested members count too: the same name twice inside rewards.
        await RefusedAsync(await client.PostAsync(U("/v1/grants"),
            Json("""{"request_id":"ops-1","player":"p-1","rewards":{"gems":5,"gems":500},"reason":"r"}""")), "duplicate_member");

        Assert.Equal(before, await StateAsync(client));
        Assert.Single((await Get(client, "/v1/keys"))["keys"]!.AsArray());
        Assert.Empty((await Get(client, "/v1/flags"))["killed_events"]!.AsArray());
    }

    [Theory]
    [InlineData("{\"\\ud800actions\":[]}")] // was 500: InvalidOperationException in the batch parser
    [InlineData("{\"actions\":[{\"id\":\"w-1\",\"player\":\"pw\",\"type\":\"combat.kill\",\"at\":\"" + At + "\",\"data\":{\"target\":\"dragon\",\"zone\":\"\\udc00\"}}]}")]
    [InlineData("{\"actions\":[{\"id\":\"w-1\",\"player\":\"pw\",\"type\":\"combat.kill\",\"at\":\"" + At + "\",\"data\":{\"\\ud800\":1}}]}")]
    public async Task A_lone_surrogate_anywhere_in_a_batch_refuses_it_before_anything_is_applied(string body)
    {
        var (factory, client) = await StartAsync();
        using var _ = factory;
        string before = await StateAsync(client);
        await RefusedAsync(await client.PostAsync(U("/v1/actions"), Json(body)), "invalid_escape");
        Assert.Equal(before, await StateAsync(client));
        // Counted like any refused batch.
        Assert.Equal(1, (int)(await Get(client, "/v1/stats"))["rejected_by_code"]!["batch:invalid_json"]!);
        // And the server still ingests.
        var ok = await client.PostAsync(U("/v1/actions"), Json("{\"actions\":[{\"id\":\"ok-1\",\"player\":\"p-1\",\"type\":\"combat.kill\",\"at\":\"" + At + "\",\"data\":{\"target\":\"x\"}}]}"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task The_batch_parser_keeps_its_own_codes_for_syntax_errors_and_duplicate_fields()
    {
        var (factory, client) = await StartAsync();
        using var _ = factory;
        var malformed = await ActionsApiTests.ProblemOf(await client.PostAsync(U("/v1/actions"), Json("{\"actions\":[],}")), HttpStatusCode.BadRequest, "malformed_json");
        Assert.Equal("Invalid batch", (string?)malformed["title"]);
        Assert.Null(malformed["violation"]);
        await ActionsApiTests.ProblemOf(await client.PostAsync(U("/v1/actions"), Json("{\"actions\":[]} x")), HttpStatusCode.BadRequest, "malformed_json");
        var response = await client.PostAsync(U("/v1/actions"), Json("{\"actions\":[{\"id\":\"d\",\"id\":\"d\",\"player\":\"p\",\"type\":\"t\",\"at\":\"" + At + "\"}]}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("duplicate_field", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["results"]![0]!["code"]);
    }

    [Fact]
    public async Task Invalid_utf8_over_deep_nesting_trailing_data_and_comments_are_refused_on_every_endpoint()
    {
        var (factory, client) = await StartAsync();
        using var _ = factory;
        string before = await StateAsync(client);
        byte[] latin1 = [.. "{\"name\":\""u8, 0xE9, .. "\",\"kind\":\"operator\",\"role\":\"viewer\"}"u8];
        var utf8 = await RefusedAsync(await client.PostAsync(U("/v1/keys"), Bytes(latin1)), "invalid_utf8");
        Assert.Equal(9L, (long)utf8["offset"]!);
        await RefusedAsync(await client.PostAsync(U("/v1/actions"), Bytes([.. "{\"actions\":[{\"id\":\""u8, 0xFF, .. "\"}]}"u8])), "invalid_utf8");

        string deep = "{\"name\":\"x\",\"kind\":\"operator\",\"role\":\"viewer\",\"extra\":" + new string('[', 64) + new string(']', 64) + "}";
        await RefusedAsync(await client.PostAsync(U("/v1/keys"), Json(deep)), "too_deep");
        // 65 levels in an action's data: the whole batch, not data_too_deep for the one action.
        string deepData = "{\"actions\":[{\"id\":\"deep\",\"player\":\"p-1\",\"type\":\"combat.kill\",\"at\":\"" + At + "\",\"data\":" +
            string.Concat(Enumerable.Repeat("{\"a\":", 62)) + "1" + new string('}', 62) + "}]}";
        await RefusedAsync(await client.PostAsync(U("/v1/actions"), Json(deepData)), "too_deep");

        await RefusedAsync(await client.PostAsync(U("/v1/keys"), Json("""{"name":"x","kind":"operator","role":"admin"} {}""")), "trailing_data");
        await RefusedAsync(await client.PostAsync(U("/v1/keys"), Json("""{"name":"x","kind":"operator","role":"admin" /* c */}""")), "syntax");
        await RefusedAsync(await client.PostAsync(U("/v1/keys"), Json("""{"name":"x","kind":"operator","role":"admin",}""")), "syntax");
        await RefusedAsync(await client.PostAsync(U("/v1/rollout"), Json("""{"candidate":"x","plan":{"steps":[],"steps":[]}}""")), "duplicate_member");
        await RefusedAsync(await client.PostAsync(U("/v1/releases/rollback"), Json("""{"reason":"a","reason":"b"}""")), "duplicate_member");
        await RefusedAsync(await client.PostAsync(U("/v1/outbox/redeliver"), Json("""{"scope":"dead_lettered","scope":"failed"}""")), "duplicate_member");
        Assert.Equal(before, await StateAsync(client));
    }

    [Fact]
    public void The_depth_limit_is_an_option_that_must_leave_room_for_the_deepest_valid_batch()
    {
        static Hosting.ServerOptions Read(params (string Key, string Value)[] settings) => Hosting.ServerOptions.Read(
            new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))).Build());
        Assert.Equal(64, Read().MaxJsonDepth);
        Assert.Equal(100, Read(("Showrunner:MaxJsonDepth", "100")).MaxJsonDepth);
        Assert.Equal(19, Read(("Showrunner:MaxJsonDepth", "19")).MaxJsonDepth); // body, actions, action, then data's 16
        var refused = Assert.Throws<Hosting.OptionsException>(() => Read(("Showrunner:MaxJsonDepth", "18")));
        Assert.Contains("Showrunner:MaxJsonDepth = 18: must be between MaxDataDepth + 3 (19) and 1000.", refused.Errors);
        Assert.Throws<Hosting.OptionsException>(() => Read(("Showrunner:MaxDataDepth", "62")));
    }

    [Theory]
    [InlineData("/v1/actions", "application/json; charset=latin1")]
    [InlineData("/v1/actions", "application/json; charset=\"iso-8859-1\"")]
    [InlineData("/v1/keys", "application/json; charset=utf-16")]
    [InlineData("/v1/grants", "application/json; charset=us-ascii")]
    [InlineData("/v1/keys", "application/json; charset")]
    public async Task A_charset_other_than_utf8_is_refused_415(string path, string contentType)
    {
        var (factory, client) = await StartAsync();
        using var _ = factory;
        string before = await StateAsync(client);
        var content = new StringContent("""{"actions":[]}""");
        content.Headers.Remove("Content-Type");
        Assert.True(content.Headers.TryAddWithoutValidation("Content-Type", contentType));
        await ActionsApiTests.ProblemOf(await client.PostAsync(U(path), content), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        Assert.Equal(before, await StateAsync(client));
        // utf-8 in any case is the one charset accepted.
        var fine = await client.PostAsync(U("/v1/keys"), Json("""{"name":"y","kind":"operator","role":"viewer"}""", "application/json; charset=UTF-8"));
        Assert.Equal(HttpStatusCode.Created, fine.StatusCode);
    }

    [Theory]
    [InlineData("Bearer  {0}")]
    [InlineData("Bearer\t{0}")]
    [InlineData("Bearer {0} x")]
    public async Task An_authorization_header_with_other_than_exactly_one_space_is_refused(string format)
    {
        using var factory = new ShowrunnerFactory();
        await factory.ReadyClientAsync();
        // Straight into the pipeline: HttpClient would normalise the header's spaces on the way.
        async Task<HttpContext> SendAsync(string header) => await factory.Server.SendAsync(context =>
        {
            context.Request.Method = "GET";
            context.Request.Path = "/v1/stats";
            context.Request.Headers.Authorization = header;
        });
        var refused = await SendAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, factory.AdminKey));
        Assert.Equal(StatusCodes.Status401Unauthorized, refused.Response.StatusCode);
        string body = await new StreamReader(refused.Response.Body).ReadToEndAsync();
        Assert.Contains("\"code\":\"unauthorized\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain(factory.AdminKey, body, StringComparison.Ordinal);
        Assert.Equal(StatusCodes.Status200OK, (await SendAsync("Bearer " + factory.AdminKey)).Response.StatusCode);
    }

    [Theory]
    [InlineData("""{"request_id":"ops-1","player":"p-1","rewards":{"gems":"\u0022"},"reason":"fuzz"}""", "rewards.gems")]
    [InlineData("""{"request_id":"ops-1","player":"p-1","rewards":{"gems":5},"reason":"fuzz","run":false}""", "run")]
    [InlineData("""{"request_id":"ops-1","player":"p-1","rewards":{"gems":[5]},"reason":"fuzz","run":"0"}""", "run")]
    public async Task A_grant_amount_or_run_of_the_wrong_json_type_is_a_400_not_a_500(string body, string field)
    {
        // Found by the HTTP fuzzer (bench fuzz, first 40 s run): TryGetInt64 threw on a non-number.
        var (factory, client) = await StartAsync();
        using var _ = factory;
        string before = await StateAsync(client);
        var problem = await ActionsApiTests.ProblemOf(await client.PostAsync(U("/v1/grants"), Json(body)), HttpStatusCode.BadRequest, "invalid_grant_request");
        Assert.Equal(field, (string?)problem["field"]);
        Assert.Equal(before, await StateAsync(client));
    }

    [Theory]
    [InlineData("event", "../../x")]
    [InlineData("event", "a/b")]
    [InlineData("event", ".hidden")]
    [InlineData("event", "with space")]
    [InlineData("event", "é")]
    [InlineData("request_id", "ops 1")]
    [InlineData("request_id", "../ops")]
    public async Task An_operator_grant_label_outside_the_documented_charset_is_refused(string field, string value)
    {
        var (factory, client) = await StartAsync();
        using var _ = factory;
        string before = await StateAsync(client);
        var body = new JsonObject { ["request_id"] = "ops-1", ["player"] = "p-1", ["rewards"] = new JsonObject { ["gems"] = 5 }, ["reason"] = "r" };
        body[field] = value;
        var problem = await ActionsApiTests.ProblemOf(await client.PostAsync(U("/v1/grants"), Json(body.ToJsonString())), HttpStatusCode.BadRequest, "invalid_grant_request");
        Assert.Equal(field, (string?)problem["field"]);
        Assert.Equal(before, await StateAsync(client));
        body[field] = field == "event" ? "hunt:2026.11" : "ops-2026-11-22_001";
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync(U("/v1/grants"), Json(body.ToJsonString()))).StatusCode);
    }
}
