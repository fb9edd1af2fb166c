using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using Showrunner.Runtime.Observability;
using T = Showrunner.Runtime.Observability.ShowrunnerActivities.Tags;

namespace Showrunner.Server.Tests.Observability;

/// <summary>
/// A batch sent with a W3C <c>traceparent</c> yields the pipeline's spans — validate, route,
/// evaluate, commit — in that trace, under the request, with the action ids and counts as tags.
/// Spans are told apart from other tests' by the trace id this test made up.
/// </summary>
[Trait("Category", "Component")]
public sealed class TracingTests : IDisposable
{
    private readonly ConcurrentBag<Activity> _spans = [];
    private readonly ActivityListener _listener;

    public TracingTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is ShowrunnerActivities.SourceName or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _spans.Add,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    [Fact]
    public async Task A_traceparent_is_continued_by_every_stage_of_the_pipeline()
    {
        using var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        var traceId = ActivityTraceId.CreateRandom();
        var parentSpan = ActivitySpanId.CreateRandom();
        // Players on different partitions (16 of them): one evaluate and one commit span per partition.
        string[] players = ["p-1", "p-2", "p-3", "p-4"];
        int partitions = players.Select(p => new Core.Partitioning.PartitionRouter(16).PartitionOf(p)).Distinct().Count();
        var body = "{\"actions\":[" + string.Join(",", players.Select((p, i) =>
            $$$"""{"id":"t-{{{i}}}","player":"{{{p}}}","type":"combat.kill","at":"2026-11-22T11:59:00Z","data":{}}""")) + "]}";
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/v1/actions", UriKind.Relative))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{parentSpan}-01");
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // The commit spans end on the committer thread just before the answer; give them a moment to be reported.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        List<Activity> mine;
        while ((mine = [.. _spans.Where(s => s.TraceId == traceId)]).Count(s => s.OperationName == "commit") < partitions
            || !mine.Any(s => s.Source.Name == "Microsoft.AspNetCore"))
        {
            Assert.True(DateTime.UtcNow < deadline, "spans: " + string.Join(", ", mine.Select(s => s.OperationName)));
            await Task.Delay(10);
        }

        var http = Assert.Single(mine, s => s.Source.Name == "Microsoft.AspNetCore");
        Assert.Equal(parentSpan, http.ParentSpanId);
        mine.Remove(http);
        var validate = Assert.Single(mine, s => s.OperationName == ShowrunnerActivities.Spans.Validate);
        var route = Assert.Single(mine, s => s.OperationName == ShowrunnerActivities.Spans.Route);
        // Both hang under the request's span, whose parent is the caller's span from traceparent.
        Assert.Equal(http.SpanId, validate.ParentSpanId);
        Assert.Equal(http.SpanId, route.ParentSpanId);
        Assert.Equal(("t-0", 4), ((string?)validate.GetTagItem(T.ActionId), (int)validate.GetTagItem(T.ActionCount)!));
        Assert.Equal(("t-0", 4, partitions), ((string?)route.GetTagItem(T.ActionId), (int)route.GetTagItem(T.ActionCount)!, (int)route.GetTagItem(T.PartitionCount)!));
        Assert.Equal(("completed", 4, 0, 0), ((string?)route.GetTagItem(T.Outcome), (int)route.GetTagItem(T.Accepted)!,
            (int)route.GetTagItem(T.Duplicates)!, (int)route.GetTagItem(T.Rejected)!));

        var evaluates = mine.Where(s => s.OperationName == ShowrunnerActivities.Spans.Evaluate).ToList();
        var commits = mine.Where(s => s.OperationName == ShowrunnerActivities.Spans.Commit).ToList();
        Assert.Equal(partitions, evaluates.Count);
        Assert.Equal(partitions, commits.Count);
        Assert.All(evaluates.Concat(commits), s => Assert.Equal(route.SpanId, s.ParentSpanId));
        Assert.Equal(4, evaluates.Sum(s => (int)s.GetTagItem(T.ActionCount)!));
        Assert.Equal(players.Length, commits.Sum(s => (int)s.GetTagItem(T.ActionCount)!));
        Assert.All(commits, s => Assert.InRange((int)s.GetTagItem(T.CommitActions)!, (int)s.GetTagItem(T.ActionCount)!, 4));
        Assert.All(evaluates, s => Assert.StartsWith("t-", (string?)s.GetTagItem(T.ActionId), StringComparison.Ordinal));
        // The request span itself (ASP.NET Core's) continues the caller's span.
        Assert.All(mine, s => Assert.Equal(traceId, s.TraceId));
    }

    [Fact]
    public async Task A_refused_batch_ends_its_validate_span_with_the_problem_code()
    {
        using var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        var traceId = ActivityTraceId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/v1/actions", UriKind.Relative))
        {
            Content = new StringContent("{\"actions\":[", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var validate = Assert.Single(_spans, s => s.TraceId == traceId && s.Source.Name == ShowrunnerActivities.SourceName);
        Assert.Equal((ShowrunnerActivities.Spans.Validate, "malformed_json", ActivityStatusCode.Error),
            (validate.OperationName, (string?)validate.GetTagItem(T.Code), validate.Status));
    }
}
