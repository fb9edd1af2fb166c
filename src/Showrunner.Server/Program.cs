using System.Globalization;
using Microsoft.AspNetCore.Diagnostics;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Ledger;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Runtime.Observability;
using Showrunner.Runtime.Releases;
using Showrunner.Runtime.Rollouts;
using Showrunner.Server.Api;
using Showrunner.Server.Hosting;
using Showrunner.Server.Observability;
using Showrunner.Server.Security;
using Showrunner.Storage;

// The Showrunner server. Quick start: `dotnet run --project src/Showrunner.Server` serves
// http://127.0.0.1:5080 with data in ./data. Options: docs/operations.md.
var builder = WebApplication.CreateSlimBuilder(args);
// ASP.NET Core's per-request lines (Information) carry URL paths, and paths carry player ids: they
// stay out of the log unless asked for. Lowest precedence, so Logging:LogLevel:* still overrides it.
builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource
{
    InitialData = new Dictionary<string, string?> { ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning" },
});
if (builder.Configuration["urls"] is null && Environment.GetEnvironmentVariable("ASPNETCORE_URLS") is null)
{
    builder.WebHost.UseUrls(ServerOptions.DefaultUrl);
}

ServerOptions options;
try
{
    options = ServerOptions.Read(builder.Configuration);
}
catch (OptionsException exception)
{
    foreach (string error in exception.Errors)
    {
        Console.Error.WriteLine("error: " + error);
    }
    return 2;
}

builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Limits.MaxRequestBodySize = options.Limits.MaxBodyBytes;
    kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
});
string? otlpEndpoint = OtlpExport.Configure(builder.Services, builder.Configuration);
LogFormat.Configure(builder.Logging, options.LogFormat);
// Every service: the runtime's composition root and the server's parts (Hosting/ShowrunnerServer.cs).
builder.AddShowrunner(options);

var app = builder.Build();
// The collector listens before anything records, so no measurement is missed.
app.Services.GetRequiredService<MetricsCollector>();

// Open the store before listening: a data directory that cannot be used (wrong partition count,
// newer schema, in use by another process) stops the server with a clear message and exit code 2.
var store = app.Services.GetRequiredService<IActionStore>();
StoreInfo info;
try
{
    info = store.Open(options.Ingest.PartitionCount);
}
catch (StoreConfigurationException exception)
{
    Console.Error.WriteLine($"error: {exception.Code}: {exception.Message}");
    store.Dispose();
    return 2;
}
var startupLog = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Showrunner.Startup");
DataDirectoryPermissions.Report(startupLog, options.DataDirectory, info.PermissionsNarrowed);
StartupLog.Telemetry(startupLog, options.LogFormat, otlpEndpoint ?? "off");
Showrunner.Core.Ledger.LedgerSigningKey ledgerKey;
try
{
    (ledgerKey, bool keyCreated) = LedgerKeyFile.LoadOrCreate(options.DataDirectory);
    StartupLog.LedgerKey(startupLog, keyCreated ? "created" : "loaded", ledgerKey.KeyId);
    app.Services.GetRequiredService<LedgerKeyHolder>().Key = ledgerKey;
}
catch (LedgerKeyException exception)
{
    Console.Error.WriteLine($"error: ledger_key_invalid: {exception.Message}");
    store.Dispose();
    return 2;
}
try
{
    (byte[] tokenKey, bool tokenKeyCreated) = PlayerTokens.LoadOrCreateKey(options.DataDirectory);
    app.Services.GetRequiredService<TokenKeyHolder>().Key = tokenKey;
    // The first start on a data directory without keys creates the admin key: shown here once,
    // on standard output (not in the log), and kept in <data>/admin.key (mode 0600).
    if (app.Services.GetRequiredService<KeyRing>().Bootstrap(options.DataDirectory) is { } admin)
    {
        Console.Out.WriteLine($"Admin key (shown once, also in {admin.Path}): {admin.Text}");
        Console.Out.Flush();
    }
    StartupLog.Security(startupLog, tokenKeyCreated ? "created" : "loaded", SecuritySettings.Describe(options.Security));
}
catch (Exception exception) when (exception is InvalidDataException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"error: security_files: {exception.Message}");
    store.Dispose();
    return 2;
}
StartupLog.Options(startupLog, info.Location, info.Created ? "created" : "opened", info.PartitionCount, info.SchemaVersion, info.Engine,
    info.Durability, options.Ingest.EffectiveExecutorCount, options.Ingest.PartitionInboxCapacity, options.Ingest.MaxActionsPerCommit,
    options.Limits.MaxActionsPerBatch, options.Limits.MaxBodyBytes, options.MaxConcurrentIngestRequests);
StartupLog.Approvals(startupLog, options.Approvals.Enabled, options.Approvals.Grants, options.Approvals.ActivationPercent,
    (int)options.Approvals.Expiry.TotalMinutes);

