using System.Globalization;

namespace Showrunner.Core.Actions;

/// <summary>
/// Strict RFC 3339 parsing and formatting for UTC timestamps.
/// </summary>
/// <remarks>
/// Accepted: <c>YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00|-00:00)</c>, with <c>t</c>/<c>z</c> in
/// either case. The fraction may have 1–9 digits; digits beyond the seventh (100 ns) are truncated,
/// so nanosecond timestamps from Go or Rust clients are kept to .NET's precision deterministically.
/// Any other offset is refused: the API speaks UTC only. Leap seconds (:60) are refused.
/// </remarks>
public static class Rfc3339
{
    public static bool TryParseUtc(ReadOnlySpan<char> text, out long utcTicks, out string? error)
    {
        utcTicks = 0;
        error = null;
        // Fixed part: 2025-07-24T16:00:00 (19 chars) + at least "Z".
        if (text.Length < 20 || text.Length > 35)
        {
            error = "must look like 2025-07-24T16:00:00Z";
            return false;
        }
        if (!Digits(text, 0, 4, out int year) || text[4] != '-' || !Digits(text, 5, 2, out int month) ||
            text[7] != '-' || !Digits(text, 8, 2, out int day) || (text[10] != 'T' && text[10] != 't') ||
            !Digits(text, 11, 2, out int hour) || text[13] != ':' || !Digits(text, 14, 2, out int minute) ||
            text[16] != ':' || !Digits(text, 17, 2, out int second))
        {
            error = "must look like 2025-07-24T16:00:00Z";
            return false;
        }
        int position = 19;
        long fractionTicks = 0;
        if (text[position] == '.')
        {
            position++;
            int start = position;
            while (position < text.Length && char.IsAsciiDigit(text[position]))
            {
                int digitIndex = position - start;
                if (digitIndex < 7)
                {
                    fractionTicks = fractionTicks * 10 + (text[position] - '0');
                }
                position++;
            }
            int digits = position - start;
            if (digits is 0 or > 9)
            {
                error = "the fraction of a second must have 1 to 9 digits";
                return false;
            }
            for (int i = digits; i < 7; i++)
            {
                fractionTicks *= 10;
            }
        }
        ReadOnlySpan<char> zone = text[position..];
        if (!(zone is "Z" or "z" or "+00:00" or "-00:00"))
        {
            error = "must be in UTC (end with Z)";
            return false;
        }
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) ||
            hour > 23 || minute > 59 || second > 59)
        {
            error = "is not a valid calendar date and time";
            return false;
        }
        utcTicks = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).Ticks + fractionTicks;
        return true;
    }

    /// <summary>Formats UTC ticks as RFC 3339 with a trimmed fraction, e.g. <c>2025-07-24T16:00:00.5Z</c>.</summary>
    public static string Format(long utcTicks) =>
        new DateTime(utcTicks, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    private static bool Digits(ReadOnlySpan<char> text, int start, int count, out int value)
    {
        value = 0;
        for (int i = start; i < start + count; i++)
        {
            char c = text[i];
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
            value = value * 10 + (c - '0');
        }
        return true;
    }
}
