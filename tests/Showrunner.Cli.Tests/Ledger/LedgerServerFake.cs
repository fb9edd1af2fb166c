using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Showrunner.Core.Actions;
using Showrunner.Storage.Sqlite;

namespace Showrunner.Cli.Tests.Ledger;

/// <summary>
/// The ledger endpoints the server is getting on main, with exactly their documented shape, served
/// by Kestrel on loopback from a real data directory (read per request, so a test can tamper with
/// the directory between runs). Pages hold at most <see cref="PageMax"/> items, fewer than the
/// client asks for, so that the client's paging is exercised.
/// </summary>
internal sealed class LedgerServerFake : IAsyncDisposable
{
    public const int PageMax = 3;
    private readonly WebApplication _app;

    private LedgerServerFake(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    /// <summary>When set, every request is answered with this status and a problem document instead.</summary>
    public int? FailWith { get; set; }

    public static async Task<LedgerServerFake> StartAsync(string dataDirectory, string publicKeyPem)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var fake = new LedgerServerFake(app);
        app.Use(async (context, next) =>
        {
            if (fake.FailWith is { } status)
            {
                context.Response.StatusCode = status;
                await context.Response.WriteAsJsonAsync(new JsonObject { ["code"] = "internal", ["detail"] = "the fake is told to fail" });
                return;
            }
            await next(context);
        });
        app.MapGet("/v1/ledger/key", (HttpContext context) => context.Request.Query["format"] == "pem"
            ? Results.Text(publicKeyPem + "\n", "application/x-pem-file")
            : Results.BadRequest());
        app.MapGet("/v1/ledger", () =>
        {
            using var reader = SqliteDataDirectoryReader.Open(dataDirectory);
            var latest = reader.Checkpoints().LastOrDefault();
            return Json(new JsonObject
            {
                ["partitions"] = reader.PartitionCount,
                ["entries"] = reader.CountEntries(),
                ["latest_checkpoint"] = latest is null ? null : Checkpoint(latest),
            });
        });
        app.MapGet("/v1/ledger/checkpoints", (long? after, int? limit) =>
        {
            if (limit is < 1 or > 1000)
            {
                return Problem(400, "limit_invalid");
            }
            using var reader = SqliteDataDirectoryReader.Open(dataDirectory);
            var page = reader.Checkpoints().Where(c => c.Sequence > (after ?? -1)).Take(Math.Min(limit ?? 100, PageMax) + 1).ToList();
            bool more = page.Count > Math.Min(limit ?? 100, PageMax);
            var items = page.Take(Math.Min(limit ?? 100, PageMax)).ToList();
            return Json(new JsonObject
            {
                ["checkpoints"] = new JsonArray([.. items.Select(Checkpoint)]),
                ["next_after"] = more ? items[^1].Sequence : null,
            });
        });
        app.MapGet("/v1/ledger/partitions/{partition:int}/entries", (int partition, long? from, int? limit) =>
        {
            using var reader = SqliteDataDirectoryReader.Open(dataDirectory);
            if (partition < 0 || partition >= reader.PartitionCount)
            {
                return Problem(404, "partition_unknown");
            }
            if (limit is < 1 or > 1000)
            {
                return Problem(400, "limit_invalid");
            }
            int size = Math.Min(limit ?? 100, PageMax);
            var page = reader.Entries(partition).Where(e => e.Index >= (from ?? 0)).Take(size + 1).ToList();
            var items = page.Take(size).ToList();
            return Json(new JsonObject
            {
                ["partition"] = partition,
                ["entries"] = new JsonArray([.. items.Select(e => (JsonNode)new JsonObject
                {
                    ["index"] = e.Index,
                    ["entry"] = Convert.ToBase64String(e.Entry),
                    ["prev_hash"] = Convert.ToHexStringLower(e.PrevHash),
                    ["hash"] = Convert.ToHexStringLower(e.Hash),
                })]),
                ["next_from"] = page.Count > size ? page[size].Index : null,
            });
        });
        await app.StartAsync();
        fake.Url = app.Urls.Single();
        return fake;
    }

    private static JsonNode Checkpoint(Storage.StoredCheckpoint stored) => new JsonObject
    {
        ["sequence"] = stored.Sequence,
        ["time"] = Rfc3339.Format(stored.TimeTicks),
        ["key_id"] = stored.KeyId,
        ["checkpoint"] = Convert.ToBase64String(stored.Body),
        ["signature"] = Convert.ToBase64String(stored.Signature),
    };

    private static IResult Json(JsonObject body) => Results.Text(body.ToJsonString(), "application/json");

    private static IResult Problem(int status, string code) =>
        Results.Text(new JsonObject { ["code"] = code, ["detail"] = code.Replace('_', ' ') }.ToJsonString(), "application/problem+json", statusCode: status);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
