using System.Text;
using Showrunner.Core.Json;

namespace Showrunner.Core.Tests.Json;

/// <summary>The one strict JSON reading policy: what it refuses, where it says the fault is, and what it lets through.</summary>
[Trait("Category", "Unit")]
public sealed class StrictJsonTests
{
    private static JsonViolation? Check(string json, int maxDepth = StrictJson.DefaultMaxDepth, bool duplicates = true) =>
        StrictJson.Validate(Encoding.UTF8.GetBytes(json), maxDepth, duplicates);

    [Theory]
    [InlineData("{}")]
    [InlineData("[]")]
    [InlineData("1")]
    [InlineData("\"text\"")]
    [InlineData(" {\"a\":1} \n")]
    [InlineData("{\"a\":{\"a\":1},\"b\":[{\"a\":1},{\"a\":2}]}")] // the same name in different objects
    [InlineData("{\"s\":\"\\ud83d\\ude00\"}")] // a surrogate pair is one character
    [InlineData("{\"\\ud83d\\ude00\":\"\\u00e9\\n\\\\u\\\"\"}")]
    [InlineData("{\"nul\":\"\\u0000\"}")] // valid JSON and valid Unicode; fields judge control characters
    [InlineData("{\"big\":1e999999,\"long\":123456789012345678901234567890}")] // numbers are the reader's business
    public void Well_formed_unique_unicode_json_passes(string json) => Assert.Null(Check(json));

    [Theory]
    [InlineData("{\"zone\":\"\\udc00\"}", 9)]
    [InlineData("{\"zone\":\"\\ud800\"}", 9)]
    [InlineData("{\"zone\":\"ab\\ud800x\"}", 11)]
    [InlineData("{\"zone\":\"\\ud800\\u0041\"}", 9)]
    [InlineData("{\"zone\":\"\\ude00\\ud83d\"}", 9)] // the wrong order is two lone halves
    [InlineData("{\"\\ud800actions\":[]}", 2)]
    [InlineData("[\"ok\",\"\\uDBFF\"]", 7)]
    public void A_lone_surrogate_escape_in_a_string_or_a_member_name_is_refused_where_it_is(string json, long offset)
    {
        var violation = Check(json);
        Assert.NotNull(violation);
        Assert.Equal((JsonViolationKind.InvalidEscape, "invalid_escape", offset, 1L, offset + 1),
            (violation.Value.Kind, violation.Value.Code, violation.Value.Offset, violation.Value.Line, violation.Value.ByteInLine));
        Assert.Contains("lone UTF-16 surrogate", violation.Value.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"kind\":\"operator\",\"role\":\"viewer\",\"role\":\"admin\"}", "role")]
    [InlineData("{\"enabled\":true,\"enabled\":false}", "enabled")]
    [InlineData("{\"a\":1,\"\\u0061\":2}", "a")] // equal once unescaped
    [InlineData("{\"plan\":{\"steps\":[],\"steps\":[]}}", "steps")]
    [InlineData("[{\"x\":1,\"y\":2,\"x\":3}]", "x")]
    public void A_member_twice_in_one_object_is_refused_naming_it(string json, string member)
    {
        var violation = Check(json);
        Assert.Equal(JsonViolationKind.DuplicateMember, violation?.Kind);
        Assert.Contains($"\"{member}\" twice", violation!.Value.Detail, StringComparison.Ordinal);
        // The reader that reports duplicates itself (the action batch parser) is not refused them.
        Assert.Null(Check(json, duplicates: false));
    }

    [Fact]
    public void Duplicates_are_found_in_objects_with_many_members_too()
    {
        string json = "{" + string.Join(",", Enumerable.Range(0, 5000).Select(i => $"\"m{i}\":{i}")) + ",\"m4321\":0}";
        Assert.Equal(JsonViolationKind.DuplicateMember, Check(json)?.Kind);
    }

    [Fact]
    public void Nesting_up_to_the_limit_passes_and_one_level_more_is_refused_at_the_opening_bracket()
    {
        Assert.Null(Check(new string('[', 64) + new string(']', 64)));
        var violation = Check(new string('[', 65) + new string(']', 65));
        Assert.Equal((JsonViolationKind.TooDeep, 64L), (violation?.Kind, violation?.Offset));
        Assert.Contains("deeper than 64 levels", violation!.Value.Detail, StringComparison.Ordinal);
        Assert.Equal(JsonViolationKind.TooDeep, Check("{\"a\":{\"b\":[1]}}", maxDepth: 2)?.Kind);
        // Far deeper than the reader's own default (64) still reports depth, not a syntax error.
        Assert.Equal(JsonViolationKind.TooDeep, Check(new string('[', 100_000))?.Kind);
    }

