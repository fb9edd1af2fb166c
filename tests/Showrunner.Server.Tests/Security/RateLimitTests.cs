using System.Net;
using Showrunner.Server.Security;
using Showrunner.Testing;

namespace Showrunner.Server.Tests.Security;

/// <summary>Per-credential token buckets on the manual clock: a burst, then 429 with Retry-After, refill with time, one bucket per caller.</summary>
[Trait("Category", "Component")]
public sealed class RateLimitTests
{
    private static Uri U(string path) => new(path, UriKind.Relative);

    private static Dictionary<string, string?> Limits(params (string Name, int Value)[] limits) =>
        limits.ToDictionary(l => "Showrunner:RateLimits:" + l.Name, l => (string?)l.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private static async Task AllowedAsync(HttpClient client, string path = "/v1/stats")
    {
        using var response = await client.GetAsync(U(path));
        Assert.True(response.StatusCode is not HttpStatusCode.TooManyRequests, $"{path}: {response.StatusCode}");
    }

    private static async Task<string> LimitedAsync(HttpClient client, string path = "/v1/stats")
    {
        using var response = await client.GetAsync(U(path));
        await ActionsApiTests.ProblemOf(response, HttpStatusCode.TooManyRequests, "rate_limited");
        return response.Headers.GetValues("Retry-After").Single();
    }

    [Fact]
    public async Task A_key_gets_its_burst_then_429_with_Retry_After_and_refills_with_time()
    {
        // 2 per second: one request every 500 ms, bursts of 3.
        using var factory = new ShowrunnerFactory(Limits(("OperatorPerSecond", 2), ("OperatorBurst", 3)));
        var (_, viewer) = await factory.CreateKeyAsync("viewer");
        using var client = factory.ClientWith(viewer);
        for (int i = 0; i < 3; i++)
        {
            await AllowedAsync(client);
        }
        Assert.Equal("1", await LimitedAsync(client));
        // Refused requests cost nothing: the bucket is one interval (500 ms) from the next request.
        factory.Clock.Advance(TimeSpan.FromMilliseconds(499));
        Assert.Equal("1", await LimitedAsync(client));
        factory.Clock.Advance(TimeSpan.FromMilliseconds(1));
        await AllowedAsync(client);
        Assert.Equal("1", await LimitedAsync(client));
        // A full refill after burst × interval.
        factory.Clock.Advance(TimeSpan.FromMilliseconds(1500));
        for (int i = 0; i < 3; i++)
        {
            await AllowedAsync(client);
        }
        await LimitedAsync(client);
    }

    [Fact]
    public async Task Every_key_and_every_player_has_its_own_bucket_and_a_players_tokens_share_one()
    {
        using var factory = new ShowrunnerFactory(Limits(("OperatorPerSecond", 1), ("OperatorBurst", 2), ("PlayerPerSecond", 1), ("PlayerBurst", 2),
            ("GameServerPerSecond", 1), ("GameServerBurst", 5)));
        // The admin key is an operator key too (burst 2): the clock moves on between its requests.
        var (_, first) = await factory.CreateKeyAsync("viewer");
        factory.Clock.Advance(TimeSpan.FromSeconds(10));
        var (_, second) = await factory.CreateKeyAsync("viewer");
        factory.Clock.Advance(TimeSpan.FromSeconds(10));
        var (_, gameServer) = await factory.CreateKeyAsync(title: "default");
        string a1 = await factory.IssueTokenAsync(gameServer, "a");
        string a2 = await factory.IssueTokenAsync(gameServer, "a");
        string b = await factory.IssueTokenAsync(gameServer, "b");
        factory.Clock.Advance(TimeSpan.FromSeconds(10));

        using var firstClient = factory.ClientWith(first);
        await AllowedAsync(firstClient);
        await AllowedAsync(firstClient);
        await LimitedAsync(firstClient);
        using var secondClient = factory.ClientWith(second);
        await AllowedAsync(secondClient);
        await AllowedAsync(secondClient);
        await LimitedAsync(secondClient);
        await LimitedAsync(firstClient);

        // Two tokens of player a count in a's one bucket; b has its own.
        using var playerA1 = factory.ClientWith(a1);
        using var playerA2 = factory.ClientWith(a2);
        using var playerB = factory.ClientWith(b);
        await AllowedAsync(playerA1, "/v1/players/a/rewards");
        await AllowedAsync(playerA2, "/v1/players/a/rewards");
        await LimitedAsync(playerA1, "/v1/players/a/rewards");
        await AllowedAsync(playerB, "/v1/players/b/rewards");
        // The game server's bucket is its own too, with its kind's burst (5), untouched by its players' requests.
        using var server = factory.ClientWith(gameServer);
        for (int i = 0; i < 5; i++)
        {
            await AllowedAsync(server, "/v1/players/a/rewards");
        }
        await LimitedAsync(server, "/v1/players/a/rewards");
        await LimitedAsync(playerA2, "/v1/players/a/rewards");
    }

    [Fact]
    public async Task Requests_without_a_valid_credential_are_limited_per_address_and_failed_guesses_count()
    {
        using var factory = new ShowrunnerFactory(Limits(("AnonymousPerSecond", 1), ("AnonymousBurst", 3)));
        await factory.ReadyClientAsync();
        factory.Clock.Advance(TimeSpan.FromSeconds(10));
        using var anonymous = factory.ClientWith(null);
        using var guessing = factory.ClientWith("sr_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        await AllowedAsync(anonymous, "/healthz");
        await ActionsApiTests.ProblemOf(await guessing.GetAsync(U("/v1/stats")), HttpStatusCode.Unauthorized, "unauthorized");
        await ActionsApiTests.ProblemOf(await anonymous.GetAsync(U("/v1/no-such-path")), HttpStatusCode.NotFound, "not_found");
        // The address's bucket is empty now: a guess is not even checked, and the probe waits too.
        await LimitedAsync(guessing);
        await LimitedAsync(anonymous, "/healthz");
        // A valid key is counted in its own bucket, not the address's.
        using var admin = factory.CreateClient();
        await AllowedAsync(admin);
    }

    [Fact]
    public void Buckets_are_bounded_full_ones_are_dropped_and_newcomers_share_an_overflow_bucket_while_all_are_busy()
    {
        var clock = new ManualClock(ShowrunnerFactory.Now);
        var limiter = new RateLimiter(new RateLimitOptions { Player = new(1, 2), MaxBuckets = 1_000 }, clock);
        for (int i = 0; i < 1_000; i++)
        {
            Assert.Null(limiter.TryTake(RateLimitKind.Player, "p-" + i));
        }
        Assert.Equal(1_000, limiter.BucketCount);
        // All 1,000 are busy: newcomers share one bucket (burst 2) instead of growing the table.
        Assert.Null(limiter.TryTake(RateLimitKind.Player, "new-1"));
        Assert.Null(limiter.TryTake(RateLimitKind.Player, "new-2"));
        Assert.Equal(TimeSpan.FromSeconds(1), limiter.TryTake(RateLimitKind.Player, "new-3"));
        Assert.Equal(1_001, limiter.BucketCount);
        // A known caller keeps its own bucket meanwhile.
        Assert.Null(limiter.TryTake(RateLimitKind.Player, "p-7"));
        Assert.Equal(TimeSpan.FromSeconds(1), limiter.TryTake(RateLimitKind.Player, "p-7"));

        // Once they are full again (idle for burst × interval), they are swept out: nothing is lost.
        clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Null(limiter.TryTake(RateLimitKind.Player, "new-4"));
        Assert.Equal(1, limiter.BucketCount);
        Assert.Null(limiter.TryTake(RateLimitKind.Player, "p-7"));
        Assert.Null(limiter.TryTake(RateLimitKind.Player, "p-7"));
        Assert.NotNull(limiter.TryTake(RateLimitKind.Player, "p-7"));
    }

    [Fact]
    public void Retry_After_is_the_time_until_the_next_request_fits_rounded_up_by_the_server()
    {
        var clock = new ManualClock(ShowrunnerFactory.Now);
        var limiter = new RateLimiter(new RateLimitOptions { Operator = new(3, 1) }, clock);
        Assert.Null(limiter.TryTake(RateLimitKind.Operator, "k"));
        Assert.Equal(TimeSpan.FromTicks(TimeSpan.TicksPerSecond / 3), limiter.TryTake(RateLimitKind.Operator, "k"));
        clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(TimeSpan.FromTicks(TimeSpan.TicksPerSecond / 3) - TimeSpan.FromMilliseconds(100), limiter.TryTake(RateLimitKind.Operator, "k"));
        // Kinds do not share buckets even under the same id.
        Assert.Null(limiter.TryTake(RateLimitKind.GameServer, "k"));
    }
}
