using Showrunner.Core.Ledger;

namespace Showrunner.Runtime.Grants;

/// <summary>
/// The rules a manual grant or correction request must keep, with the sentences that refuse it
/// (docs/api.md, "Operator grants"). One place for both readers: the HTTP body parser (which also
/// judges JSON kinds) and <see cref="GrantService"/>, which checks every command again, also one an
/// approval stored long ago. Checks run in a fixed order so that the first broken rule is the one reported.
/// </summary>
internal static class GrantRequestRules
{
    /// <summary>Largest amount one line of a manual grant or correction may carry (either sign).</summary>
    public const long MaxAmount = 1_000_000_000_000;

    /// <summary>The problem with a text field, or null: 1 to <paramref name="max"/> characters without control characters (null: missing).</summary>
    public static string? Text(string field, string? value, bool required, int max) =>
        (value is null ? required : value.Length == 0 || value.Length > max || value.Any(char.IsControl))
            ? $"{field} is {(required ? "required: " : "")}a string of 1 to {max} characters without control characters."
            : null;

    /// <summary>The problem with a label (request id, event), or null.</summary>
    public static string? Label(string field, string? value) =>
        value is not null && !Labels.IsValid(value) ? $"{field} is a label: {Labels.Rule}." : null;

    public const string CorrectionTarget = "A correction applies to the corrected grant's player, event and run.";
    public const string Run = "run is a whole number, 0 or more.";
    public const string RewardsShape = "rewards is an object of amounts by currency or item, e.g. {\"gems\": 100}.";
    public const string RewardTwice = "A reward appears twice.";

    public static string LineCount => $"A grant has 1 to {GrantEntry.RewardLinesMax} reward lines.";

    public static string Amount(bool correction) => $"An amount is a whole number from 1 to {MaxAmount}{(correction ? " or its negative" : "")}.";

    public static bool IsValidAmount(long amount, bool correction) => amount != 0 && Math.Abs(amount) <= MaxAmount && (amount > 0 || correction);

    /// <summary>The first broken rule of a grant command as (field, sentence), or null.</summary>
    public static (string Field, string Detail)? Check(ManualGrantCommand command) =>
        CheckCommon(command.RequestId, command.Reason, command.Player, command.Event, command.Run, command.Rewards, correction: false);

    /// <summary>The first broken rule of a correction command as (field, sentence), or null.</summary>
    public static (string Field, string Detail)? Check(GrantCorrectionCommand command) =>
        CheckCommon(command.RequestId, command.Reason, null, null, command.Run, command.Rewards, correction: true);

    private static (string Field, string Detail)? CheckCommon(string? requestId, string? reason, string? player, string? eventId, long run,
        IReadOnlyList<RewardLine>? rewards, bool correction)
    {
        foreach (var (field, value, required, max) in new[]
        {
            ("request_id", requestId, true, GrantEntry.IdentifierLengthMax), ("reason", reason, true, GrantEntry.ReasonLengthMax),
            ("player", player, !correction, GrantEntry.IdentifierLengthMax), ("event", eventId, false, GrantEntry.IdentifierLengthMax),
        })
        {
            if (Text(field, value, required, max) is { } problem)
            {
                return (field, problem);
            }
        }
        foreach (var (field, value) in new[] { ("request_id", requestId), ("event", eventId) })
        {
            if (Label(field, value) is { } problem)
            {
                return (field, problem);
            }
        }
        if (run < 0)
        {
            return ("run", Run);
        }
        if (rewards is null)
        {
            return ("rewards", RewardsShape);
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in rewards)
        {
            if (!IsValidAmount(line.Amount, correction))
            {
                return ("rewards." + line.Name, Amount(correction));
            }
            if (!seen.Add(line.Name))
            {
                return ("rewards." + line.Name, RewardTwice);
            }
        }
        return rewards.Count is 0 or > GrantEntry.RewardLinesMax ? ("rewards", LineCount) : null;
    }
}
