using System.Text;
using Showrunner.Core.Actions;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Evaluation;
using Showrunner.Core.Rules.Model;
using Showrunner.Core.Rules.Releases;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Testing;

namespace Showrunner.Core.Tests.Rules;

[Trait("Category", "Unit")]
public sealed class LoadedReleaseTests
{
    private static readonly string Schemas = ReleaseFixtures.Source("shop-and-profile-schemas");

    private static LoadedRelease Load(string source)
    {
        var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("release.hcl", source)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        return LoadedRelease.From(bundle);
    }

    private static (bool Ok, object?[] Slots, ActionRejection? Rejection) Decode(string type, string json)
    {
        var decoder = Load(Schemas).DecoderFor(type)!;
        var values = new RecordValues(decoder.Layout);
        bool ok = decoder.TryDecode(Encoding.UTF8.GetBytes(json), values, out var rejection);
        return (ok, values.ToBoxed(), rejection);
    }

    [Fact]
    public void A_valid_action_decodes_into_typed_slots_with_defaults_and_unknown_fields_ignored()
    {
        var (ok, slots, rejection) = Decode("shop.buy", """{"price":120,"future":{"x":[1,2]},"item":"sword","gift":true}""");
        Assert.True(ok, rejection?.Message);
        Assert.Equal(["sword", 120L, 0.5m, true], slots);
        // The decoded values are the evaluator's: the plan of the type reads them as they are.
        var release = Load(Schemas);
        Assert.Same(release.Evaluator.FindAction("shop.buy")!.Layout, release.DecoderFor("shop.buy")!.Layout);
        Assert.Same(release.Evaluator.PlayerLayout, release.PlayerDecoder.Layout);
    }

    [Theory]
    [InlineData("""{"item":"sword"}""", RejectionCodes.MissingField, "data.price")]
    [InlineData("""{"item":"sword","price":null}""", RejectionCodes.MissingField, "data.price")]
    [InlineData("""{"item":7,"price":1}""", RejectionCodes.InvalidFieldType, "data.item")]
    [InlineData("""{"item":"s","price":"1"}""", RejectionCodes.InvalidFieldType, "data.price")]
    [InlineData("""{"item":"s","price":1.5}""", RejectionCodes.InvalidFieldType, "data.price")]
    [InlineData("""{"item":"s","price":9223372036854775808}""", RejectionCodes.InvalidFieldType, "data.price")]
    [InlineData("""{"item":"s","price":1,"discount":"0.1"}""", RejectionCodes.InvalidFieldType, "data.discount")]
    [InlineData("""{"item":"s","price":1,"discount":1e40}""", RejectionCodes.InvalidFieldType, "data.discount")]
    [InlineData("""{"item":"s","price":1,"gift":1}""", RejectionCodes.InvalidFieldType, "data.gift")]
    [InlineData("""{"item":"s","price":1,"price":2}""", RejectionCodes.DuplicateField, "data.price")]
    [InlineData("""{}""", RejectionCodes.MissingField, "data.item")]
    // Invalid UTF-16 escapes (lone surrogates) are a wrong string, never an exception (issue 12: one used to kill an executor).
    [InlineData("""{"item":"\udc00","price":1}""", RejectionCodes.InvalidFieldType, "data.item")]
    [InlineData("""{"item":"a\ud800b","price":1}""", RejectionCodes.InvalidFieldType, "data.item")]
    [InlineData("""{"item":"\ud800\ud800","price":1}""", RejectionCodes.InvalidFieldType, "data.item")]
    public void A_bad_action_is_rejected_with_a_code_and_the_first_field_in_schema_order(string json, string code, string field)
    {
        var (ok, _, rejection) = Decode("shop.buy", json);
        Assert.False(ok);
        Assert.Equal(code, rejection!.Code);
        Assert.Equal(field, rejection.Field);
    }

    [Fact]
    public void An_escaped_surrogate_pair_is_valid_text()
    {
        var (ok, slots, rejection) = Decode("shop.buy", """{"item":"\ud83d\udc09 dragon","price":1}""");
        Assert.True(ok, rejection?.Message);
        Assert.Equal("\U0001F409 dragon", slots[0]);
    }

