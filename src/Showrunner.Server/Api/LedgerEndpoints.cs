using System.Globalization;
using System.Text.Json.Serialization.Metadata;
using Showrunner.Contracts.Ledger;
using Showrunner.Contracts.Wire;
using Showrunner.Core.Actions;
using Showrunner.Core.Ledger;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Ledger;
using Showrunner.Server.Security;
using Showrunner.Storage;

namespace Showrunner.Server.Api;

/// <summary>
/// The ledger over HTTP (docs/api.md, "Ledger"): the public key, a summary, signed checkpoints,
/// consistency proofs between two checkpoints, each partition's entries (what <c>ledger verify
/// --server</c> walks), and a grant's receipt.
/// </summary>
internal sealed class LedgerEndpoints(IActionStore store, IngestPipeline pipeline, CheckpointSigner signer, LedgerReader reader, LedgerIntegrity integrity, TimeProvider time)
{
    private static readonly JsonTypeInfo<LedgerSummaryResponse> SummaryWire = WireJson.Of(LedgerJson.Default.LedgerSummaryResponse);
    private static readonly JsonTypeInfo<CheckpointResponse> CheckpointWire = WireJson.Of(LedgerJson.Default.CheckpointResponse);
    private static readonly JsonTypeInfo<CheckpointListResponse> ListWire = WireJson.Of(LedgerJson.Default.CheckpointListResponse);
    private static readonly JsonTypeInfo<ConsistencyResponse> ConsistencyWire = WireJson.Of(LedgerJson.Default.ConsistencyResponse);
    private static readonly JsonTypeInfo<LedgerEntriesResponse> EntriesWire = WireJson.Of(LedgerJson.Default.LedgerEntriesResponse);

    public const int MaxPageSize = 1_000;
    public const int DefaultPageSize = 100;

    public static void Map(WebApplication app, LedgerSigningKey key)
    {
        string publicKeyPem = key.ExportPublicKeyPem();
        app.MapGet("/v1/ledger/key", (HttpContext context) =>
        {
            if (context.Request.Query["format"] == "pem")
            {
                return Results.Text(publicKeyPem + "\n", "application/x-pem-file");
            }
            // Written as it always was: Results.Json with the default escaping (the PEM's '+' as \u002B).
            return Results.Json(new LedgerKeyResponse(key.KeyId, "ECDSA P-256, SHA-256, DER signatures", publicKeyPem), LedgerJson.Default.LedgerKeyResponse);
        }).Allow(Access.Public);
        var endpoints = app.Services.GetRequiredService<LedgerEndpoints>();
        app.MapGet("/v1/ledger", endpoints.SummaryAsync).Allow(Access.Viewer);
        app.MapGet("/v1/ledger/checkpoints", endpoints.CheckpointsAsync).Allow(Access.Viewer);
        app.MapGet("/v1/ledger/checkpoints/latest", endpoints.LatestAsync).Allow(Access.Viewer);
        app.MapGet("/v1/ledger/checkpoints/{sequence}", endpoints.CheckpointAsync).Allow(Access.Viewer);
        app.MapGet("/v1/ledger/consistency", endpoints.ConsistencyAsync).Allow(Access.Viewer);
        app.MapGet("/v1/ledger/partitions/{partition}/entries", endpoints.EntriesAsync).Allow(Access.Viewer);
        app.MapGet("/v1/rewards/{grantId}/receipt", endpoints.ReceiptAsync).Allow(Access.PlayerData);
    }

