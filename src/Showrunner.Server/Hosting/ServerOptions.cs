using Showrunner.Core.Actions;
using Showrunner.Runtime.Ingest;

namespace Showrunner.Server.Hosting;

/// <summary>
/// Everything the server reads from configuration (command line, environment, appsettings.json).
/// Keys live under <c>Showrunner:</c>; an unknown key there is refused at start, so a typo never
/// silently leaves a default in force. docs/operations.md lists every option.
/// </summary>
internal sealed record ServerOptions
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    public required string DataDirectory { get; init; }
    public IngestOptions Ingest { get; init; } = new();
    public ActionLimits Limits { get; init; } = new();
    /// <summary>Ingest requests handled at once; more get 503 before their body is read.</summary>
    public int MaxConcurrentIngestRequests { get; init; } = 128;
    /// <summary>SQLite connections for dedup probes and reads.</summary>
    public int ReadConnections { get; init; } = 4;
    /// <summary>Publish and activate the built-in example release when the register is empty (a new data directory).</summary>
    public bool LoadExample { get; init; } = true;
    /// <summary>Largest release bundle <c>POST /v1/releases</c> accepts.</summary>
    public int MaxReleaseBytes { get; init; } = DefaultMaxReleaseBytes;

    public const int DefaultMaxReleaseBytes = 8 * 1024 * 1024;

    /// <summary>Deepest nesting of objects and arrays in any JSON request body (docs/api.md, "Request bodies").</summary>
    public int MaxJsonDepth { get; init; } = Core.Json.StrictJson.DefaultMaxDepth;
    /// <summary>Delivery of grants to the game's webhook (<c>Showrunner:Outbox:*</c>, read by <see cref="OutboxSettings"/>); off without a URL.</summary>
    public Runtime.Outbox.OutboxOptions Outbox { get; init; } = new();

    /// <summary>Title, player-token lifetime and rate limits (<see cref="SecuritySettings"/>).</summary>
    public Security.SecurityOptions Security { get; init; } = new();
    /// <summary>The two-person rule (<c>Showrunner:Approvals:*</c>, read by <see cref="ApprovalSettings"/>).</summary>
    public Runtime.Approvals.ApprovalOptions Approvals { get; init; } = new();

    /// <summary>How often a checkpoint is signed when the ledger grew (docs/ledger.md).</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How the console log is written: <c>text</c> (default, for people) or <c>json</c> (one object per line, docs/observability.md).</summary>
    public string LogFormat { get; init; } = "text";

    /// <summary>Where rollback alerts are posted (<c>Showrunner:Alerts:WebhookUrl</c>); none when null.</summary>
    public Uri? AlertWebhookUrl { get; init; }

    /// <summary>The operator dashboard's sampling and limits (<c>Showrunner:Dashboard:*</c>).</summary>
    public global::Showrunner.Server.Dashboard.DashboardOptions Dashboard { get; init; } = new();

    /// <summary>Demo mode: a live example event and a player simulator (<c>Showrunner:Demo:*</c>); off by default.</summary>
    public global::Showrunner.Server.Demo.DemoOptions Demo { get; init; } = new();

    private static readonly string[] KnownKeys =
    [
        "PartitionCount", "ExecutorCount", "PartitionInboxCapacity", "MaxActionsPerCommit", "RetryAfterSeconds",
        "MaxActionsPerBatch", "MaxBodyBytes", "MaxDataBytes", "MaxDataDepth", "MaxIdLength", "MaxPlayerLength",
        "MaxTypeLength", "MaxFutureSkewSeconds", "MaxAgeSeconds", "MaxConcurrentIngestRequests", "ReadConnections",
        "LoadExample", "MaxReleaseBytes", "MaxJsonDepth", "CheckpointIntervalMs", "SnapshotEveryActions", "SnapshotMaxLagActions",
        "StallAfterSeconds", "AnswerTimeoutSeconds", "StopTimeoutSeconds", OutboxSettings.Section, "Alerts",
        SecuritySettings.TitleKey, SecuritySettings.LifetimeKey, SecuritySettings.RateLimitsSection, "LogFormat",
        global::Showrunner.Server.Dashboard.DashboardOptions.Section, global::Showrunner.Server.Demo.DemoOptions.Section,
        ApprovalSettings.Section,
    ];

    /// <summary>Reads and validates the options; throws <see cref="OptionsException"/> naming every problem.</summary>
    public static ServerOptions Read(IConfiguration configuration)
    {
        var errors = new List<string>();
        var section = configuration.GetSection("Showrunner");
        foreach (var child in section.GetChildren())
        {
            if (!KnownKeys.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"Showrunner:{child.Key} is not a known option (known: {string.Join(", ", KnownKeys)}).");
            }
        }
        int Parse(string name, string? text, int fallback)
        {
            if (text is null)
            {
                return fallback;
            }
            if (int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int value))
            {
                return value;
            }
            errors.Add($"{name} = '{text}': must be an integer.");
            return fallback;
        }
        int Int(string key, int fallback) => Parse("Showrunner:" + key, section[key], fallback);
        // --data on the command line, then SHOWRUNNER_DATA, then ./data.
        string dataDirectory = configuration["data"] ?? configuration["SHOWRUNNER_DATA"] ?? "data";
        var ingestDefaults = new IngestOptions();
        var limitDefaults = new ActionLimits();
        var ingest = new IngestOptions
        {
            // --partitions on the command line is a shorthand for Showrunner:PartitionCount.
            PartitionCount = Int("PartitionCount", Parse("--partitions", configuration["partitions"], ingestDefaults.PartitionCount)),
            ExecutorCount = Int("ExecutorCount", ingestDefaults.ExecutorCount),
            PartitionInboxCapacity = Int("PartitionInboxCapacity", ingestDefaults.PartitionInboxCapacity),
            MaxActionsPerCommit = Int("MaxActionsPerCommit", ingestDefaults.MaxActionsPerCommit),
            RetryAfter = TimeSpan.FromSeconds(Int("RetryAfterSeconds", (int)ingestDefaults.RetryAfter.TotalSeconds)),
            SnapshotEveryActions = Int("SnapshotEveryActions", ingestDefaults.SnapshotEveryActions),
            SnapshotMaxLagActions = Int("SnapshotMaxLagActions", (int)ingestDefaults.SnapshotMaxLagActions),
            StallAfter = TimeSpan.FromSeconds(Int("StallAfterSeconds", (int)ingestDefaults.StallAfter.TotalSeconds)),
            AnswerTimeout = TimeSpan.FromSeconds(Int("AnswerTimeoutSeconds", (int)ingestDefaults.AnswerTimeout.TotalSeconds)),
            StopTimeout = TimeSpan.FromSeconds(Int("StopTimeoutSeconds", (int)ingestDefaults.StopTimeout.TotalSeconds)),
        };
        var limits = new ActionLimits
        {
            MaxActionsPerBatch = Int("MaxActionsPerBatch", limitDefaults.MaxActionsPerBatch),
            MaxBodyBytes = Int("MaxBodyBytes", limitDefaults.MaxBodyBytes),
            MaxDataBytes = Int("MaxDataBytes", limitDefaults.MaxDataBytes),
            MaxDataDepth = Int("MaxDataDepth", limitDefaults.MaxDataDepth),
            MaxIdLength = Int("MaxIdLength", limitDefaults.MaxIdLength),
            MaxPlayerLength = Int("MaxPlayerLength", limitDefaults.MaxPlayerLength),
            MaxTypeLength = Int("MaxTypeLength", limitDefaults.MaxTypeLength),
            MaxFutureSkew = TimeSpan.FromSeconds(Int("MaxFutureSkewSeconds", (int)limitDefaults.MaxFutureSkew.TotalSeconds)),
            MaxAge = TimeSpan.FromSeconds(Int("MaxAgeSeconds", (int)limitDefaults.MaxAge.TotalSeconds)),
        };
        int maxConcurrent = Int("MaxConcurrentIngestRequests", 128);
        if (maxConcurrent is < 1 or > 100_000)
        {
            errors.Add($"Showrunner:MaxConcurrentIngestRequests = {maxConcurrent}: must be between 1 and 100000.");
        }
        bool loadExample = true;
        if (section["LoadExample"] is { } exampleText && !bool.TryParse(exampleText, out loadExample))
        {
            errors.Add($"Showrunner:LoadExample = '{exampleText}': must be true or false.");
        }
        int maxReleaseBytes = Int("MaxReleaseBytes", DefaultMaxReleaseBytes);
        if (maxReleaseBytes is < 1024 or > Core.Rules.Bundle.ReleaseBundle.MaxSourceBytes)
        {
            errors.Add($"Showrunner:MaxReleaseBytes = {maxReleaseBytes}: must be between 1024 and {Core.Rules.Bundle.ReleaseBundle.MaxSourceBytes}.");
        }
        // Every valid action batch must pass the JSON policy: body, actions array, action, then data's own levels.
        int maxJsonDepth = Int("MaxJsonDepth", Core.Json.StrictJson.DefaultMaxDepth);
        if (maxJsonDepth < limits.MaxDataDepth + 3 || maxJsonDepth > 1000)
        {
            errors.Add($"Showrunner:MaxJsonDepth = {maxJsonDepth}: must be between MaxDataDepth + 3 ({limits.MaxDataDepth + 3}) and 1000.");
        }
        int checkpointMs = Int("CheckpointIntervalMs", 1000);
        if (checkpointMs is < 100 or > 60_000)
        {
            errors.Add($"Showrunner:CheckpointIntervalMs = {checkpointMs}: must be between 100 and 60000.");
        }
        int readConnections = Int("ReadConnections", 4);
        if (readConnections is < 1 or > 64)
        {
            errors.Add($"Showrunner:ReadConnections = {readConnections}: must be between 1 and 64.");
        }
        errors.AddRange(ingest.Validate().Select(e => "Showrunner:" + e));
        errors.AddRange(limits.Validate().Select(e => "Showrunner:" + e));
        var outbox = OutboxSettings.Read(configuration, errors);
        Uri? alertUrl = null;
        foreach (var child in section.GetSection("Alerts").GetChildren())
        {
            if (child.Key != "WebhookUrl")
            {
                errors.Add($"Showrunner:Alerts:{child.Key} is not a known option (known: WebhookUrl).");
            }
        }
        if (section["Alerts:WebhookUrl"] is { Length: > 0 } alertText)
        {
            if (Uri.TryCreate(alertText, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https")
            {
                alertUrl = parsed;
            }
            else
            {
                errors.Add($"Showrunner:Alerts:WebhookUrl = '{alertText}': must be an absolute http or https URL.");
            }
        }
        var security = SecuritySettings.Read(section, errors);
        var dashboard = global::Showrunner.Server.Dashboard.DashboardOptions.Read(configuration, errors);
        var demo = global::Showrunner.Server.Demo.DemoOptions.Read(configuration, limits.MaxActionsPerBatch, errors);
        var approvals = ApprovalSettings.Read(configuration, errors);
        string logFormat = section["LogFormat"] ?? "text";
        if (logFormat is not ("text" or "json"))
        {
            errors.Add($"Showrunner:LogFormat = '{logFormat}': must be text or json.");
        }
        if (errors.Count > 0)
        {
            throw new OptionsException(errors);
        }
        return new ServerOptions
        {
            DataDirectory = Path.GetFullPath(dataDirectory),
            Ingest = ingest,
            Limits = limits,
            MaxConcurrentIngestRequests = maxConcurrent,
            ReadConnections = readConnections,
            LoadExample = loadExample,
            MaxReleaseBytes = maxReleaseBytes,
            MaxJsonDepth = maxJsonDepth,
            CheckpointInterval = TimeSpan.FromMilliseconds(checkpointMs),
            Outbox = outbox,
            AlertWebhookUrl = alertUrl,
            Security = security,
            Dashboard = dashboard,
            Demo = demo,
            Approvals = approvals,
            LogFormat = logFormat,
        };
    }
}

internal sealed class OptionsException(IReadOnlyList<string> errors)
    : Exception("Invalid configuration: " + string.Join(" ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
