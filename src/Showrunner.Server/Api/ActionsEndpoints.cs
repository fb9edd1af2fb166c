using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Showrunner.Contracts.Actions;
using Showrunner.Contracts.Wire;
using Showrunner.Core.Actions;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Observability;
using Showrunner.Server.Hosting;
using Showrunner.Server.Security;

namespace Showrunner.Server.Api;

/// <summary>
/// <c>POST /v1/actions</c> and <c>GET /v1/actions/{id}</c>. The contract is in docs/api.md.
/// </summary>
internal sealed class ActionsEndpoints(IngestPipeline pipeline, ServerOptions options, TimeProvider time, Storage.IActionStore store, ShowrunnerMetrics metrics)
{
    private static readonly JsonTypeInfo<ActionBatchResponse> BatchWire = WireJson.Of(ActionsJson.Default.ActionBatchResponse);
    private static readonly JsonTypeInfo<ActionResponse> ActionWire = WireJson.Of(ActionsJson.Default.ActionResponse);

    private int _activeRequests;

    public static void Map(WebApplication app)
    {
        var endpoints = app.Services.GetRequiredService<ActionsEndpoints>();
        // The batch parser reports syntax errors (malformed_json) and duplicate fields (duplicate_field,
        // for the one action) as documented before the JSON policy existed; the policy refuses the rest.
        app.MapPost("/v1/actions", endpoints.PostAsync).Allow(Access.Ingest)
            .WithMetadata(new JsonBodyContract(ParserJudgesSyntaxAndDuplicates: true, OnRefused: endpoints.CountRefusedBatch));
        app.MapGet("/v1/actions/{id}", endpoints.GetAsync).Allow(Access.Viewer);
    }