    [Fact]
    public void Decimals_and_whole_numbers_keep_their_exact_values()
    {
        var (ok, slots, _) = Decode("shop.buy", """{"item":"s","price":-9223372036854775808,"discount":0.1000000000000000000000000001}""");
        Assert.True(ok);
        Assert.Equal(long.MinValue, slots[1]);
        Assert.Equal(0.1000000000000000000000000001m, slots[2]);
        (ok, slots, _) = Decode("shop.buy", """{"item":"s","price":1,"discount":3}""");
        Assert.True(ok);
        Assert.Equal(3m, slots[2]);
    }

    [Fact]
    public void Undeclared_types_have_no_decoder_and_player_profile_always_has_one()
    {
        var release = Load(Schemas);
        Assert.Null(release.DecoderFor("chat.message"));
        Assert.Same(release.PlayerDecoder, release.DecoderFor(ReleaseChecker.PlayerProfileAction));
        var builtIn = Load("release \"r\" {}");
        Assert.NotNull(builtIn.DecoderFor(ReleaseChecker.PlayerProfileAction));
        Assert.False(builtIn.PlayerDecoder.TryDecode("""{"level":"ten"}"""u8, new RecordValues(builtIn.PlayerDecoder.Layout), out var rejection));
        Assert.Equal("data.level", rejection!.Field);
    }

    [Fact]
    public void Lenient_decoding_of_a_stored_profile_replaces_wrong_types_by_defaults()
    {
        var release = Load(Schemas);
        var values = release.PlayerDecoder.DecodeLenient("""{"level":"ten","region":"eu","vip":true}"""u8);
        var layout = release.PlayerDecoder.Layout;
        Assert.Equal(0L, values.Get(layout.Find("level")!));
        Assert.Equal("eu", values.Get(layout.Find("region")!));
        Assert.Equal(true, values.Get(layout.Find("vip")!));
    }

    [Fact]
    public void Runs_of_one_off_and_recurring_schedules()
    {
        var start = new DateTimeOffset(2026, 1, 5, 16, 0, 0, TimeSpan.Zero);
        var once = new ScheduleDefinition(start, TimeSpan.FromDays(2), null, TimeSpan.FromHours(12));
        Assert.Null(once.RunAt(start.AddTicks(-1)));
        Assert.Equal((0L, start, start.AddDays(2)), once.RunAt(start));
        Assert.Equal((0L, start, start.AddDays(2)), once.RunAt(start.AddDays(2).AddTicks(-1)));
        Assert.Null(once.RunAt(start.AddDays(2)));
        var weekly = once with { Every = TimeSpan.FromDays(7) };
        Assert.Equal((3L, start.AddDays(21), start.AddDays(23)), weekly.RunAt(start.AddDays(22)));
        Assert.Null(weekly.RunAt(start.AddDays(24)));
    }

    private static readonly string Casino = ReleaseFixtures.Source("casino-configs-and-overrides");

    private static RecordValues Player(LoadedRelease release, string json) => release.PlayerDecoder.DecodeLenient(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Config_is_the_declared_values_outside_every_event()
    {
        var release = Load(Casino);
        var resolved = release.ResolveConfig(new DateTimeOffset(2026, 7, 1, 0, 0, 0, TimeSpan.Zero), Player(release, """{"level":50,"vip":true}"""));
        Assert.Empty(resolved.Overrides);
        Assert.Equal(["bonus", "jackpot", "max_stake", "theme"], resolved.Configs["casino"].Keys);
        Assert.Equal(1.0m, resolved.Configs["casino"]["bonus"].Value);
        Assert.Equal(false, resolved.Configs["shop"]["sale"].Value);
    }

    [Fact]
    public void A_running_event_overrides_config_only_for_players_in_its_audience()
    {
        var release = Load(Casino);
        var at = new DateTimeOffset(2026, 8, 8, 17, 0, 0, TimeSpan.Zero);
        var member = release.ResolveConfig(at, Player(release, """{"level":20}"""));
        Assert.Equal(1.5m, member.Configs["casino"]["bonus"].Value);
        Assert.Equal(true, member.Configs["casino"]["jackpot"].Value);
        Assert.Equal(5000L, member.Configs["casino"]["max_stake"].Value);
        var applied = Assert.Single(member.Overrides);
        Assert.Equal(("weekend", 0L, "casino"), (applied.Event, applied.Run, applied.Config));
        Assert.Equal(["bonus", "jackpot"], applied.Keys);
        Assert.Equal(new DateTimeOffset(2026, 8, 10, 16, 0, 0, TimeSpan.Zero), applied.Until);

        var outsider = release.ResolveConfig(at, Player(release, """{"level":19}"""));
        Assert.Equal(1.0m, outsider.Configs["casino"]["bonus"].Value);
        Assert.Empty(outsider.Overrides);
        // Without a player, only events without an audience apply.
        Assert.Empty(release.ResolveConfig(at, null).Overrides);
    }

    [Fact]
    public void Overlapping_overrides_apply_in_event_id_order_and_audience_free_events_apply_to_everyone()
    {
        var release = Load(Casino);
        // Saturday 2026-08-08 20:00–24:00 is a VIP night run (index 5) inside the weekend.
        var at = new DateTimeOffset(2026, 8, 8, 21, 0, 0, TimeSpan.Zero);
        var both = release.ResolveConfig(at, Player(release, """{"level":30,"vip":true}"""));
        Assert.Equal(["weekend", "zz_vip_night"], both.Overrides.Select(o => o.Event));
        Assert.Equal(5L, both.Overrides[1].Run);
        Assert.Equal(2.0m, both.Configs["casino"]["bonus"].Value);
        Assert.Equal(true, both.Configs["casino"]["jackpot"].Value);

        var sale = release.ResolveConfig(new DateTimeOffset(2026, 8, 9, 6, 0, 0, TimeSpan.Zero), null);
        Assert.Equal(true, sale.Configs["shop"]["sale"].Value);
        Assert.Equal("global_sale", Assert.Single(sale.Overrides).Event);
    }

    [Fact]
    public void Decoded_actions_and_profiles_feed_the_evaluator_directly()
    {
        string example = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "summer-week-1", "release.hcl"));
        var release = Load(example);
        var evaluator = release.Evaluator;
        var player = release.PlayerDecoder.DecodeLenient("""{"level":12,"region":"eu"}"""u8);
        var results = evaluator.CreateResults();

