using Showrunner.Contracts.Grants;
using Showrunner.Contracts.Wire;
using Showrunner.Core.Actions;
using Showrunner.Core.Ledger;
using Showrunner.Storage.Outbox;

namespace Showrunner.Server.Api;

/// <summary>A grant as the API shows it, from its checked canonical entry (<see cref="Runtime.Ledger.LedgerIntegrity"/>), in its contract records.</summary>
internal static class GrantResponses
{
    public static readonly System.Text.Json.Serialization.Metadata.JsonTypeInfo<GrantResponse> Wire = WireJson.Of(GrantsJson.Default.GrantResponse);

    /// <summary>The full form; <paramref name="status"/> only in the answer of a grant or correction request.</summary>
    public static GrantResponse Full(GrantEntry entry, DeliveryState? delivery, string? status = null) => new(
        status,
        entry.GrantId,
        entry.Rule,
        Amounts(entry.Rewards),
        Rfc3339.Format(entry.TimeTicks),
        entry.Player,
        entry.EventId,
        entry.Run,
        GrantEntry.KindName(entry.CauseKind),
        entry.CauseId,
        entry.ActionId,
        entry.ReleaseId,
        entry.Author,
        // Written with the author (an operator's entry); the ledger never holds an author without a reason.
        entry.Author is null ? null : entry.Reason,
        entry.Partition,
        entry.Index,
        $"/v1/rewards/{entry.GrantId}/receipt",
        delivery is null ? null : Delivery(delivery));

    public static GrantSummaryResponse Summary(GrantEntry entry) => new(entry.GrantId, entry.Rule, Amounts(entry.Rewards), Rfc3339.Format(entry.TimeTicks));

    public static List<NamedAmount> Amounts(IEnumerable<RewardLine> lines) => [.. lines.Select(l => new NamedAmount(l.Name, l.Amount))];

    private static DeliveryResponse Delivery(DeliveryState delivery) => new(
        delivery.Status switch
        {
            DeliveryStatus.Delivered => "delivered",
            DeliveryStatus.DeadLettered => "dead_lettered",
            _ => "pending",
        },
        delivery.Attempts,
        delivery.TotalAttempts,
        Time(delivery.Status == DeliveryStatus.Pending ? delivery.NextAttemptAt : null),
        Time(delivery.LastAttemptAt),
        delivery.LastStatusCode,
        delivery.LastError,
        Time(delivery.DeliveredAt),
        Time(delivery.DeadLetteredAt));

    /// <summary>An instant as the API writes it (RFC 3339 UTC), or null.</summary>
    public static string? Time(DateTimeOffset? at) => at is { } value ? Rfc3339.Format(value.UtcTicks) : null;
}
