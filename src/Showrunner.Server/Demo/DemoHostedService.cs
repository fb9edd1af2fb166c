using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Showrunner.Core.Actions;
using Showrunner.Core.LiveEvents;
using Showrunner.Core.Rollouts;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Releases;
using Showrunner.Runtime.Rollouts;
using Showrunner.Server.Hosting;
using Showrunner.Server.Security;
using Showrunner.Storage;

namespace Showrunner.Server.Demo;

/// <summary>
/// Demo mode (<c>Showrunner:Demo:Enabled</c>): once the pipeline is ready it makes sure an event
/// is live (activating <see cref="DemoRelease.Live"/>, the example as a weekly event, when the
/// active release has none running now), starts a staged rollout of the tuned candidate once, creates a game-server key for
/// itself, and sends the <see cref="PlayerSimulator"/>'s actions to this server's own
/// <c>POST /v1/actions</c> over loopback — the real ingest path: authentication, rate limits,
/// validation against the release's schemas, the pipeline, the ledger.
/// </summary>
/// <remarks>
/// Paced by <see cref="DemoPacer"/> at <see cref="DemoOptions.ActionsPerSecond"/>, with at most
/// <see cref="DemoOptions.MaxInFlightBatches"/> requests in flight. A batch answered 503 or not
/// answered is sent again unchanged (its ids make that safe: the repeat is a duplicate). Ids are
/// <c>demo-&lt;seed&gt;-&lt;start time&gt;-&lt;n&gt;</c>, so a restart on the same data directory sends new
/// actions rather than conflicting with the old ones. The key is created at each start (the
/// previous demo keys are revoked first) and held in memory only.
/// </remarks>
internal sealed partial class DemoHostedService(IngestPipeline pipeline, ReleaseRegister register, RolloutController rollouts, KeyRing keys,
    IActionStore store, ServerOptions options, IServer server, IHostApplicationLifetime lifetime, TimeProvider time, ILogger<DemoHostedService> logger)
    : BackgroundService
{
    public const string Actor = "system:demo";
    public const string KeyName = "demo player simulator";
    private static readonly TimeSpan ReportEvery = TimeSpan.FromSeconds(30);

    private long _accepted;
    private long _rejected;
    private long _retried;

    /// <summary>Registers the service when demo mode is on.</summary>
    public static void AddServices(IServiceCollection services, DemoOptions demo)
    {
        if (demo.Enabled)
        {
            services.AddHostedService<DemoHostedService>();
        }
    }

    /// <summary>
    /// The demo's rollout plan: a 10 % canary, then 50 %, then everyone; a person advances each step.
    /// The gates wait for 20,000 actions per cohort (about 200 s of the canary at the default rate):
    /// rare rewards (the silver tier's blade) make per-action rates noisy in small samples, and a
    /// demo canary rolled back on noise would show nothing. The soak (5 min) outlasts that wait, so
    /// at the default rate the step is judged before it could be held.
    /// </summary>
    public static RolloutPlan Plan { get; } = new(
        [
            new RolloutStep(StepMode.Live, 1_000, TimeSpan.FromMinutes(5)),
            new RolloutStep(StepMode.Live, 5_000, TimeSpan.FromMinutes(5)),
            new RolloutStep(StepMode.Live, 10_000, TimeSpan.Zero),
        ], new GateThresholds(MinActions: 20_000, MaxRewardRatioPercent: 300), AutoAdvance: false, RollbackPolicy.Keep);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var demo = options.Demo;
        if (demo.StopOnStdinClose)
        {
            WatchStandardInput();
        }
        try
        {
            while (pipeline.State != RuntimeState.Ready)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), stoppingToken).ConfigureAwait(false);
            }
            await EnsureLiveReleaseAsync().ConfigureAwait(false);
            if (demo.Rollout)
            {
                await EnsureRolloutAsync().ConfigureAwait(false);
            }
            string secret = CreateKey();
            var address = LoopbackAddress();
            LogStarted(logger, demo.Players, demo.ActionsPerSecond, demo.Seed, address.ToString());
            await SimulateAsync(address, secret, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (Exception exception) when (exception is InvalidOperationException or HttpRequestException)
        {
            LogFailed(logger, exception);
        }
    }

    /// <summary>Ends the server when standard input closes (the <c>showrunner demo</c> process that holds it exited).</summary>
    private void WatchStandardInput()
    {
        var thread = new Thread(() =>
        {
            try
            {
                using var input = Console.OpenStandardInput();
                var buffer = new byte[256];
                while (input.Read(buffer, 0, buffer.Length) > 0)
                {
                    // Anything written is ignored: only the end of the stream matters.
                }
            }
            catch (IOException)
            {
                // A broken pipe is an end too.
            }
            LogInputClosed(logger);
            lifetime.StopApplication();
        })
        { IsBackground = true, Name = "showrunner-demo-stdin" };
        thread.Start();
    }

    private async Task EnsureLiveReleaseAsync()
    {
        var now = time.GetUtcNow();
        if (pipeline.ActiveRelease?.Loaded.Bundle.Release.Events.Any(e => RunsNow(e.Schedule, now)) == true)
        {
            LogKept(logger, pipeline.ActiveRelease.Name);
            return;
        }
        if (rollouts.IsRunning)
        {
            // The register cannot move under a rollout; its baseline has no live event, so it ends here.
            await rollouts.RollbackAsync(Actor, "demo mode: the rollout's releases have no live event any more").ConfigureAwait(false);
        }
        var bundle = DemoRelease.Live();
        var published = await register.PublishAsync(bundle.CanonicalBytes, bundle.Id).ConfigureAwait(false);
        if (published.Status is not (PublishStatus.Created or PublishStatus.Existing))
        {
            throw new InvalidOperationException($"Demo mode could not publish its release: {published.Status}.");
        }
        var change = await register.ActivateAsync(bundle.Id, null, "demo mode: examples/summer-week-1 as a weekly event").ConfigureAwait(false);
        if (change.Status is not (ChangeStatus.Changed or ChangeStatus.Unchanged))
        {
            throw new InvalidOperationException($"Demo mode could not activate its release: {change.Status} " +
                string.Join("; ", change.Problems.Select(p => p.Code + " " + p.Message)));
        }
        LogActivated(logger, bundle.Release.Name, bundle.Id);
    }

    private static bool RunsNow(Core.Rules.Model.ScheduleDefinition schedule, DateTimeOffset now) =>
        EventRuns.LastStarted(schedule, now) is var last and >= 0 && EventRuns.Run(schedule, last) is { } run && now < run.End;

    /// <summary>Starts the tuned candidate's rollout unless one is running or one already ran beside the active release.</summary>
    private async Task EnsureRolloutAsync()
    {
        var active = register.Current?.Release;
        var latest = rollouts.View();
        if (active is null || rollouts.IsRunning || (latest is not null && (latest.BaselineId == active.Id || latest.CandidateId == active.Id)))
        {
            return;
        }
        var candidate = DemoRelease.Candidate();
        if (candidate.Id == active.Id)
        {
            return;
        }
        var published = await register.PublishAsync(candidate.CanonicalBytes, candidate.Id).ConfigureAwait(false);
        if (published.Status is not (PublishStatus.Created or PublishStatus.Existing))
        {
            throw new InvalidOperationException($"Demo mode could not publish its rollout candidate: {published.Status}.");
        }
        var result = await rollouts.StartAsync(candidate.Id, Plan, salt: "demo", expectedVersion: null, Actor,
            "demo mode: canary of a tuned spawn config").ConfigureAwait(false);
        if (result.Status != RolloutStatus.Started)
        {
            // Not fatal: the demo runs without a rollout.
            LogRolloutRefused(logger, result.Status.ToString(), result.Detail);
        }
    }

    /// <summary>A game-server key for the simulator, created now (earlier demo keys are revoked); its secret lives in memory only.</summary>
    private string CreateKey()
    {
        foreach (var old in store.Keys.ListActive().Where(k => k.CreatedBy == Actor))
        {
            keys.Revoke(old.Id, Actor);
        }
        var created = keys.Create(new NewKey(KeyName, PrincipalKind.GameServer, null, options.Security.Title), Actor)
            ?? throw new InvalidOperationException($"Demo mode could not create its game-server key: {KeyRing.MaxActiveKeys} keys are active.");
        return created.Text;
    }

    /// <summary>This server's own address on loopback (a wildcard listen address is reached through 127.0.0.1).</summary>
    private Uri LoopbackAddress()
    {
        string? address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            ?? throw new InvalidOperationException("Demo mode needs an http:// listen address to send its actions to.");
        var uri = new Uri(address.Replace("://*", "://127.0.0.1", StringComparison.Ordinal).Replace("://+", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal).Replace("://[::]", "://[::1]", StringComparison.Ordinal));
        return new Uri(uri.GetLeftPart(UriPartial.Authority));
    }

    private async Task SimulateAsync(Uri address, string secret, CancellationToken stoppingToken)
    {
        var demo = options.Demo;
        string prefix = $"demo-{demo.Seed}-{time.GetUtcNow().ToUnixTimeMilliseconds()}";
        var simulator = new PlayerSimulator(demo.Seed, demo.Players, prefix);
        var pacer = new DemoPacer(demo.ActionsPerSecond);
        using var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), MaxConnectionsPerServer = demo.MaxInFlightBatches };
        using var client = new HttpClient(handler) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var inFlight = new SemaphoreSlim(demo.MaxInFlightBatches, demo.MaxInFlightBatches);
        long started = time.GetTimestamp();
        long reported = started;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                int count = pacer.Take(time.GetElapsedTime(started), demo.BatchSize);
                if (count == 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(10), stoppingToken).ConfigureAwait(false);
                    continue;
                }
                await inFlight.WaitAsync(stoppingToken).ConfigureAwait(false);
                var batch = simulator.Next(count);
                _ = SendAsync(client, batch, inFlight, stoppingToken);
                if (time.GetElapsedTime(reported) >= ReportEvery)
                {
                    reported = time.GetTimestamp();
                    LogProgress(logger, simulator.Produced, Interlocked.Read(ref _accepted), Interlocked.Read(ref _rejected), Interlocked.Read(ref _retried));
                }
            }
        }
        finally
        {
            // The sends still in flight end at once on the stop token; wait for them before the client goes.
            for (int slot = 0; slot < demo.MaxInFlightBatches; slot++)
            {
                await inFlight.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Sends one batch until it is answered (a repeat is safe: same ids, same content), then frees its slot.</summary>
    private async Task SendAsync(HttpClient client, List<SimulatedAction> batch, SemaphoreSlim inFlight, CancellationToken stoppingToken)
    {
        try
        {
            byte[] body = PlayerSimulator.BatchJson(batch, Rfc3339.Format(time.GetUtcNow().UtcTicks));
            for (int attempt = 0; !stoppingToken.IsCancellationRequested; attempt++)
            {
                try
                {
                    using var content = new ByteArrayContent(body);
                    content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    using var response = await client.PostAsync(new Uri("/v1/actions", UriKind.Relative), content, stoppingToken).ConfigureAwait(false);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        string text = await response.Content.ReadAsStringAsync(stoppingToken).ConfigureAwait(false);
                        Count(text);
                        return;
                    }
                    if (response.StatusCode is not (HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests))
                    {
                        // Refused as a whole (a bug in the simulator, or the key revoked): not worth repeating.
                        LogBatchRefused(logger, (int)response.StatusCode);
                        Interlocked.Add(ref _rejected, batch.Count);
                        return;
                    }
                    var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
                    Interlocked.Increment(ref _retried);
                    await Task.Delay(wait, stoppingToken).ConfigureAwait(false);
                }
                catch (HttpRequestException) when (!stoppingToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _retried);
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5_000, 200 << Math.Min(attempt, 5))), stoppingToken).ConfigureAwait(false);
                }
                catch (TaskCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // Timed out: the batch may or may not have been committed; the repeat answers either way.
                    Interlocked.Increment(ref _retried);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: whatever was committed stays committed.
        }
        finally
        {
            inFlight.Release();
        }
    }

    private void Count(string answer)
    {
        // Counting the statuses is enough for the progress line; the server's own stats are the record.
        int accepted = CountOf(answer, "\"status\":\"accepted\"") + CountOf(answer, "\"status\":\"duplicate\"");
        int rejected = CountOf(answer, "\"status\":\"rejected\"");
        Interlocked.Add(ref _accepted, accepted);
        Interlocked.Add(ref _rejected, rejected);
    }

    private static int CountOf(string text, string what)
    {
        int count = 0;
        for (int at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }

    [LoggerMessage(EventId = 8200, Level = LogLevel.Warning,
        Message = "Demo mode: simulating {Players} players at up to {ActionsPerSecond} actions/s (seed {Seed}), sending to {Address}/v1/actions")]
    private static partial void LogStarted(ILogger logger, int players, int actionsPerSecond, long seed, string address);

    [LoggerMessage(EventId = 8201, Level = LogLevel.Information, Message = "Demo mode: the active release {Name} has an event running now; keeping it")]
    private static partial void LogKept(ILogger logger, string name);

    [LoggerMessage(EventId = 8202, Level = LogLevel.Warning, Message = "Demo mode: activated {Name} {Id} (the example release as a weekly event)")]
    private static partial void LogActivated(ILogger logger, string name, string id);

    [LoggerMessage(EventId = 8203, Level = LogLevel.Warning, Message = "Demo mode: the rollout was not started: {Status}: {Detail}")]
    private static partial void LogRolloutRefused(ILogger logger, string status, string detail);

    [LoggerMessage(EventId = 8204, Level = LogLevel.Information,
        Message = "Demo mode: {Produced} actions produced, {Accepted} accepted, {Rejected} rejected, {Retried} batches sent again")]
    private static partial void LogProgress(ILogger logger, long produced, long accepted, long rejected, long retried);

    [LoggerMessage(EventId = 8205, Level = LogLevel.Warning, Message = "Demo mode: a batch was refused with HTTP {Status}; it is not sent again")]
    private static partial void LogBatchRefused(ILogger logger, int status);

    [LoggerMessage(EventId = 8206, Level = LogLevel.Error, Message = "Demo mode stopped: it could not set up or send")]
    private static partial void LogFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 8207, Level = LogLevel.Warning, Message = "Demo mode: standard input closed (the demo command exited); stopping the server")]
    private static partial void LogInputClosed(ILogger logger);
}
