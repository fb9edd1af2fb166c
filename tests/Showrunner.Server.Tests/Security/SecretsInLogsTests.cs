using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Showrunner.Server.Security;

namespace Showrunner.Server.Tests.Security;

/// <summary>No secret reaches a log line, at any level; and the middleware refuses an endpoint that declares no access.</summary>
[Trait("Category", "Component")]
public sealed class SecretsInLogsTests
{
    private static Uri U(string path) => new(path, UriKind.Relative);

    /// <summary>Every log entry of every category at Trace and above: message, exception and each structured value.</summary>
    private sealed class CapturingProvider : ILoggerProvider
    {
        public ConcurrentQueue<string> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull
            {
                provider.Entries.Enqueue($"{category} scope: {state}");
                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var text = new StringBuilder($"{category} {logLevel} {eventId.Id}: {formatter(state, exception)} {exception}");
                if (state is IEnumerable<KeyValuePair<string, object?>> values)
                {
                    foreach (var (name, value) in values)
                    {
                        text.Append(' ').Append(name).Append('=').Append(value);
                    }
                }
                provider.Entries.Enqueue(text.ToString());
            }
        }
    }

    [Fact]
    public async Task Creating_using_and_revoking_keys_and_tokens_writes_no_secret_to_any_log()
    {
        var logs = new CapturingProvider();
        using var factory = new ShowrunnerFactory(configure: builder => builder.ConfigureLogging(logging =>
        {
            logging.AddProvider(logs);
            logging.AddFilter<CapturingProvider>(null, LogLevel.Trace);
        }));
        var admin = await factory.ReadyClientAsync();
        var created = JsonNode.Parse(await (await admin.PostAsync(U("/v1/keys"),
            new StringContent("""{"name":"ops","kind":"operator","role":"operator"}""", Encoding.UTF8, "application/json"))).Content.ReadAsStringAsync())!;
        string secret = (string)created["secret"]!;
        var (gameServerId, gameServer) = await factory.CreateKeyAsync(title: "default");
        string token = await factory.IssueTokenAsync(gameServer, "p-1");
        using (var ops = factory.ClientWith(secret))
        {
            Assert.Equal(HttpStatusCode.OK, (await ops.GetAsync(U("/v1/stats"))).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await ops.GetAsync(U("/v1/keys"))).StatusCode);
        }
        using (var player = factory.ClientWith(token))
        {
            Assert.Equal(HttpStatusCode.OK, (await player.GetAsync(U("/v1/players/p-1/rewards"))).StatusCode);
        }
        using (var wrong = factory.ClientWith(secret[..^2] + "zz"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync(U("/v1/stats"))).StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync(U("/v1/keys/" + gameServerId))).StatusCode);
        using (var revoked = factory.ClientWith(gameServer))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await revoked.PostAsync(U("/v1/players/p-1/tokens"), null)).StatusCode);
        }

        var entries = logs.Entries.ToArray();
        // The log did see these events (by key id): the capture works, so the absence below means something.
        Assert.Contains(entries, e => e.Contains("API key " + (string)created["id"]! + " created", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Contains("revoked", StringComparison.Ordinal) && e.Contains(gameServerId, StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Contains("Refused GET /v1/stats: unauthorized", StringComparison.Ordinal));
        foreach (string sensitive in new[] { factory.AdminKey, secret, gameServer, token })
        {
            // The secret parts alone (after sr_<id>_, and a token's payload and signature).
            string part = sensitive.StartsWith("sr_", StringComparison.Ordinal) ? sensitive[16..] : sensitive[5..];
            Assert.DoesNotContain(entries, e => e.Contains(part, StringComparison.Ordinal));
            Assert.DoesNotContain(entries, e => e.Contains(part[..20], StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// The log as the server writes it by default (Information and above, ASP.NET Core's request
    /// lines off): during an ingest workload with grants, player reads, a scrape of /metrics and
    /// traced requests, no player id and no secret appears — not in a message, not in a
    /// structured value, not in a scope.
    /// </summary>
    [Fact]
    public async Task An_ingest_workload_logs_no_player_id_and_no_secret_at_the_default_levels()
    {
        var logs = new CapturingProvider();
        using var factory = new ShowrunnerFactory(configure: builder => builder.ConfigureLogging(logging => logging.AddProvider(logs)));
        var admin = await factory.ReadyClientAsync();
        var (bundle, _) = Core.Rules.Bundle.ReleaseBundle.Build([new Core.Rules.Syntax.SourceText("metrics.hcl", Observability.MetricsTests.Release)]);
        var content = new ByteArrayContent(bundle!.CanonicalBytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsync(U("/v1/releases"), content)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync(U($"/v1/releases/{bundle.Id}/activate"), null)).StatusCode);
        await factory.Services.GetRequiredService<Runtime.LiveEvents.LifecycleCoordinator>().TickAsync();
        var (_, gameServer) = await factory.CreateKeyAsync(title: "default");
        string[] players = ["zoe-player-4711", "yan-player-0815"];
        string token = await factory.IssueTokenAsync(gameServer, players[0]);
        using (var ingest = factory.ClientWith(gameServer))
        {
            string body = Observability.MetricsTests.Batch([.. Enumerable.Range(0, 8).Select(i => Observability.MetricsTests.Kill("w-" + i, players[i % 2]))]);
            using var request = new HttpRequestMessage(HttpMethod.Post, U("/v1/actions")) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
            Assert.Equal(HttpStatusCode.OK, (await ingest.SendAsync(request)).StatusCode);
        }
        using (var player = factory.ClientWith(token))
        {
            Assert.Equal(HttpStatusCode.OK, (await player.GetAsync(U($"/v1/players/{players[0]}/events"))).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await player.GetAsync(U($"/v1/players/{players[1]}/rewards"))).StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync(U($"/v1/events/hunt/leaderboard/rank/{players[1]}"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync(U("/metrics"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(U($"/v1/nothing/{players[0]}"))).StatusCode);

        var entries = logs.Entries.ToArray();
        // The capture saw the server's own lines (the release activation among them), so the absence below means something.
        Assert.Contains(entries, e => e.StartsWith("Showrunner.", StringComparison.Ordinal) && e.Contains(" Information ", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Contains(bundle.Id, StringComparison.Ordinal));
        Assert.True(!entries.Any(e => e.Contains(" Debug ", StringComparison.Ordinal) || e.Contains(" Trace ", StringComparison.Ordinal)),
            string.Join("\n", entries.Where(e => e.Contains(" Debug ", StringComparison.Ordinal) || e.Contains(" Trace ", StringComparison.Ordinal)).Take(5)));
        // Scopes: ASP.NET Core opens one per request with the request's path (which can name a
        // player). The text format writes no scopes; the JSON format drops RequestPath from them
        // (checked on its real output in tests/Showrunner.EndToEnd.Tests/Observability/JsonLogTests.cs).
        var lines = entries.Where(e => !e.Contains(" scope: ", StringComparison.Ordinal)).ToArray();
        foreach (string player in players)
        {
            Assert.True(!lines.Any(e => e.Contains(player, StringComparison.Ordinal)), string.Join("\n", lines.Where(e => e.Contains(player, StringComparison.Ordinal))));
        }
        foreach (string sensitive in new[] { factory.AdminKey, gameServer, token })
        {
            string part = sensitive.StartsWith("sr_", StringComparison.Ordinal) ? sensitive[16..] : sensitive[5..];
            Assert.DoesNotContain(entries, e => e.Contains(part[..20], StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task An_endpoint_without_a_declared_access_is_refused_to_everybody_even_the_admin()
    {
        using var factory = new ShowrunnerFactory();
        await factory.ReadyClientAsync();
        bool reached = false;
        var middleware = ActivatorUtilities.CreateInstance<AuthenticationMiddleware>(factory.Services, (RequestDelegate)(_ =>
        {
            reached = true;
            return Task.CompletedTask;
        }));
        var context = new DefaultHttpContext { RequestServices = factory.Services };
        context.Request.Method = "GET";
        context.Request.Path = "/v1/undeclared";
        context.Request.Headers.Authorization = "Bearer " + factory.AdminKey;
        context.Response.Body = new MemoryStream();
        context.SetEndpoint(new RouteEndpoint(_ => Task.CompletedTask, RoutePatternFactory.Parse("/v1/undeclared"), 0, EndpointMetadataCollection.Empty, "undeclared"));
        await middleware.InvokeAsync(context);
        Assert.False(reached);
        Assert.Equal(StatusCodes.Status403Forbidden, context.Response.StatusCode);
        Assert.Contains("\"code\":\"forbidden\"", Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray()), StringComparison.Ordinal);
        Assert.Null(context.GetPrincipal());

        // The same endpoint with a declared access lets the admin through, with the principal set.
        context = new DefaultHttpContext { RequestServices = factory.Services };
        context.Request.Method = "GET";
        context.Request.Headers.Authorization = "Bearer " + factory.AdminKey;
        context.SetEndpoint(new RouteEndpoint(_ => Task.CompletedTask, RoutePatternFactory.Parse("/v1/declared"), 0,
            new EndpointMetadataCollection(new AccessRequirement(Access.Admin)), "declared"));
        await middleware.InvokeAsync(context);
        Assert.True(reached);
        Assert.Equal((PrincipalKind.Operator, Role.Admin, "key:" + factory.AdminKey[3..15]),
            (context.GetPrincipal()!.Kind, context.GetPrincipal()!.Role, context.GetPrincipal()!.Actor));
    }

    [Fact]
    public void Key_texts_parse_only_in_their_exact_form()
    {
        var (id, text, hash) = ApiKeySecret.Create();
        Assert.Equal(ApiKeySecret.Length, text.Length);
        Span<byte> parsed = stackalloc byte[32];
        Assert.True(ApiKeySecret.TryParse(text, out string parsedId, parsed));
        Assert.Equal(id, parsedId);
        Assert.Equal(hash, parsed.ToArray());
        Assert.NotEqual(text, ApiKeySecret.Create().Text);
        foreach (string bad in new[]
        {
            "", text[..^1], text + "A", "xr" + text[2..], text[..3] + text[3..15].ToUpperInvariant() + text[15..],
            text[..15] + "-" + text[16..], text[..16] + "!" + text[17..], text[..3] + "g" + text[4..],
        })
        {
            if (bad == text)
            {
                continue;
            }
            Assert.False(ApiKeySecret.TryParse(bad, out _, parsed), bad);
        }
    }
}
