using System.Text;
using System.Text.Json.Nodes;
using Showrunner.Testing;

namespace Showrunner.EndToEnd.Tests;

/// <summary>
/// Requests that answered 500 (or an empty 400) before issue 12, sent over a real socket to the
/// real server: each gets its own 4xx as a problem document, and the server stays ready.
/// </summary>
[Trait("Category", "Integration")]
public sealed class HttpEdgeTests() : RunningServerTest("showrunner-edges")
{

    private string[] Json => ["Authorization: Bearer " + Server.AdminKey, "Content-Type: application/json"];

    private static JsonNode ProblemOf(RawHttp.Response response, int status, string code)
    {
        Assert.True(response.Status == status, $"{response.Status} (expected {status}): {response.Head}\n{response.Text}");
        Assert.Equal("application/problem+json", response.Header("Content-Type"));
        var problem = JsonNode.Parse(response.Text)!;
        Assert.Equal((code, status), ((string?)problem["code"], (int)problem["status"]!));
        return problem;
    }

    private async Task AssertStillReadyAsync()
    {
        var ready = await RawHttp.SendAsync(Server.Port, RawHttp.Request("GET", "/readyz", [], null), TimeSpan.FromSeconds(5));
        Assert.Equal(200, ready.Status);
    }

    [Fact]
    public async Task A_lone_surrogate_member_name_in_a_batch_is_a_400_not_a_500()
    {
        var response = await RawHttp.SendAsync(Server.Port,
            RawHttp.Request("POST", "/v1/actions", Json, Encoding.UTF8.GetBytes("{\"\\ud800actions\":[]}")), TimeSpan.FromSeconds(5));
        Assert.Equal("invalid_escape", (string?)ProblemOf(response, 400, "invalid_json")["violation"]);
        await AssertStillReadyAsync();
    }

    [Fact]
    public async Task A_body_that_stalls_before_its_content_length_is_answered_408_within_the_minimum_data_rate_bound()
    {
        // Kestrel's minimum request body data rate: 240 bytes/s after a 5 s grace period.
        byte[] head = RawHttp.Request("POST", "/v1/actions", [.. Json, "Content-Length: 100"], null);
        var response = await RawHttp.SendAsync(Server.Port, [.. head, .. "{\"actions\":"u8], TimeSpan.FromSeconds(20));
        Assert.False(response.TimedOut, "no answer within 20 s");
        ProblemOf(response, 408, "request_timeout");
        await AssertStillReadyAsync();
    }

    [Fact]
    public async Task A_body_that_ends_before_its_content_length_changes_nothing_and_is_noServer_failure()
    {
        // Kestrel takes the client's FIN as the end of the connection, so no answer can be sent;
        // the endpoint's read fails with BadHttpRequestException (400), which is not a 500 and not
        // logged as an unhandled failure.
        using var client = Server.CreateClient(TimeSpan.FromSeconds(5));
        string keysBefore = await client.GetStringAsync(new Uri("/v1/keys", UriKind.Relative));
        byte[] head = RawHttp.Request("POST", "/v1/keys", [.. Json, "Content-Length: 100"], null);
        var response = await RawHttp.SendAsync(Server.Port, [.. head, .. "{\"name\":\"x\",\"kind\":\"operator\",\"role\":\"admin\"}"u8],
            TimeSpan.FromSeconds(10), endAfterSending: true);
        Assert.False(response.TimedOut);
        Assert.True(response.Status is 0 or 400, $"{response.Status}: {response.Text}");
        Assert.Equal(keysBefore, await client.GetStringAsync(new Uri("/v1/keys", UriKind.Relative)));
        await AssertStillReadyAsync();
        Assert.DoesNotContain(Server.OutputLines, line => line.Contains("Unhandled failure", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("/v1/actions/a%00b")]
    [InlineData("/v1/players/p%00/events")]
    [InlineData("/%00")]
    public async Task A_nul_in_the_path_is_refused_400_by_kestrel_before_any_middleware(string target)
    {
        // Kestrel refuses a decoded NUL while it parses the request line, before the app's pipeline
        // runs, so the answer cannot be a problem document: docs/api.md, "Other errors".
        var response = await RawHttp.SendAsync(Server.Port,
            RawHttp.Request("GET", target, ["Authorization: Bearer " + Server.AdminKey], null), TimeSpan.FromSeconds(5));
        Assert.Equal(400, response.Status);
        Assert.Empty(response.Body);
        await AssertStillReadyAsync();
    }
}
