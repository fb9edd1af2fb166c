using System.Text;
using Showrunner.Core.Actions;

namespace Showrunner.Core.Tests;

[Trait("Category", "Unit")]
public sealed class ActionBatchParserTests
{
    private static readonly long Now = new DateTime(2026, 11, 22, 12, 0, 0, DateTimeKind.Utc).Ticks;
    private static readonly ActionLimits Limits = new();

    private static ParsedBatch Parse(string json, ActionLimits? limits = null) =>
        ActionBatchParser.Parse(Encoding.UTF8.GetBytes(json), limits ?? Limits, Now);

    private static string Action(string fields) => "{\"actions\":[" + fields + "]}";

    private const string Valid = "{\"id\":\"a-1\",\"player\":\"p-1\",\"type\":\"combat.kill\",\"at\":\"2026-11-22T11:59:00Z\",\"data\":{\"target\":\"dragon\"}}";

    private static ActionRejection RejectionOf(string actionJson)
    {
        var batch = Parse(Action(actionJson));
        Assert.Null(batch.ErrorCode);
        var item = Assert.Single(batch.Items);
        Assert.Null(item.Action);
        return item.Rejection!;
    }

    [Fact]
    public void Valid_action_is_parsed_into_canonical_fields()
    {
        var batch = Parse(Action(Valid));
        Assert.Null(batch.ErrorCode);
        var action = Assert.Single(batch.Items).Action!;
        Assert.Equal("a-1", action.Id);
        Assert.Equal("p-1", action.Player);
        Assert.Equal("combat.kill", action.Type);
        Assert.Equal(new DateTime(2026, 11, 22, 11, 59, 0, DateTimeKind.Utc).Ticks, action.AtTicks);
        Assert.Equal("{\"target\":\"dragon\"}", Encoding.UTF8.GetString(action.Data));
    }

    [Fact]
    public void Data_whitespace_is_removed_but_strings_and_key_order_are_kept()
    {
        var batch = Parse(Action("{\"id\":\"a\",\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\",\"data\":{ \"z\" : [ 1 , 2 ],\n \"a\" : \"x  \\\" y\" , \"u\":\"\\u00e9\" }}"));
        var action = Assert.Single(batch.Items).Action!;
        Assert.Equal("{\"z\":[1,2],\"a\":\"x  \\\" y\",\"u\":\"\\u00e9\"}", Encoding.UTF8.GetString(action.Data));
    }

    [Fact]
    public void Missing_data_defaults_to_an_empty_object_and_unknown_fields_are_ignored()
    {
        var batch = Parse(Action("{\"id\":\"a\",\"player\":\"p\",\"type\":\"login\",\"at\":\"2026-11-22T11:59:00Z\",\"future_field\":{\"x\":[1]},\"v\":2}"));
        var action = Assert.Single(batch.Items).Action!;
        Assert.Equal("{}", Encoding.UTF8.GetString(action.Data));
    }

    [Fact]
    public void Escaped_property_names_are_recognised()
    {
        var batch = Parse(Action("{\"\\u0069d\":\"a\",\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\"}"));
        Assert.Equal("a", Assert.Single(batch.Items).Action!.Id);
    }

