using System.Globalization;
using System.Text.Json.Serialization.Metadata;
using Showrunner.Contracts.Audit;
using Showrunner.Contracts.Wire;
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
    private static readonly JsonTypeInfo<AuditHeadResponse> HeadWire = WireJson.Of(AuditJson.Default.AuditHeadResponse);
    private static readonly JsonTypeInfo<AuditListResponse> ListWire = WireJson.Of(AuditJson.Default.AuditListResponse);

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
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK, new AuditHeadResponse(seq, Convert.ToHexStringLower(hash)), HeadWire).ConfigureAwait(false);
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
        string? next = null;
        if (page.Count > limit)
        {
            long last = page[limit - 1].Seq;
            var parts = new List<string> { "limit=" + limit.ToString(CultureInfo.InvariantCulture) };
            parts.Add(after is null ? "before=" + last.ToString(CultureInfo.InvariantCulture) : "after=" + last.ToString(CultureInfo.InvariantCulture));
            if (after is not null && before is { } bound)
            {
                parts.Add("before=" + bound.ToString(CultureInfo.InvariantCulture));
            }
            parts.AddRange(filters.Select(f => f.Key + "=" + Uri.EscapeDataString(f.Value)));
            next = "/v1/audit?" + string.Join('&', parts);
        }
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK, new AuditListResponse(new AuditHeadResponse(headSeq, Convert.ToHexStringLower(headHash)),
            after is null ? "newest_first" : "oldest_first", [.. page.Take(limit).Select(Entry)], next), ListWire).ConfigureAwait(false);
    }

    private static AuditEntryResponse Entry(StoredAuditEntry entry) => new(
        entry.Seq,
        Rfc3339.Format(entry.AtTicks),
        entry.Actor,
        entry.Action,
        entry.Target,
        entry.Before,
        entry.After,
        entry.Reason,
        // The JSON object as text: exactly what was hashed.
        entry.Details,
        Convert.ToHexStringLower(entry.PrevHash),
        Convert.ToHexStringLower(entry.Hash));
}
