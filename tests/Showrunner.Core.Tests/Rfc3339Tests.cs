using Showrunner.Core.Actions;

namespace Showrunner.Core.Tests;

[Trait("Category", "Unit")]
public sealed class Rfc3339Tests
{
    [Theory]
    [InlineData("2025-07-24T16:00:00Z", "2025-07-24T16:00:00Z")]
    [InlineData("2025-07-24t16:00:00z", "2025-07-24T16:00:00Z")]
    [InlineData("2025-07-24T16:00:00+00:00", "2025-07-24T16:00:00Z")]
    [InlineData("2025-07-24T16:00:00-00:00", "2025-07-24T16:00:00Z")]
    [InlineData("2025-07-24T16:00:00.5Z", "2025-07-24T16:00:00.5Z")]
    [InlineData("2025-07-24T16:00:00.1234567Z", "2025-07-24T16:00:00.1234567Z")]
    [InlineData("2025-07-24T16:00:00.123456789Z", "2025-07-24T16:00:00.1234567Z")] // truncated, not rounded
    [InlineData("2024-02-29T23:59:59Z", "2024-02-29T23:59:59Z")]
    public void Accepts_utc_timestamps_and_formats_them_canonically(string text, string canonical)
    {
        Assert.True(Rfc3339.TryParseUtc(text, out long ticks, out string? error), error);
        Assert.Equal(canonical, Rfc3339.Format(ticks));
    }

    [Fact]
    public void Parsed_ticks_equal_the_framework_value()
    {
        Assert.True(Rfc3339.TryParseUtc("2025-07-24T16:00:00.25Z", out long ticks, out _));
        Assert.Equal(new DateTime(2025, 7, 24, 16, 0, 0, 250, DateTimeKind.Utc).Ticks, ticks);
    }

    [Theory]
    [InlineData("", "must look like")]
    [InlineData("2025-07-24", "must look like")]
    [InlineData("2025-07-24 16:00:00Z", "must look like")]
    [InlineData("2025-07-24T16:00:00", "must look like")]
    [InlineData("2025-07-24T16:00:00+02:00", "UTC")]
    [InlineData("2025-07-24T16:00:00.Z", "fraction")]
    [InlineData("2025-07-24T16:00:00.1234567890Z", "fraction")]
    [InlineData("2025-02-29T16:00:00Z", "calendar")]
    [InlineData("2025-13-01T16:00:00Z", "calendar")]
    [InlineData("2025-07-24T24:00:00Z", "calendar")]
    [InlineData("2016-12-31T23:59:60Z", "calendar")]
    [InlineData("0000-01-01T00:00:00Z", "calendar")]
    [InlineData("2025-07-24T16:00:00ZZ", "UTC")]
    [InlineData("２０２５-07-24T16:00:00Z", "must look like")]
    public void Refuses_anything_else_with_a_reason(string text, string reason)
    {
        Assert.False(Rfc3339.TryParseUtc(text, out _, out string? error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }
}