    [Theory]
    [InlineData("{\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\"}", "missing_field", "id")]
    [InlineData("{\"id\":\"a\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\"}", "missing_field", "player")]
    [InlineData("{\"id\":\"a\",\"player\":\"p\",\"at\":\"2026-11-22T11:59:00Z\"}", "missing_field", "type")]
    [InlineData("{\"id\":\"a\",\"player\":\"p\",\"type\":\"t\"}", "missing_field", "at")]
    [InlineData("{\"id\":\"a\",\"id\":\"b\",\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\"}", "duplicate_field", "id")]
    [InlineData("{\"id\":\"a\",\"player\":\"p\",\"data\":{},\"data\":{},\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\"}", "duplicate_field", "data")]
    [InlineData("{\"id\":\"\",\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\"}", "invalid_id", "id")]
    [InlineData("{\"id\":\"a b\",\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\"}", "invalid_id", "id")]
    [InlineData("{\"id\":\"é\",\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\"}", "invalid_id", "id")]
    [InlineData("{\"id\":42,\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\"}", "invalid_id", "id")]
    [InlineData("{\"id\":\"a\",\"player\":\"\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\"}", "invalid_player", "player")]
    [InlineData("{\"id\":\"a\",\"player\":\"p\\u0000\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\"}", "invalid_player", "player")]
    [InlineData("{\"id\":\"a\",\"player\":\"\\ud800\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\"}", "invalid_player", "player")]
    [InlineData("{\"id\":\"a\",\"player\":null,\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\"}", "invalid_player", "player")]
    [InlineData("{\"id\":\"a\",\"player\":\"p\",\"type\":\"Combat.Kill\",\"at\":\"2026-11-22T11:59:00Z\"}", "invalid_type", "type")]
    [InlineData("{\"id\":\"a\",\"player\":\"p\",\"type\":\"combat.\",\"at\":\"2026-11-22T11:59:00Z\"}", "invalid_type", "type")]
    [InlineData("{\"id\":\"a\",\"player\":\"p\",\"type\":\"combat..kill\",\"at\":\"2026-11-22T11:59:00Z\"}", "invalid_type", "type")]
    [InlineData("{\"id\":\"a\",\"player\":\"p\",\"type\":\"1combat\",\"at\":\"2026-11-22T11:59:00Z\"}", "invalid_type", "type")]
    [InlineData("{\"id\":\"a\",\"player\":\"p\",\"type\":[],\"at\":\"2026-11-22T11:59:00Z\"}", "invalid_type", "type")]
    [InlineData("{\"id\":\"a\",\"player\":\"p\",\"type\":\"t\",\"at\":\"yesterday\"}", "invalid_at", "at")]
    [InlineData("{\"id\":\"a\",\"player\":\"p\",\"type\":\"t\",\"at\":1732276800}", "invalid_at", "at")]
    [InlineData("{\"id\":\"a\",\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-22T13:59:00+02:00\"}", "invalid_at", "at")]
    [InlineData("{\"id\":\"a\",\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-22T12:05:01Z\"}", "at_in_future", "at")]
    [InlineData("{\"id\":\"a\",\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-15T11:59:59Z\"}", "at_too_old", "at")]
    [InlineData("{\"id\":\"a\",\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\",\"data\":[1]}", "invalid_data", "data")]
    [InlineData("{\"id\":\"a\",\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\",\"data\":null}", "invalid_data", "data")]
    [InlineData("{\"id\":\"a\",\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\",\"data\":\"{}\"}", "invalid_data", "data")]
    public void Each_cause_has_its_own_code_and_names_the_field(string actionJson, string code, string field)
    {
        var rejection = RejectionOf(actionJson);
        Assert.Equal(code, rejection.Code);
        Assert.Equal(field, rejection.Field);
        Assert.False(string.IsNullOrWhiteSpace(rejection.Message));
        Assert.Contains(code, RejectionCodes.All);
    }

    [Fact]
    public void The_skew_limits_are_inclusive()
    {
        Assert.NotNull(Assert.Single(Parse(Action("{\"id\":\"a\",\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-22T12:05:00Z\"}")).Items).Action);
        Assert.NotNull(Assert.Single(Parse(Action("{\"id\":\"a\",\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-15T12:00:00Z\"}")).Items).Action);
    }

    [Fact]
    public void The_id_is_reported_with_a_rejection_so_the_sender_can_match_it()
    {
        var batch = Parse(Action("{\"id\":\"mine\",\"player\":\"p\",\"type\":\"BAD\",\"at\":\"2026-11-22T11:59:00Z\"}"));
        Assert.Equal("mine", Assert.Single(batch.Items).Id);
    }

    [Fact]
    public void Checks_run_in_a_fixed_order_whatever_the_field_order()
    {
        // Both type and at are wrong: the type is reported, in either order.
        var a = RejectionOf("{\"at\":\"x\",\"type\":\"X\",\"player\":\"p\",\"id\":\"a\"}");
        var b = RejectionOf("{\"id\":\"a\",\"player\":\"p\",\"type\":\"X\",\"at\":\"x\"}");
        Assert.Equal(RejectionCodes.InvalidType, a.Code);
        Assert.Equal(a, b);
    }

    [Fact]
    public void A_non_object_element_is_rejected_alone()
    {
        var batch = Parse("{\"actions\":[5, " + Valid + ", \"x\", null, []]}");
        Assert.Null(batch.ErrorCode);
        Assert.Equal(5, batch.Items.Length);
        Assert.NotNull(batch.Items[1].Action);
        foreach (int i in new[] { 0, 2, 3, 4 })
        {
            Assert.Equal(RejectionCodes.InvalidAction, batch.Items[i].Rejection!.Code);
            Assert.Null(batch.Items[i].Id);
        }
    }

    [Fact]
    public void Data_larger_than_the_limit_after_compaction_is_rejected()
    {
        var limits = new ActionLimits { MaxDataBytes = 20 };
        string padded = "{\"k\":          \"0123456789\"}"; // 18 bytes compact, 28 with spaces
        string big = "{\"k\":\"012345678901234567\"}";     // 26 bytes
        Assert.NotNull(Assert.Single(Parse(Action($"{{\"id\":\"a\",\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\",\"data\":{padded}}}"), limits).Items).Action);
        var rejection = Assert.Single(Parse(Action($"{{\"id\":\"a\",\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\",\"data\":{big}}}"), limits).Items).Rejection!;
        Assert.Equal(RejectionCodes.DataTooLarge, rejection.Code);
    }

    [Fact]
    public void Data_deeper_than_the_limit_is_rejected()
    {
        string deep = string.Concat(Enumerable.Repeat("{\"a\":", 17)) + "1" + new string('}', 17);
        var rejection = Assert.Single(Parse(Action($"{{\"id\":\"a\",\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\",\"data\":{deep}}}")).Items).Rejection!;
        Assert.Equal(RejectionCodes.DataTooDeep, rejection.Code);
        string ok = string.Concat(Enumerable.Repeat("{\"a\":", 16)) + "1" + new string('}', 16);
        Assert.NotNull(Assert.Single(Parse(Action($"{{\"id\":\"a\",\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\",\"data\":{ok}}}")).Items).Action);
    }

