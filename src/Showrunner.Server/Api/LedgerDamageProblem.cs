using Showrunner.Runtime.Ledger;

namespace Showrunner.Server.Api;

/// <summary>
/// 503 <c>ledger_damaged</c>: what every read of a grant, a player's rewards or a receipt answers
/// when the partition holding it failed a ledger check (docs/api.md, "Errors"). The problem names
/// the partition, the failing check and the first bad entry, so the operator's log search and
/// <c>showrunner ledger verify</c> start from the same place.
/// </summary>
/// <remarks>
/// 503 and not 500: the server works as built and refuses on purpose, and the answer is the same
/// on every retry until an operator repairs the data directory; no <c>Retry-After</c> is sent,
/// because waiting does not repair it. Not 404: the grant may well exist.
/// </remarks>
internal static class LedgerDamageProblem
{
    public static Task WriteAsync(HttpContext context, PartitionDamage damage) => Of(context.Request.Path.Value ?? "", damage).WriteAsync(context);

    /// <summary>The problem for <paramref name="instance"/> (the request path), built but not yet written.</summary>
    public static ApiResult Of(string instance, PartitionDamage damage) =>
        Problems.Of(instance, StatusCodes.Status503ServiceUnavailable, ProblemCodes.LedgerDamaged, "Ledger damaged",
            $"Partition {damage.Partition}'s ledger failed a check ({damage.Check}); its grants, rewards and receipts are not served " +
            "until an operator repairs the data directory and restarts the server; retrying does not change this answer.",
            extensions: w =>
            {
                w.WriteNumber("partition", damage.Partition);
                w.WriteString("check", damage.Check);
                if (damage.FirstBadIndex is { } index)
                {
                    w.WriteNumber("first_bad_index", index);
                }
                else
                {
                    w.WriteNull("first_bad_index");
                }
            });
}