    public async Task SummaryAsync(HttpContext context)
    {
        var latest = signer.Latest;
        var heads = pipeline.CommittedLedgerHeads();
        var now = time.GetUtcNow();
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK, new LedgerSummaryResponse(
            heads.Length,
            heads.Sum(h => h.Size),
            signer.KeyId,
            latest is null ? null : Checkpoint(latest, partitions: false),
            latest is null ? null : Math.Max(0, (long)(now - new DateTimeOffset(latest.Checkpoint.TimeTicks, TimeSpan.Zero)).TotalMilliseconds),
            heads.Select((h, p) => h.Size - (latest?.Checkpoint.Partitions[p].Size ?? 0)).Sum()), SummaryWire).ConfigureAwait(false);
    }

    public async Task CheckpointsAsync(HttpContext context)
    {
        if (!TryLong(context, "after", -1, out long after) || !TryLimit(context, out int limit))
        {
            await Requests.InvalidParameterAsync(context, "after/limit", $"after must be a checkpoint sequence (or -1) and limit 1 to {MaxPageSize}.").ConfigureAwait(false);
            return;
        }
        // Ascending from 'after': what a verifier walks. The store lists newest first, so read the window and reverse.
        var latest = signer.Latest;
        var page = new List<SignedCheckpoint>();
        if (latest is not null)
        {
            long first = after + 1;
            long last = Math.Min(latest.Checkpoint.Sequence, first + limit - 1);
            if (first <= last)
            {
                foreach (var stored in store.Ledger.ListCheckpoints(last + 1, (int)(last - first + 1)).Reverse())
                {
                    page.Add(CheckpointSigner.Decode(stored));
                }
            }
        }
        long? next = page.Count == limit && latest is not null && page[^1].Checkpoint.Sequence < latest.Checkpoint.Sequence ? page[^1].Checkpoint.Sequence : null;
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK,
            new CheckpointListResponse([.. page.Select(c => Checkpoint(c, partitions: false))], next), ListWire).ConfigureAwait(false);
    }

    public async Task LatestAsync(HttpContext context)
    {
        if (signer.Latest is not { } latest)
        {
            await Problems.WriteAsync(context, StatusCodes.Status404NotFound, ProblemCodes.CheckpointNotFound, "No checkpoint yet",
                "No checkpoint has been signed yet: one is signed within seconds of the first grant.").ConfigureAwait(false);
            return;
        }
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK, Checkpoint(latest, partitions: true), CheckpointWire).ConfigureAwait(false);
    }

    public async Task CheckpointAsync(HttpContext context, string sequence)
    {
        if (!long.TryParse(sequence, NumberStyles.None, CultureInfo.InvariantCulture, out long number))
        {
            await Requests.InvalidParameterAsync(context, "sequence", "A checkpoint sequence is a whole number.").ConfigureAwait(false);
            return;
        }
        if (reader.Checkpoint(number) is not { } checkpoint)
        {
            await Problems.WriteAsync(context, StatusCodes.Status404NotFound, ProblemCodes.CheckpointNotFound, "Checkpoint not found",
                $"There is no checkpoint {number}.").ConfigureAwait(false);
            return;
        }
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK, Checkpoint(checkpoint, partitions: true), CheckpointWire).ConfigureAwait(false);
    }

    public async Task ConsistencyAsync(HttpContext context)
    {
        if (!TryLong(context, "from", -1, out long from) || !TryLong(context, "to", -1, out long to) || from < 0 || to < 0 || from > to)
        {
            await Requests.InvalidParameterAsync(context, "from/to", "Give two checkpoint sequences with from <= to, e.g. ?from=3&to=9.").ConfigureAwait(false);
            return;
        }
        var older = reader.Checkpoint(from);
        var newer = reader.Checkpoint(to);
        if (older is null || newer is null)
        {
            await Problems.WriteAsync(context, StatusCodes.Status404NotFound, ProblemCodes.CheckpointNotFound, "Checkpoint not found",
                $"There is no checkpoint {(older is null ? from : to)}.").ConfigureAwait(false);
            return;
        }
        var proofs = reader.ConsistencyProofs(older.Checkpoint, newer.Checkpoint);
        var list = new List<ConsistencyProofResponse>(proofs.Count);
        for (int p = 0; p < proofs.Count; p++)
        {
            list.Add(new ConsistencyProofResponse(p, older.Checkpoint.Partitions[p].Size, newer.Checkpoint.Partitions[p].Size,
                [.. proofs[p].Select(Convert.ToHexStringLower)]));
        }
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK,
            new ConsistencyResponse(Checkpoint(older, partitions: false), Checkpoint(newer, partitions: false), list), ConsistencyWire).ConfigureAwait(false);
    }

    public async Task EntriesAsync(HttpContext context, string partition)
    {
        if (!int.TryParse(partition, NumberStyles.None, CultureInfo.InvariantCulture, out int index) || index >= pipeline.PartitionCount)
        {
            await Requests.InvalidParameterAsync(context, "partition", $"A partition is a number from 0 to {pipeline.PartitionCount - 1}.").ConfigureAwait(false);
            return;
        }
        if (!TryLong(context, "from", 0, out long from) || from < 0 || !TryLimit(context, out int limit))
        {
            await Requests.InvalidParameterAsync(context, "from/limit", $"from must be an entry index (0 or more) and limit 1 to {MaxPageSize}.").ConfigureAwait(false);
            return;
        }
        var rows = store.Ledger.ReadEntries(index, from, limit);
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK, new LedgerEntriesResponse(index,
            [.. rows.Select(row => new LedgerEntryResponse(row.Index, Convert.ToBase64String(row.Entry), Convert.ToHexStringLower(row.PrevHash), Convert.ToHexStringLower(row.Hash)))],
            rows.Count == limit ? rows[^1].Index + 1 : null), EntriesWire).ConfigureAwait(false);
    }

    public async Task ReceiptAsync(HttpContext context, string grantId)
    {
        var (status, json, damage) = PlayerAccess.IsOtherPlayersGrant(context, store.Ledger, integrity, grantId)
            ? new ReceiptResult(ReceiptStatus.NotFound)
            : await reader.ReceiptAsync(grantId).ConfigureAwait(false);
        switch (status)
        {
            case ReceiptStatus.Damaged:
                await LedgerDamageProblem.WriteAsync(context, damage!).ConfigureAwait(false);
                return;
            case ReceiptStatus.InvalidId:
                await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.InvalidGrantId, "Invalid grant id",
                    "A grant id is 64 hexadecimal characters (a SHA-256).").ConfigureAwait(false);
                return;
            case ReceiptStatus.NotFound:
                await Problems.WriteAsync(context, StatusCodes.Status404NotFound, ProblemCodes.GrantNotFound, "Grant not found",
                    $"The ledger has no grant {grantId}.").ConfigureAwait(false);
                return;
        }
        var bytes = System.Text.Encoding.UTF8.GetBytes(json!);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }

    private static CheckpointResponse Checkpoint(SignedCheckpoint signed, bool partitions)
    {
        var checkpoint = signed.Checkpoint;
        return new CheckpointResponse(checkpoint.Sequence, Rfc3339.Format(checkpoint.TimeTicks), checkpoint.KeyId, checkpoint.Partitions.Sum(p => p.Size),
            Convert.ToBase64String(checkpoint.CanonicalBytes), Convert.ToBase64String(signed.Signature),
            partitions ? [.. checkpoint.Partitions.Select(head => new PartitionHeadResponse(head.Size, Convert.ToHexStringLower(head.Root)))] : null);
    }

    private static bool TryLong(HttpContext context, string name, long fallback, out long value)
    {
        value = fallback;
        var text = context.Request.Query[name];
        return text.Count == 0 || long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    private static bool TryLimit(HttpContext context, out int limit)
    {
        limit = DefaultPageSize;
        var text = context.Request.Query["limit"];
        return text.Count == 0 || (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) && limit is >= 1 and <= MaxPageSize);
    }

}
