using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using Showrunner.Core.Json;
using Showrunner.Server.Hosting;

namespace Showrunner.Server.Api;

/// <summary>
/// Applies the one strict JSON reading policy (<see cref="StrictJson"/>, docs/api.md "Request
/// bodies") to every request with a body, whatever endpoint reads it:
/// <list type="number">
/// <item>A <c>charset</c> other than <c>utf-8</c> in Content-Type, or a Content-Type that does not
/// parse, is refused before the endpoint runs: <c>415 unsupported_media_type</c>.</item>
/// <item>A body whose media type is JSON (<c>application/json</c>, <c>application/*+json</c>) is
/// read through <see cref="StrictJsonBodyReader"/>: the endpoint reads as it always did, and when
/// the last byte has arrived — before the endpoint sees the end of the body, so before it has
/// parsed or changed anything — the whole body is checked once. A violation ends the request with
/// <c>400 invalid_json</c> naming what and where (<c>violation</c>, <c>line</c>, <c>byte</c>).</item>
/// </list>
/// </summary>
/// <remarks>
/// The body is checked as the endpoint reads it, not read ahead here, so the endpoint's own checks
/// keep their order: 415 for a wrong media type, 413 from Content-Length, 503 when too many ingest
/// requests are in progress — all before a byte of the body is read. A body the endpoint never
/// reads is never parsed by anybody, so it cannot be misread. <c>POST /v1/actions</c> declares
/// <see cref="JsonBodyContract.ParserJudgesSyntaxAndDuplicates"/>: its batch parser keeps answering
/// syntax errors (<c>malformed_json</c>) and duplicate fields (<c>duplicate_field</c> for the one
/// action) as documented; the rest of the policy refuses its batches like any other body.
/// </remarks>
internal sealed partial class JsonBodyPolicyMiddleware(RequestDelegate next, ServerOptions options, ILogger<JsonBodyPolicyMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (!CanHaveBody(context))
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        if (request.ContentType is { } contentType && CharsetProblem(contentType) is { } detail)
        {
            Log.Refused(logger, request.Method, RouteOf(context), ProblemCodes.UnsupportedMediaType, "charset");
            Contract(context)?.OnRefused?.Invoke(ProblemCodes.UnsupportedMediaType);
            await Problems.WriteAsync(context, StatusCodes.Status415UnsupportedMediaType, ProblemCodes.UnsupportedMediaType,
                "Unsupported media type", detail).ConfigureAwait(false);
            return;
        }
        if (!IsJson(MediaTypes.Of(request.ContentType)))
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        var contract = Contract(context);
        bool judgedByParser = contract?.ParserJudgesSyntaxAndDuplicates == true;
        var reader = new StrictJsonBodyReader(request.BodyReader, options.MaxJsonDepth, refuseDuplicateMembers: !judgedByParser,
            passSyntaxErrors: judgedByParser, copyLimitBytes: options.Limits.MaxBodyBytes);
        var pipeFeature = context.Features.Get<IRequestBodyPipeFeature>();
        var originalBody = request.Body;
        context.Features.Set<IRequestBodyPipeFeature>(new BodyPipe(reader));
        request.Body = reader.AsStream(leaveOpen: true);
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (JsonBodyRefusedException refused) when (!context.Response.HasStarted)
        {
            Log.Refused(logger, request.Method, RouteOf(context), refused.Code, refused.Violation?.Code ?? "size");
            contract?.OnRefused?.Invoke(refused.Code);
            context.Response.Clear();
            await Problems.WriteAsync(context, refused.Status, refused.Code, refused.Title, refused.Detail, extensions: w =>
            {
                if (refused.Violation is { } violation)
                {
                    w.WriteString("violation", violation.Code);
                    w.WriteNumber("line", violation.Line);
                    w.WriteNumber("byte", violation.ByteInLine);
                    w.WriteNumber("offset", violation.Offset);
                }
            }).ConfigureAwait(false);
        }
        finally
        {
            context.Features.Set(pipeFeature);
            request.Body = originalBody;
            reader.Release();
        }
    }

    /// <summary>Kestrel's answer when it gives one (a Content-Length above 0, or chunked); the headers otherwise (test hosts).</summary>
    private static bool CanHaveBody(HttpContext context) =>
        context.Features.Get<IHttpRequestBodyDetectionFeature>() is { } detection
            ? detection.CanHaveBody
            : context.Request.ContentLength > 0 || (context.Request.ContentLength is null && context.Request.Headers.TransferEncoding.Count > 0);

    private static JsonBodyContract? Contract(HttpContext context) => context.GetEndpoint()?.Metadata.GetMetadata<JsonBodyContract>();

    /// <summary>JSON media types: <c>application/json</c> and the structured syntax suffix <c>+json</c> (RFC 6839).</summary>
    internal static bool IsJson(string? mediaType) =>
        mediaType is not null && (mediaType == "application/json" || (mediaType.StartsWith("application/", StringComparison.Ordinal) && mediaType.EndsWith("+json", StringComparison.Ordinal)));

    /// <summary>Why a Content-Type is refused (its charset is not UTF-8, or it does not parse), or null.</summary>
    internal static string? CharsetProblem(string contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed))
        {
            return "The Content-Type header is not a media type (RFC 9110 §8.3), e.g. application/json.";
        }
        foreach (var parameter in parsed.Parameters)
        {
            if (!parameter.Name.Equals("charset", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            var charset = HeaderUtilities.RemoveQuotes(parameter.Value);
            if (!charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
            {
                string shown = charset.Length > 40 ? charset.Value![..40] + "…" : charset.Value ?? "";
                return $"charset={shown} is not accepted: every body is UTF-8 (RFC 8259 §8.1); send charset=utf-8 or no charset.";
            }
        }
        return null;
    }

    /// <summary>The route pattern for the log, never the path (a path can carry a player id).</summary>
    private static string RouteOf(HttpContext context) => (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)";

    private sealed class BodyPipe(PipeReader reader) : IRequestBodyPipeFeature
    {
        public PipeReader Reader => reader;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6400, Level = LogLevel.Debug, Message = "Refused the body of {Method} {Route}: {Code} ({Violation})")]
        public static partial void Refused(ILogger logger, string method, string route, string code, string violation);
    }
}