    [Fact]
    public void Id_and_player_length_limits_hold_at_the_boundary()
    {
        string id128 = new('i', 128), id129 = new('i', 129);
        Assert.NotNull(Assert.Single(Parse(Action($"{{\"id\":\"{id128}\",\"player\":\"{new string('p', 128)}\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\"}}")).Items).Action);
        Assert.Equal(RejectionCodes.InvalidId, RejectionOf($"{{\"id\":\"{id129}\",\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\"}}").Code);
        Assert.Equal(RejectionCodes.InvalidPlayer, RejectionOf($"{{\"id\":\"a\",\"player\":\"{new string('p', 129)}\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00Z\"}}").Code);
        Assert.Equal(RejectionCodes.InvalidType, RejectionOf($"{{\"id\":\"a\",\"player\":\"p\",\"type\":\"{new string('t', 65)}\",\"at\":\"2026-11-22T11:59:00Z\"}}").Code);
    }

    [Theory]
    [InlineData("", "malformed_json")]
    [InlineData("   ", "malformed_json")]
    [InlineData("{\"actions\":[", "malformed_json")]
    [InlineData("{\"actions\":[]} {}", "malformed_json")]
    [InlineData("{\"actions\":[],}", "malformed_json")]
    [InlineData("{\"actions\":[] /* c */}", "malformed_json")]
    [InlineData("[]", "invalid_body")]
    [InlineData("\"actions\"", "invalid_body")]
    [InlineData("{}", "invalid_body")]
    [InlineData("{\"actions\":{}}", "invalid_body")]
    [InlineData("{\"actions\":null}", "invalid_body")]
    [InlineData("{\"actions\":[],\"actions\":[]}", "invalid_body")]
    [InlineData("{\"actions\":[]}", "empty_batch")]
    public void A_body_of_the_wrong_shape_is_refused_whole(string body, string code)
    {
        var batch = Parse(body);
        Assert.Equal(code, batch.ErrorCode);
        Assert.Empty(batch.Items);
        Assert.False(string.IsNullOrWhiteSpace(batch.ErrorMessage));
    }

    [Fact]
    public void A_member_name_with_a_lone_surrogate_escape_is_nobody_s_name_and_never_throws()
    {
        // It threw InvalidOperationException from ValueTextEquals (a 500 over HTTP, issue 12).
        Assert.Equal(BatchErrorCodes.InvalidBody, Parse("{\"\\ud800actions\":[]}").ErrorCode);
        var item = Assert.Single(Parse(Action("{\"\\udc00id\":\"x\",\"id\":\"a-1\",\"player\":\"p-1\",\"type\":\"combat.kill\",\"at\":\"2026-11-22T11:59:00Z\"}")).Items);
        Assert.Equal("a-1", item.Action?.Id);
    }

    [Fact]
    public void Malformed_json_after_valid_actions_refuses_the_whole_batch()
    {
        var batch = Parse("{\"actions\":[" + Valid + "," + Valid + ",]}");
        Assert.Equal(BatchErrorCodes.MalformedJson, batch.ErrorCode);
    }

    [Fact]
    public void More_actions_than_the_limit_refuses_the_batch()
    {
        var limits = new ActionLimits { MaxActionsPerBatch = 3 };
        Assert.Null(Parse("{\"actions\":[" + string.Join(",", Enumerable.Repeat(Valid, 3)) + "]}", limits).ErrorCode);
        Assert.Equal(BatchErrorCodes.TooManyActions, Parse("{\"actions\":[" + string.Join(",", Enumerable.Repeat(Valid, 4)) + "]}", limits).ErrorCode);
    }

    [Fact]
    public void Other_top_level_properties_are_ignored()
    {
        var batch = Parse("{\"v\":1,\"meta\":{\"x\":[1,2]},\"actions\":[" + Valid + "],\"trailer\":true}");
        Assert.Null(batch.ErrorCode);
        Assert.Single(batch.Items);
    }

    [Fact]
    public void Same_content_compares_canonical_forms()
    {
        var a = Assert.Single(Parse(Action("{\"id\":\"a\",\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00.100Z\",\"data\":{ \"x\": 1 }}")).Items).Action!;
        var b = Assert.Single(Parse(Action("{\"data\":{\"x\":1},\"at\":\"2026-11-22T11:59:00.1+00:00\",\"type\":\"t\",\"player\":\"p\",\"id\":\"a\"}")).Items).Action!;
        var c = Assert.Single(Parse(Action("{\"id\":\"a\",\"player\":\"p\",\"type\":\"t\",\"at\":\"2026-11-22T11:59:00.1Z\",\"data\":{\"x\":2}}")).Items).Action!;
        Assert.True(a.SameContentAs(b));
        Assert.False(a.SameContentAs(c));
    }
}
