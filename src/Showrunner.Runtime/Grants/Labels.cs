namespace Showrunner.Runtime.Grants;

/// <summary>
/// Labels and ids an operator chooses that end up in the ledger, the audit log and grant ids (an
/// operator grant's <c>request_id</c> and <c>event</c>): 1 to <see cref="LengthMax"/> ASCII letters,
/// digits, <c>_</c>, <c>-</c>, <c>.</c> and <c>:</c>, beginning with a letter or digit. So a label
/// is never a path (<c>../../x</c>), never blank or invisible, and reads the same in every tool and
/// log. docs/api.md, "Request bodies".
/// </summary>
internal static class Labels
{
    public const int LengthMax = 128;

    /// <summary>The rule, for problem details.</summary>
    public const string Rule = "1 to 128 ASCII letters, digits, '_', '-', '.' or ':', beginning with a letter or digit";

    public static bool IsValid(string? label)
    {
        if (label is null || label.Length is 0 or > LengthMax || !char.IsAsciiLetterOrDigit(label[0]))
        {
            return false;
        }
        foreach (char c in label)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or ':'))
            {
                return false;
            }
        }
        return true;
    }
}