        var kill = release.DecoderFor("combat.kill")!;
        var action = new RecordValues(kill.Layout);
        Assert.True(kill.TryDecode("""{"zone":"crystal_caves","target":"dragon","loot":[1]}"""u8, action, out _));
        evaluator.Evaluate(evaluator.FindAction("combat.kill")!, action, player, results);
        var outcome = Assert.Single(results.Outcomes.ToArray());
        Assert.Equal(5, outcome.Points);

        var chest = release.DecoderFor("loot.open")!;
        var open = new RecordValues(chest.Layout);
        Assert.True(chest.TryDecode("""{"chest_tier":4}"""u8, open, out _));
        evaluator.Evaluate(evaluator.FindAction("loot.open")!, open, player, results);
        Assert.Equal(8, Assert.Single(results.Outcomes.ToArray()).Points);

        // Outside the audience (region "asia"), nothing counts.
        var outsider = release.PlayerDecoder.DecodeLenient("""{"level":12,"region":"asia"}"""u8);
        evaluator.Evaluate(evaluator.FindAction("combat.kill")!, action, outsider, results);
        Assert.True(results.Outcomes.IsEmpty);
    }

    [Fact]
    public void Random_data_objects_never_throw_and_every_rejection_names_a_declared_field()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("SHOWRUNNER_FUZZ_SEED"), out int s) ? s : 20261122;
        var random = new Random(seed);
        var release = Load(Schemas);
        var decoder = release.DecoderFor("shop.buy")!;
        var values = new RecordValues(decoder.Layout);
        string[] names = ["item", "price", "discount", "gift", "other", "pr\u0069ce"];
        string[] samples = ["1", "-0", "1.5", "1e3", "9223372036854775807", "-9223372036854775809", "79228162514264337593543950336",
            "\"x\"", "\"\"", "true", "false", "null", "[]", "[1,{\"a\":2}]", "{}", "{\"price\":1}"];
        int accepted = 0;
        for (int i = 0; i < 5_000; i++)
        {
            var members = Enumerable.Range(0, random.Next(0, 7)).Select(_ => $"\"{names[random.Next(names.Length)]}\":{samples[random.Next(samples.Length)]}");
            string json = "{" + string.Join(",", members) + "}";
            bool ok = decoder.TryDecode(Encoding.UTF8.GetBytes(json), values, out var rejection);
            if (ok)
            {
                accepted++;
                Assert.Null(rejection);
                continue;
            }
            Assert.Contains(rejection!.Code, new[] { RejectionCodes.MissingField, RejectionCodes.InvalidFieldType, RejectionCodes.DuplicateField });
            Assert.Contains(rejection.Field, new[] { "data.item", "data.price", "data.discount", "data.gift" });
        }
        Assert.InRange(accepted, 1, 4_999);
    }
}