    public async Task PostAsync(HttpContext context)
    {
        long started = Stopwatch.GetTimestamp();
        var limits = options.Limits;
        if (!IsJson(context.Request.ContentType))
        {
            await Refuse(context, StatusCodes.Status415UnsupportedMediaType, BatchErrorCodes.UnsupportedMediaType,
                "Unsupported media type", "Send the batch as application/json.").ConfigureAwait(false);
            return;
        }
        if (context.Request.ContentLength > limits.MaxBodyBytes)
        {
            // Refused from the header alone: not a byte of the body is read.
            await Refuse(context, StatusCodes.Status413PayloadTooLarge, BatchErrorCodes.BodyTooLarge, "Body too large",
                $"The body is {context.Request.ContentLength} bytes; the limit is {limits.MaxBodyBytes}.").ConfigureAwait(false);
            return;
        }
        if (Interlocked.Increment(ref _activeRequests) > options.MaxConcurrentIngestRequests)
        {
            Interlocked.Decrement(ref _activeRequests);
            pipeline.CountRefusedBatch(ProblemCodes.Overloaded);
            CountRefused(ProblemCodes.Overloaded);
            await Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ProblemCodes.Overloaded, "Overloaded",
                $"More than {options.MaxConcurrentIngestRequests} ingest requests are in progress; nothing of this batch was applied.",
                options.Ingest.RetryAfter).ConfigureAwait(false);
            return;
        }
        try
        {
            await HandleBatchAsync(context, limits, started).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _activeRequests);
        }
    }

    private async Task HandleBatchAsync(HttpContext context, ActionLimits limits, long started)
    {
        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = limits.MaxBodyBytes + 1L;
        }
        byte[]? body = null;
        try
        {
            int length;
            ParsedBatch parsed;
            using (var validate = ShowrunnerActivities.Source.StartActivity(ShowrunnerActivities.Spans.Validate))
            {
                (body, length) = await ReadBodyAsync(context.Request.BodyReader, limits.MaxBodyBytes, context.RequestAborted).ConfigureAwait(false);
                if (length < 0)
                {
                    validate?.SetTag(ShowrunnerActivities.Tags.Code, BatchErrorCodes.BodyTooLarge).SetStatus(ActivityStatusCode.Error);
                    await Refuse(context, StatusCodes.Status413PayloadTooLarge, BatchErrorCodes.BodyTooLarge, "Body too large",
                        $"The body exceeds the limit of {limits.MaxBodyBytes} bytes; it was not read further.").ConfigureAwait(false);
                    return;
                }
                parsed = ActionBatchParser.Parse(body.AsSpan(0, length), limits, time.GetUtcNow().UtcTicks);
                if (parsed.ErrorCode is { } code)
                {
                    validate?.SetTag(ShowrunnerActivities.Tags.Code, code).SetStatus(ActivityStatusCode.Error);
                    await Refuse(context, StatusCodes.Status400BadRequest, code, "Invalid batch", parsed.ErrorMessage!).ConfigureAwait(false);
                    return;
                }
                if (validate is not null)
                {
                    Describe(validate, parsed.Items);
                }
            }
            metrics.ActionsReceived.Add(parsed.Items.Length);
            // The body is no longer needed: return it before waiting for the commit.
            ArrayPool<byte>.Shared.Return(body);
            body = null;
            var outcome = await pipeline.SubmitAsync(parsed.Items).ConfigureAwait(false);
            switch (outcome.Status)
            {
                case SubmitStatus.Completed:
                    await WriteResultsAsync(context, outcome.Results!).ConfigureAwait(false);
                    metrics.AckLatency.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
                    break;
                case SubmitStatus.Overloaded:
                    CountRefused(ProblemCodes.Overloaded);
                    await Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ProblemCodes.Overloaded, "Overloaded",
                        outcome.Message!, outcome.RetryAfter).ConfigureAwait(false);
                    break;
                case SubmitStatus.NotReady:
                    CountRefused(ProblemCodes.NotReady);
                    await Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ProblemCodes.NotReady, "Not ready",
                        outcome.Message!, outcome.RetryAfter).ConfigureAwait(false);
                    break;
                case SubmitStatus.Faulted:
                    CountRefused(ProblemCodes.EvaluationFailed);
                    await Problems.WriteAsync(context, StatusCodes.Status500InternalServerError, ProblemCodes.EvaluationFailed, "Evaluation failed",
                        outcome.Message + " Actions of the batch in other partitions may have been committed.").ConfigureAwait(false);
                    break;
                default:
                    CountRefused(ProblemCodes.StoreUnavailable);
                    await Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ProblemCodes.StoreUnavailable, "Store unavailable",
                        outcome.Message + " Some actions of the batch may have been committed; resending the same batch is safe.",
                        outcome.RetryAfter).ConfigureAwait(false);
                    break;
            }
        }
        catch (Exception exception) when (context.RequestAborted.IsCancellationRequested && exception is OperationCanceledException or IOException or ConnectionResetException)
        {
            // The client went away (timed out, disconnected) while sending or waiting. Whatever was
            // committed stays committed; its retry will be answered "duplicate". Nothing to answer.
            return;
        }
        catch (BadHttpRequestException exception) when (exception.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await Refuse(context, StatusCodes.Status413PayloadTooLarge, BatchErrorCodes.BodyTooLarge, "Body too large",
                $"The body exceeds the limit of {limits.MaxBodyBytes} bytes.").ConfigureAwait(false);
        }
        finally
        {
            if (body is not null)
            {
                ArrayPool<byte>.Shared.Return(body);
            }
        }
    }

    /// <summary>The validate span's tags: the batch's first action id and its size.</summary>
    private static void Describe(Activity span, BatchItem[] items)
    {
        if (items.Length > 0)
        {
            span.SetTag(ShowrunnerActivities.Tags.ActionId, items[0].Id);
        }
        span.SetTag(ShowrunnerActivities.Tags.ActionCount, items.Length);
    }

    /// <summary>A batch refused before its parser ran (JSON policy): counted like the parser's refusals.</summary>
    private void CountRefusedBatch(string code)
    {
        pipeline.CountRefusedBatch(code);
        CountRefused(code);
    }

    private void CountRefused(string code) => metrics.BatchesRefused.Add(1, new KeyValuePair<string, object?>("code", code));

    private Task Refuse(HttpContext context, int status, string code, string title, string detail)
    {
        pipeline.CountRefusedBatch(code);
        CountRefused(code);
        return Problems.WriteAsync(context, status, code, title, detail);
    }

    private static bool IsJson(string? contentType) => MediaTypes.Of(contentType) == "application/json";

    /// <summary>
    /// Reads the body into a pooled buffer, stopping as soon as it passes <paramref name="limit"/>:
    /// an oversized body is never buffered whole. Returns length -1 when the limit was passed.
    /// </summary>
    internal static async Task<(byte[] Buffer, int Length)> ReadBodyAsync(PipeReader reader, int limit, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        int length = 0;
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var sequence = read.Buffer;
                if (length + sequence.Length > limit)
                {
                    reader.AdvanceTo(sequence.End);
                    return (buffer, -1);
                }
                if (length + (int)sequence.Length > buffer.Length)
                {
                    byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Min(limit, Math.Max(buffer.Length * 2, length + (int)sequence.Length)));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                sequence.CopyTo(buffer.AsSpan(length));
                length += (int)sequence.Length;
                reader.AdvanceTo(sequence.End);
                if (read.IsCompleted)
                {
                    return (buffer, length);
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private static async Task WriteResultsAsync(HttpContext context, ActionResult[] results)
    {
        var items = new ActionResultResponse[results.Length];
        for (int i = 0; i < results.Length; i++)
        {
            var result = results[i];
            items[i] = result.Status switch
            {
                ActionStatus.Accepted => new ActionResultResponse(result.Id, "accepted", result.Seq, result.Partition),
                ActionStatus.Duplicate => new ActionResultResponse(result.Id, "duplicate", result.Seq, result.Partition),
                _ => new ActionResultResponse(result.Id, "rejected", Code: result.Rejection!.Code, Message: result.Rejection.Message, Field: result.Rejection.Field),
            };
        }
        context.Response.StatusCode = StatusCodes.Status200OK;
        await WriteAsync(context, new ActionBatchResponse(items), BatchWire).ConfigureAwait(false);
    }

    /// <summary>Serializes straight into the response's pipe (no intermediate buffer): the ingest path's answer.</summary>
    private static async Task WriteAsync<T>(HttpContext context, T value, JsonTypeInfo<T> wire)
    {
        context.Response.ContentType = "application/json";
        var writer = new Utf8JsonWriter(context.Response.BodyWriter, new JsonWriterOptions { Encoder = wire.Options.Encoder });
        await using (writer.ConfigureAwait(false))
        {
            JsonSerializer.Serialize(writer, value, wire);
            await writer.FlushAsync().ConfigureAwait(false);
        }
    }

    public async Task GetAsync(HttpContext context, string id)
    {
        if (!ActionBatchParser.IsValidId(id, options.Limits.MaxIdLength))
        {
            await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.InvalidId, "Invalid id",
                $"An action id is 1 to {options.Limits.MaxIdLength} printable ASCII characters without spaces.").ConfigureAwait(false);
            return;
        }
        var record = pipeline.Find(id);
        if (record is null)
        {
            await Problems.WriteAsync(context, StatusCodes.Status404NotFound, ProblemCodes.NotFound, "Not found",
                $"No action with id '{id}' is stored.").ConfigureAwait(false);
            return;
        }
        string? release = record.ReleaseRef != 0 && store.Releases.Find(record.ReleaseRef) is { } stored ? stored.Id : null;
        await WriteAsync(context, new ActionResponse(record.Id, record.Player, record.Type, Rfc3339.Format(record.AtTicks), System.Text.Encoding.UTF8.GetString(record.Data), record.Seq, record.Partition,
            Rfc3339.Format(record.IngestedAtTicks), release), ActionWire).ConfigureAwait(false);
    }
}
