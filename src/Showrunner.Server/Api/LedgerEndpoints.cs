using System.Globalization;
using System.Text.Json;
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
            return Results.Json(new LedgerKeyResponse(key.KeyId, "ECDSA P-256, SHA-256, DER signatures", publicKeyPem), ServerJsonContext.Default.LedgerKeyResponse);
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
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteNumber("partitions", heads.Length);
            w.WriteNumber("entries", heads.Sum(h => h.Size));
            w.WriteString("key_id", signer.KeyId);
            if (latest is null)
            {
                w.WriteNull("latest_checkpoint");
            }
            else
            {
                w.WritePropertyName("latest_checkpoint");
                WriteCheckpoint(w, latest, partitions: false);
                w.WriteNumber("checkpoint_age_ms", Math.Max(0, (long)(now - new DateTimeOffset(latest.Checkpoint.TimeTicks, TimeSpan.Zero)).TotalMilliseconds));
            }
            w.WriteNumber("uncheckpointed_entries", heads.Select((h, p) => h.Size - (latest?.Checkpoint.Partitions[p].Size ?? 0)).Sum());
        }).ConfigureAwait(false);
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
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartArray("checkpoints");
            foreach (var checkpoint in page)
            {
                WriteCheckpoint(w, checkpoint, partitions: false);
            }
            w.WriteEndArray();
            if (next is { } n)
            {
                w.WriteNumber("next_after", n);
            }
            else
            {
                w.WriteNull("next_after");
            }
        }).ConfigureAwait(false);
    }

    public async Task LatestAsync(HttpContext context)
    {
        if (signer.Latest is not { } latest)
        {
            await Problems.WriteAsync(context, StatusCodes.Status404NotFound, ProblemCodes.CheckpointNotFound, "No checkpoint yet",
                "No checkpoint has been signed yet: one is signed within seconds of the first grant.").ConfigureAwait(false);
            return;
        }
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w => WriteCheckpointBody(w, latest, partitions: true)).ConfigureAwait(false);
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
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w => WriteCheckpointBody(w, checkpoint, partitions: true)).ConfigureAwait(false);
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
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WritePropertyName("from");
            WriteCheckpoint(w, older, partitions: false);
            w.WritePropertyName("to");
            WriteCheckpoint(w, newer, partitions: false);
            w.WriteStartArray("proofs");
            for (int p = 0; p < proofs.Count; p++)
            {
                w.WriteStartObject();
                w.WriteNumber("partition", p);
                w.WriteNumber("from_size", older.Checkpoint.Partitions[p].Size);
                w.WriteNumber("to_size", newer.Checkpoint.Partitions[p].Size);
                w.WriteStartArray("proof");
                foreach (byte[] node in proofs[p])
                {
                    w.WriteStringValue(Convert.ToHexStringLower(node));
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }).ConfigureAwait(false);
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
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteNumber("partition", index);
            w.WriteStartArray("entries");
            foreach (var row in rows)
            {
                w.WriteStartObject();
                w.WriteNumber("index", row.Index);
                w.WriteString("entry", Convert.ToBase64String(row.Entry));
                w.WriteString("prev_hash", Convert.ToHexStringLower(row.PrevHash));
                w.WriteString("hash", Convert.ToHexStringLower(row.Hash));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (rows.Count == limit)
            {
                w.WriteNumber("next_from", rows[^1].Index + 1);
            }
            else
            {
                w.WriteNull("next_from");
            }
        }).ConfigureAwait(false);
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

    private static void WriteCheckpoint(Utf8JsonWriter w, SignedCheckpoint checkpoint, bool partitions)
    {
        w.WriteStartObject();
        WriteCheckpointBody(w, checkpoint, partitions);
        w.WriteEndObject();
    }

    private static void WriteCheckpointBody(Utf8JsonWriter w, SignedCheckpoint signed, bool partitions)
    {
        var checkpoint = signed.Checkpoint;
        w.WriteNumber("sequence", checkpoint.Sequence);
        w.WriteString("time", Rfc3339.Format(checkpoint.TimeTicks));
        w.WriteString("key_id", checkpoint.KeyId);
        w.WriteNumber("entries", checkpoint.Partitions.Sum(p => p.Size));
        w.WriteString("checkpoint", Convert.ToBase64String(checkpoint.CanonicalBytes));
        w.WriteString("signature", Convert.ToBase64String(signed.Signature));
        if (partitions)
        {
            w.WriteStartArray("partitions");
            foreach (var head in checkpoint.Partitions)
            {
                w.WriteStartObject();
                w.WriteNumber("size", head.Size);
                w.WriteString("root", Convert.ToHexStringLower(head.Root));
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
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

internal sealed record LedgerKeyResponse(string KeyId, string Algorithm, string PublicKeyPem);
