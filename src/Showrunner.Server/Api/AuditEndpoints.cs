using System.Globalization;
using System.Text.Json;
using Showrunner.Core.Actions;
using Showrunner.Core.Audit;
using Showrunner.Runtime.Audit;
using Showrunner.Server.Security;
using Showrunner.Storage;
using Showrunner.Storage.Audit;

namespace Showrunner.Server.Api;

/// <summary>
/// <c>GET /v1/audit</c>: the audit log, newest first (paged with <c>before</c>) or oldest first
/// from <c>after</c>, filtered by action, actor or target, every entry with its hashes; and the
/// head (seq and hash) to keep off-site. The contract is in docs/api.md, "Audit log";
/// the encoding in docs/audit.md.
/// </summary>
internal sealed class AuditEndpoints(IActionStore store, AuditTrail audit)
{
    public const int DefaultListLimit = 50;
    public const int MaxListLimit = 500;

    public static void Map(WebApplication app)
    {
        var endpoints = app.Services.GetRequiredService<AuditEndpoints>();
        app.MapGet("/v1/audit", endpoints.ListAsync).Allow(Access.Viewer);
        app.MapGet("/v1/audit/head", endpoints.HeadAsync).Allow(Access.Viewer);
    }

    public async Task HeadAsync(HttpContext context)
    {
        var (seq, hash) = audit.Head();
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w => WriteHead(w, seq, hash)).ConfigureAwait(false);
    }

    public async Task ListAsync(HttpContext context)
    {
        var query = context.Request.Query;
        int limit = DefaultListLimit;
        if (query["limit"] is { Count: > 0 } limitText &&
            (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxListLimit))
        {
            await Requests.InvalidParameterAsync(context, "limit", $"limit must be a whole number from 1 to {MaxListLimit}.").ConfigureAwait(false);
            return;
        }
        long? after = null, before = null;
        foreach (var (name, min) in new[] { ("after", 0L), ("before", 1L) })
        {
            if (query[name] is { Count: > 0 } text)
            {
                if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value) || value < min)
                {
                    await Requests.InvalidParameterAsync(context, name, $"{name} must be an entry's seq, a whole number from {min}.").ConfigureAwait(false);
                    return;
                }
                if (name == "after")
                {
                    after = value;
                }
                else
                {
                    before = value;
                }
            }
        }
        var filters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, max) in new[] { ("action", AuditEntry.ActionLengthMax), ("actor", AuditEntry.ActorLengthMax), ("target", AuditEntry.TargetLengthMax) })
        {
            if (query[name] is { Count: > 0 } text)
            {
                string value = text.ToString();
                if (value.Length == 0 || value.Length > max || value.Any(char.IsControl))
                {
                    await Requests.InvalidParameterAsync(context, name, $"{name} must be 1 to {max} characters without control characters.").ConfigureAwait(false);
                    return;
                }
                filters[name] = value;
            }
        }
        var (headSeq, headHash) = audit.Head();
        // One more than asked tells whether there is a next page.
        var page = store.Audit.Query(new AuditQuery(limit + 1, after, before, filters.GetValueOrDefault("action"), filters.GetValueOrDefault("actor"),
            filters.GetValueOrDefault("target")));
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject("head");
            WriteHead(w, headSeq, headHash);
            w.WriteEndObject();
            w.WriteString("order", after is null ? "newest_first" : "oldest_first");
            w.WriteStartArray("entries");
            foreach (var entry in page.Take(limit))
            {
                w.WriteStartObject();
                WriteEntry(w, entry);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (page.Count > limit)
            {
                long last = page[limit - 1].Seq;
                var next = new List<string> { "limit=" + limit.ToString(CultureInfo.InvariantCulture) };
                next.Add(after is null ? "before=" + last.ToString(CultureInfo.InvariantCulture) : "after=" + last.ToString(CultureInfo.InvariantCulture));
                if (after is not null && before is { } bound)
                {
                    next.Add("before=" + bound.ToString(CultureInfo.InvariantCulture));
                }
                next.AddRange(filters.Select(f => f.Key + "=" + Uri.EscapeDataString(f.Value)));
                w.WriteString("next", "/v1/audit?" + string.Join('&', next));
            }
            else
            {
                w.WriteNull("next");
            }
        }).ConfigureAwait(false);
    }

    private static void WriteHead(Utf8JsonWriter w, long seq, byte[] hash)
    {
        w.WriteNumber("seq", seq);
        w.WriteString("hash", Convert.ToHexStringLower(hash));
    }

    private static void WriteEntry(Utf8JsonWriter w, StoredAuditEntry entry)
    {
        w.WriteNumber("seq", entry.Seq);
        w.WriteString("at", Rfc3339.Format(entry.AtTicks));
        w.WriteString("actor", entry.Actor);
        w.WriteString("action", entry.Action);
        w.WriteString("target", entry.Target);
        WriteText(w, "before", entry.Before);
        WriteText(w, "after", entry.After);
        WriteText(w, "reason", entry.Reason);
        // The JSON object as text: exactly what was hashed.
        WriteText(w, "details", entry.Details);
        w.WriteString("prev_hash", Convert.ToHexStringLower(entry.PrevHash));
        w.WriteString("hash", Convert.ToHexStringLower(entry.Hash));
    }

    private static void WriteText(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }
}