app.UseExceptionHandler(handler => handler.Run(context =>
{
    var failure = context.Features.Get<IExceptionHandlerFeature>()?.Error;
    // Kestrel's refusals of the request itself (a body that stalls under the minimum data rate,
    // ends early, or outgrows the limit) carry their own status: answered as such, never as 500.
    if (failure is BadHttpRequestException badRequest)
    {
        return HttpRequestFailures.WriteAsync(context, badRequest, startupLog);
    }
    switch (failure)
    {
        case TimeoutException:
            // A read waited for a partition longer than Showrunner:AnswerTimeoutSeconds (readiness says why).
            return Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ProblemCodes.RuntimeStalled, "Runtime stalled",
                "The partition holding this state did not answer in time; /readyz reports why. Retry later.", options.Ingest.RetryAfter);
        case ExecutorFaultException:
            return Problems.WriteAsync(context, StatusCodes.Status500InternalServerError, ProblemCodes.EvaluationFailed, "Evaluation failed",
                "A partition failed while handling the request; it stopped and reloads from the store. The failure is logged.");
        case StoreWriteException:
            return Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ProblemCodes.StoreUnavailable, "Store unavailable",
                "The partition is reloading from the store after a failure; retry later.", options.Ingest.RetryAfter);
    }
    // The route pattern, not the path: a path can carry a player id.
    StartupLog.Unhandled(startupLog, failure, context.Request.Method + " " +
        ((context.Features.Get<IExceptionHandlerPathFeature>()?.Endpoint as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)"));
    return Problems.WriteAsync(context, StatusCodes.Status500InternalServerError, ProblemCodes.InternalError, "Internal error",
        "The server failed to handle the request; the failure is logged.");
}));
app.UseStatusCodePages(async status =>
{
    var context = status.HttpContext;
    if (context.Response.HasStarted || context.Response.ContentLength > 0)
    {
        return;
    }
    int code = context.Response.StatusCode;
    (string problem, string title) = code switch
    {
        404 => (ProblemCodes.NotFound, "Not found"),
        405 => (ProblemCodes.MethodNotAllowed, "Method not allowed"),
        _ => ("http_" + code.ToString(CultureInfo.InvariantCulture), "HTTP " + code.ToString(CultureInfo.InvariantCulture)),
    };
    await Problems.WriteAsync(context, code, problem, title, $"{context.Request.Method} {context.Request.Path} is not available.");
});

// Every request below is authenticated, rate-limited and authorized by its endpoint's declared access.
app.UseMiddleware<AuthenticationMiddleware>();
// Every request body, for every endpoint, is read under the one strict JSON policy (docs/api.md, "Request bodies").
app.UseMiddleware<JsonBodyPolicyMiddleware>();

SystemEndpoints.Map(app);
ActionsEndpoints.Map(app);
ReleasesEndpoints.Map(app);
EventsEndpoints.Map(app);
LeaderboardEndpoints.Map(app);
PlayersEndpoints.Map(app);
GrantsEndpoints.Map(app);
LedgerEndpoints.Map(app, ledgerKey);
OutboxEndpoints.Map(app);
RolloutEndpoints.Map(app);
FlagsEndpoints.Map(app);
KeysEndpoints.Map(app);
TokensEndpoints.Map(app);
AuditEndpoints.Map(app);
ApprovalsEndpoints.Map(app);
MetricsEndpoints.Map(app);
Showrunner.Server.Dashboard.DashboardEndpoints.Map(app);

app.Run();
return 0;

/// <summary>The entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;

internal static partial class StartupLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "Store {Location} {How}: {PartitionCount} partitions, schema {SchemaVersion}, {Engine}, {Durability}; " +
                  "executors={Executors} inbox={InboxCapacity} commit_max={CommitMax} batch_max={BatchMax} body_max={BodyMax} concurrent_ingest_max={ConcurrentMax}")]
    public static partial void Options(ILogger logger, string location, string how, int partitionCount, int schemaVersion, string engine,
        string durability, int executors, int inboxCapacity, int commitMax, int batchMax, int bodyMax, int concurrentMax);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Ledger signing key {How}: key id {KeyId}")]
    public static partial void LedgerKey(ILogger logger, string how, string keyId);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Player token key {How}; {Settings}")]
    public static partial void Security(ILogger logger, string how, string settings);
    [LoggerMessage(EventId = 5, Level = LogLevel.Information,
        Message = "Two-person rule: enabled={Enabled} grants={Grants} activation_percent={ActivationPercent} expiry_minutes={ExpiryMinutes}")]
    public static partial void Approvals(ILogger logger, bool enabled, bool grants, int activationPercent, int expiryMinutes);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "Telemetry: GET /metrics (Prometheus text), log format {LogFormat}, OTLP export {OtlpEndpoint}")]
    public static partial void Telemetry(ILogger logger, string logFormat, string otlpEndpoint);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Unhandled failure on {Route}")]
    public static partial void Unhandled(ILogger logger, Exception? exception, string route);
}