    [Theory]
    [InlineData("{\"a\":1} {}", JsonViolationKind.TrailingData)]
    [InlineData("{\"a\":1}x", JsonViolationKind.TrailingData)]
    [InlineData("1 2", JsonViolationKind.TrailingData)]
    [InlineData("{\"a\":1,}", JsonViolationKind.Syntax)]
    [InlineData("[1,]", JsonViolationKind.Syntax)]
    [InlineData("{\"a\":1 /* c */}", JsonViolationKind.Syntax)]
    [InlineData("// c\n{}", JsonViolationKind.Syntax)]
    [InlineData("{\"a\":", JsonViolationKind.Syntax)]
    [InlineData("{'a':1}", JsonViolationKind.Syntax)]
    [InlineData("{\"a\":NaN}", JsonViolationKind.Syntax)]
    [InlineData("{\"a\":\"\u0001\"}", JsonViolationKind.Syntax)] // a raw control character in a string
    [InlineData("   ", JsonViolationKind.Syntax)]
    public void Trailing_data_comments_trailing_commas_and_broken_tokens_are_refused(string json, JsonViolationKind kind)
    {
        var violation = Check(json);
        Assert.Equal(kind, violation?.Kind);
        Assert.True(violation!.Value.IsSyntax);
    }

    [Fact]
    public void A_syntax_error_names_its_line_and_byte()
    {
        var violation = Check("{\n  \"a\": 1,\n  \"b\": ]\n}");
        Assert.Equal((3L, 8L), (violation?.Line, violation?.ByteInLine));
        Assert.Equal("The body is not well-formed JSON (line 3, byte 8).", violation!.Value.Detail);
    }

    [Theory]
    [InlineData(new byte[] { (byte)'"', 0xC3, 0x28, (byte)'"' }, 1)] // a broken two-byte sequence inside a string
    [InlineData(new byte[] { (byte)'{', (byte)'"', 0xFF, (byte)'"', (byte)':', (byte)'1', (byte)'}' }, 2)] // in a member name
    [InlineData(new byte[] { (byte)'"', 0xC0, 0x80, (byte)'"' }, 1)] // an overlong NUL
    [InlineData(new byte[] { (byte)'"', 0xED, 0xA0, 0x80, (byte)'"' }, 1)] // an encoded surrogate (CESU-8)
    [InlineData(new byte[] { (byte)'"', (byte)'a', 0xE2, 0x82 }, 2)] // cut inside a character
    public void Bytes_that_are_not_utf8_are_refused_even_inside_strings(byte[] json, long offset)
    {
        var violation = StrictJson.Validate(json);
        Assert.Equal((JsonViolationKind.InvalidUtf8, offset), (violation?.Kind, violation?.Offset));
    }

    [Fact]
    public void Seeded_random_bytes_never_throw_and_every_refusal_points_inside_the_body()
    {
        int seed = 20261122;
        var random = new Random(seed);
        string[] pieces = ["{", "}", "[", "]", ",", ":", "\"a\"", "\"\\ud800\"", "\"\\u0061\"", "1", "-0.5e3", "true", "null", " ", "\"x", "\\", "\xff", "\u00e9"];
        for (int i = 0; i < 20_000; i++)
        {
            var builder = new StringBuilder();
            for (int n = random.Next(0, 20); n > 0; n--)
            {
                builder.Append(pieces[random.Next(pieces.Length)]);
            }
            byte[] bytes = Encoding.UTF8.GetBytes(builder.ToString());
            if (random.Next(4) == 0 && bytes.Length > 0)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }
            var violation = StrictJson.Validate(bytes, maxDepth: 4);
            Assert.True(violation is null || (violation.Value.Offset >= 0 && violation.Value.Offset <= bytes.Length && violation.Value.Line >= 1),
                $"seed {seed}, case {i}: {Convert.ToHexString(bytes)} → {violation}");
        }
    }
}
