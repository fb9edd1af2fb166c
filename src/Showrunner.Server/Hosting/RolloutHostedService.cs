using System.Net.Http.Json;
using System.Text.Json;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Rollouts;

namespace Showrunner.Server.Hosting;

/// <summary>Evaluates the running rollout's gates every 250 ms: a failing gate rolls the candidate back within one tick.</summary>
internal sealed partial class RolloutHostedService(RolloutController rollouts, IngestPipeline pipeline, TimeProvider time,
    Showrunner.Runtime.Observability.ShowrunnerMetrics metrics, ILogger<RolloutHostedService> logger) : SupervisedLoop("rollout", metrics, time)
{
    public static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(250);

    protected override TimeSpan Interval => TickInterval;

    protected override bool ShouldTick => pipeline.State == RuntimeState.Ready && rollouts.IsRunning;

    protected override Task TickAsync(CancellationToken stoppingToken) => rollouts.TickAsync();

    protected override void LogTickFailed(Exception exception) => LogTickFailed(logger, exception);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Error, Message = "Evaluating the rollout's gates failed; retrying at the next tick")]
    private static partial void LogTickFailed(ILogger logger, Exception exception);
}

/// <summary>Posts rollback alerts to <c>Showrunner:Alerts:WebhookUrl</c> when configured (JSON, 5 s timeout, no retries: the log line and the metric are the durable signals).</summary>
internal sealed class AlertWebhook(Uri url, HttpClient client)
{
    public async Task SendAsync(RolloutAlert alert)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var body = new Dictionary<string, object?>
        {
            ["type"] = "rollout.rolled_back",
            ["rollout"] = alert.RolloutId,
            ["candidate"] = alert.CandidateId,
            ["baseline"] = alert.BaselineId,
            ["actor"] = alert.Actor,
            ["reason"] = alert.Reason,
            ["gate"] = alert.FailedGate?.Gate,
            ["event"] = alert.FailedGate?.Event,
            ["reward"] = alert.FailedGate?.Reward,
            ["at"] = alert.At.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            ["reversed"] = alert.Reversed,
        };
        using var content = new StringContent(JsonSerializer.Serialize(body, AlertJsonContext.Default.DictionaryStringObject), System.Text.Encoding.UTF8, "application/json");
        using var response = await client.PostAsync(url, content, timeout.Token).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, object?>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(long))]
[System.Text.Json.Serialization.JsonSerializable(typeof(int))]
internal sealed partial class AlertJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
