using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Showrunner.Runtime.Ingest;

namespace Showrunner.Server.Tests;

/// <summary>
/// What a client and an operator see of supervision over HTTP: a batch whose evaluation fails
/// inside the runtime gets <c>500 evaluation_failed</c> (never a hang), the fault is counted in
/// <c>/metrics</c>, <c>/readyz</c> names a stalled partition with its reason, and the server takes
/// the same player's actions again after reloading.
/// </summary>
[Trait("Category", "Component")]
public sealed class SupervisionApiTests
{
    private static StringContent Batch(string id, string player = "p-1") => new(
        "{\"actions\":[{\"id\":\"" + id + "\",\"player\":\"" + player + "\",\"type\":\"combat.kill\",\"at\":\"2026-11-22T12:00:00Z\",\"data\":{}}]}",
        Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_failing_evaluation_is_a_500_problem_counted_in_metrics_and_the_partition_takes_work_again()
    {
        using var factory = new ShowrunnerFactory();
        using var client = await factory.ReadyClientAsync();
        var pipeline = factory.Services.GetRequiredService<IngestPipeline>();
        pipeline.FaultInjection = unit =>
        {
            if (unit.Entries.Any(e => e.Action.Id == "poison"))
            {
                throw new InvalidOperationException("a bug in evaluation");
            }
        };

        using (var answer = await client.PostAsync(new Uri("/v1/actions", UriKind.Relative), Batch("poison")).WaitAsync(TimeSpan.FromSeconds(20)))
        {
            Assert.Equal(HttpStatusCode.InternalServerError, answer.StatusCode);
            var problem = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("evaluation_failed", problem.GetProperty("code").GetString());
            Assert.DoesNotContain("a bug in evaluation", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        pipeline.FaultInjection = null;
        using var ready = await factory.ReadyClientAsync();
        using (var answer = await client.PostAsync(new Uri("/v1/actions", UriKind.Relative), Batch("after")))
        {
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }
        string metrics = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("showrunner_worker_faults_total{worker=\"executor\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("showrunner_partition_oldest_wait_seconds", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readyz_names_a_stalled_partition_and_ingest_answers_within_the_answer_bound()
    {
        using var factory = new ShowrunnerFactory(new() { ["Showrunner:StallAfterSeconds"] = "1", ["Showrunner:AnswerTimeoutSeconds"] = "2" });
        using var client = await factory.ReadyClientAsync();
        var pipeline = factory.Services.GetRequiredService<IngestPipeline>();
        using var release = new ManualResetEventSlim(false);
        pipeline.FaultInjection = unit =>
        {
            if (unit.Entries.Any(e => e.Action.Id == "stuck"))
            {
                release.Wait(TimeSpan.FromSeconds(30));
            }
        };
        try
        {
            using var answer = await client.PostAsync(new Uri("/v1/actions", UriKind.Relative), Batch("stuck")).WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
            Assert.Equal("store_unavailable", JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString());
            Assert.NotNull(answer.Headers.RetryAfter);

            using var readyz = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, readyz.StatusCode);
            var body = JsonDocument.Parse(await readyz.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("not_ready", body.GetProperty("status").GetString());
            Assert.Equal("partition_stalled", body.GetProperty("reason").GetString());
            Assert.Contains("limit 1 s", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            release.Set();
        }
        using var again = await factory.ReadyClientAsync();
        using var ok = await again.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal("""{"status":"ready","state":"ready"}""", await ok.Content.ReadAsStringAsync());
    }
}