/// <summary>
/// Endpoint metadata: how an endpoint's own body parser relates to the JSON policy, and who
/// counts a refusal (the ingest endpoint counts refused batches in its metrics and stats).
/// </summary>
internal sealed record JsonBodyContract(bool ParserJudgesSyntaxAndDuplicates, Action<string>? OnRefused = null);

/// <summary>A body refused by the JSON policy while its endpoint was reading it; answered by <see cref="JsonBodyPolicyMiddleware"/>.</summary>
internal sealed class JsonBodyRefusedException(int status, string code, string title, string detail, JsonViolation? violation)
    : Exception(detail)
{
    public int Status { get; } = status;
    public string Code { get; } = code;
    public string Title { get; } = title;
    public string Detail { get; } = detail;
    public JsonViolation? Violation { get; } = violation;
}

/// <summary>
/// A <see cref="PipeReader"/> over the request body that keeps a copy of what passes through and
/// checks the whole body against <see cref="StrictJson"/> when the last byte has arrived: the read
/// that would report the end throws <see cref="JsonBodyRefusedException"/> instead, so the reader
/// (the endpoint) never sees a complete body that breaks the policy.
/// </summary>
/// <remarks>
/// The copy is bounded by <c>copyLimitBytes</c> (the largest JSON body an endpoint accepts,
/// <c>Showrunner:MaxBodyBytes</c>): an endpoint stops reading at its own, lower limit and answers
/// 413 itself; a body that somehow ends past the bound is refused 413 here, never accepted
/// unchecked. One request, one reader: not thread-safe, like any PipeReader.
/// </remarks>
internal sealed class StrictJsonBodyReader(PipeReader inner, int maxDepth, bool refuseDuplicateMembers, bool passSyntaxErrors, int copyLimitBytes)
    : PipeReader
{
    private byte[]? _copy = ArrayPool<byte>.Shared.Rent(4096);
    private long _copied;
    private long _consumed;
    private bool _overflow;
    private bool _checked;
    private ReadOnlySequence<byte> _last;

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) =>
        Observe(await inner.ReadAsync(cancellationToken).ConfigureAwait(false));

    public override bool TryRead(out ReadResult result)
    {
        if (!inner.TryRead(out result))
        {
            return false;
        }
        result = Observe(result);
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed)
    {
        _consumed += _last.Slice(_last.Start, consumed).Length;
        inner.AdvanceTo(consumed);
    }

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        _consumed += _last.Slice(_last.Start, consumed).Length;
        inner.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    /// <summary>Returns the copy to the pool (after the request).</summary>
    public void Release()
    {
        if (_copy is { } copy)
        {
            _copy = null;
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    private ReadResult Observe(ReadResult result)
    {
        _last = result.Buffer;
        long end = _consumed + result.Buffer.Length;
        if (end > _copied && !_overflow && _copy is not null)
        {
            var fresh = result.Buffer.Slice(_copied - _consumed);
            if (_copied + fresh.Length > copyLimitBytes)
            {
                _overflow = true;
            }
            else
            {
                if (_copied + fresh.Length > _copy.Length)
                {
                    byte[] larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(copyLimitBytes, Math.Max(_copy.Length * 2L, _copied + fresh.Length)));
                    _copy.AsSpan(0, (int)_copied).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(_copy);
                    _copy = larger;
                }
                fresh.CopyTo(_copy.AsSpan((int)_copied));
                _copied += fresh.Length;
            }
        }
        if (result.IsCompleted && !result.IsCanceled && !_checked && _copy is not null)
        {
            _checked = true;
            try
            {
                Check();
            }
            catch (JsonBodyRefusedException)
            {
                // The read this result answers must be ended before the refusal: Kestrel drains the
                // body after the response, and a read left in progress makes it close the connection
                // (the client's next request on it would fail).
                inner.AdvanceTo(result.Buffer.End);
                throw;
            }
        }
        return result;
    }

    private void Check()
    {
        if (_overflow)
        {
            throw new JsonBodyRefusedException(StatusCodes.Status413PayloadTooLarge, ProblemCodes.BodyTooLarge, "Body too large",
                $"A JSON body is at most {copyLimitBytes} bytes.", null);
        }
        if (_copied == 0)
        {
            return; // No body: the endpoint decides whether it needs one.
        }
        if (StrictJson.Validate(_copy!.AsSpan(0, (int)_copied), maxDepth, refuseDuplicateMembers) is { } violation &&
            !(passSyntaxErrors && violation.IsSyntax))
        {
            throw new JsonBodyRefusedException(StatusCodes.Status400BadRequest, ProblemCodes.InvalidJson, "Invalid JSON",
                violation.Detail + " Nothing was applied.", violation);
        }
    }
}
