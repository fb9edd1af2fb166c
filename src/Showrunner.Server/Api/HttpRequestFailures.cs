namespace Showrunner.Server.Api;

/// <summary>
/// Kestrel's refusals of a request that surface while an endpoint reads the body
/// (<see cref="BadHttpRequestException"/>): a body that arrives slower than the minimum data rate
/// (408), ends before its Content-Length or breaks chunked framing (400), or outgrows the limit
/// (413). They are the client's fault, so they are answered with their own status as a problem
/// document and logged at Debug, never as a 500 <c>internal_error</c>.
/// </summary>
internal static partial class HttpRequestFailures
{
    public static Task WriteAsync(HttpContext context, BadHttpRequestException failure, ILogger logger)
    {
        int status = failure.StatusCode is >= 400 and < 500 ? failure.StatusCode : StatusCodes.Status400BadRequest;
        (string code, string title, string detail) = status switch
        {
            StatusCodes.Status408RequestTimeout => (ProblemCodes.RequestTimeout, "Request timeout",
                "The request body arrived too slowly (below the server's minimum data rate) and was not read further; nothing was applied."),
            StatusCodes.Status413PayloadTooLarge => (ProblemCodes.BodyTooLarge, "Body too large",
                "The body exceeds the limit for this endpoint; it was not read further and nothing was applied."),
            _ => (ProblemCodes.BadRequest, "Bad request",
                "The request could not be read as HTTP (e.g. the body ended before its Content-Length); nothing was applied."),
        };
        Log.Refused(logger, context.Request.Method, (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)", status, failure.Message);
        return Problems.WriteAsync(context, status, code, title, detail);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6401, Level = LogLevel.Debug, Message = "Refused {Method} {Route} with {Status}: {Reason}")]
        public static partial void Refused(ILogger logger, string method, string route, int status, string reason);
    }
}
