using System.Globalization;
using System.Text;
using Showrunner.Core.Rules.Binding;
using Showrunner.Core.Rules.Evaluation;
using Showrunner.Core.Rules.Model;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Testing;
using Xunit.Abstractions;

namespace Showrunner.Core.Tests.Rules;

/// <summary>
/// The compiled release evaluator: it must give exactly what evaluating each audience, condition
/// and amount on its own with <see cref="ExpressionCompiler"/> gives (the oracle), report overflow
/// and division by zero per objective instead of throwing, order its results stably, and keep its
/// audience cache honest. Seeded tests print their seed; replay one with SHOWRUNNER_EVALUATION_SEED.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ReleaseEvaluatorTests(ITestOutputHelper output)
{
    private const string Schedule = """
          schedule {
            start    = "2025-07-24T16:00:00Z"
            duration = "7d"
          }
        """;

    private static ReleaseDefinition Check(string text)
    {
        var (release, diagnostics) = ReleaseChecker.Check([new SourceText("release.hcl", text)]);
        Assert.True(diagnostics.Count == 0, string.Join("\n", diagnostics.Select(d => d.Format())) + "\n" + text);
        return release!;
    }

    private static RecordValues Values(RecordLayout layout, params (string Field, object Value)[] values)
    {
        var record = layout.CreateValues();
        foreach (var (field, value) in values)
        {
            record.Set(layout.Find(field) ?? throw new ArgumentException($"No field {field}."), value);
        }
        return record;
    }

    private static List<ObjectiveOutcome> Evaluate(ReleaseEvaluator evaluator, string type, RecordValues action, RecordValues player)
    {
        var results = evaluator.CreateResults();
        evaluator.Evaluate(evaluator.FindAction(type)!, action, player, results);
        return results.Outcomes.ToArray().ToList();
    }

    private int Seed()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("SHOWRUNNER_EVALUATION_SEED"), out int s) ? s : 20250724;
        output.WriteLine($"seed={seed} (replay with SHOWRUNNER_EVALUATION_SEED={seed})");
        return seed;
    }

    [Theory]
    [InlineData("summer-week-1")]
    [InlineData("weekly-tournament")]
    [InlineData("daily-quest")]
    [InlineData("casino-weekend")]
    [InlineData("community-goal")]
    public void The_example_releases_evaluate_as_their_expressions_do_one_by_one(string directory)
    {
        var release = Check(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", directory, "release.hcl")));
        var random = new Random(Seed());
        var oracle = new Oracle(release);
        int matched = Agree(release, oracle, random, actionsPerType: 2_000);
        // The random values come from the release's own literals, so objectives do match.
        Assert.True(matched > 0, $"{directory}: no objective matched in 2,000 actions per type");
    }

    [Fact]
    [Trait("Category", "Fuzz")]
    public void Random_releases_evaluate_as_their_expressions_do_one_by_one()
    {
        int seed = Seed();
        int matched = 0, failed = 0, audienceFailures = 0, multiChunk = 0;
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        for (int iteration = 0; iteration < 10; iteration++)
        {
            var random = new Random(seed + iteration);
            // The first release is large enough to need several compiled chunks per action type.
            string text = RandomRelease.Generate(random, events: iteration == 0 ? 60 : random.Next(1, 61));
            var release = Check(text);
            var oracle = new Oracle(release);
            var evaluator = ReleaseEvaluator.Build(release);
            multiChunk += release.Actions.Count(a => evaluator.FindAction(a.Type)!.Chunks.Length > 1);
            var counts = new AgreementCounts();
            Agree(release, oracle, random, actionsPerType: 100, counts, $"seed={seed} iteration={iteration}");
            matched += counts.Matched;
            failed += counts.Failed;
            audienceFailures += counts.AudienceFailures;
        }
        output.WriteLine($"matched={matched} failed={failed} audienceFailures={audienceFailures} multiChunkPlans={multiChunk} in {stopwatch.ElapsedMilliseconds} ms");
        // The generator must reach every path, or agreeing proves little.
        Assert.True(matched > 1_000 && failed > 100 && audienceFailures > 10 && multiChunk > 0,
            $"matched={matched} failed={failed} audienceFailures={audienceFailures} multiChunkPlans={multiChunk}");
    }

    private sealed class AgreementCounts
    {
        public int Matched;
        public int Failed;
        public int AudienceFailures;
    }

    /// <summary>
    /// Evaluates random actions of every type for random players three ways — without a cache, with
    /// a per-player membership reused across actions, and through a small <see cref="AudienceCache"/>
    /// that evicts — and compares each with the oracle. Returns the number of matched objectives.
    /// </summary>
    private static int Agree(ReleaseDefinition release, Oracle oracle, Random random, int actionsPerType, AgreementCounts? counts = null, string context = "")
    {
        counts ??= new AgreementCounts();
        var evaluator = ReleaseEvaluator.Build(release);
        var values = new RandomValues(release, random);
        var results = evaluator.CreateResults();
        var cache = new AudienceCache(evaluator, capacity: 3);
        var players = Enumerable.Range(0, 5).Select(_ => values.Fill(evaluator.PlayerLayout.CreateValues())).ToArray();
        var memberships = players.Select(p =>
        {
            var membership = evaluator.CreateMembership();
            membership.Reset(p);
            return membership;
        }).ToArray();
        foreach (var action in release.Actions)
        {
            var plan = evaluator.FindAction(action.Type)!;
            for (int i = 0; i < actionsPerType; i++)
            {
                var actionValues = values.Fill(plan.Layout.CreateValues());
                int p = random.Next(players.Length);
                var (expected, expectedAudienceFailures) = oracle.Evaluate(action.Type, actionValues, players[p]);
                string where = $"{context} action {action.Type} #{i}: {Describe(actionValues)} player {Describe(players[p])}";

                evaluator.Evaluate(plan, actionValues, players[p], results);
                Same(expected, expectedAudienceFailures, results, where + " (no cache)");
                evaluator.Evaluate(plan, actionValues, memberships[p], results);
                Same(expected, expectedAudienceFailures, results, where + " (membership kept)");
                evaluator.Evaluate(plan, actionValues, cache.Get($"player-{p}", 1, players[p]), results);
                Same(expected, expectedAudienceFailures, results, where + " (cache)");

                counts.Matched += expected.Count(o => !o.Failed);
                counts.Failed += expected.Count(o => o.Failed);
                counts.AudienceFailures += expectedAudienceFailures.Count;
            }
        }
        return counts.Matched;
    }

    private static void Same(List<(int Event, int Objective, long Points, bool Failed)> expected, List<int> expectedAudienceFailures, EvaluationResults results, string where)
    {
        var actual = results.Outcomes.ToArray().Select(o => (o.Event, o.Objective, o.Points, o.Failed)).ToList();
        Assert.True(expected.SequenceEqual(actual), $"{where}\nexpected {string.Join(" ", expected)}\nactual   {string.Join(" ", actual)}");
        var actualAudiences = results.AudienceFailures.ToArray().Select(a => a.Event).ToList();
        Assert.True(expectedAudienceFailures.SequenceEqual(actualAudiences), $"{where}\naudience failures expected {string.Join(" ", expectedAudienceFailures)} actual {string.Join(" ", actualAudiences)}");
    }

    private static string Describe(RecordValues values) =>
        "{" + string.Join(", ", values.Layout.Fields.Select(f => $"{f.Name}={Format(values.Get(f))}")) + "}";

    private static string Format(object value) => value switch
    {
        string s => $"\"{s}\"",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString()!,
    };

    /// <summary>
    /// The reference semantics: each audience, when and points compiled alone by
    /// <see cref="ExpressionCompiler"/> over boxed slots and evaluated in release order.
    /// </summary>
    private sealed class Oracle
    {
        private readonly ReleaseDefinition _release;
        private readonly CompiledExpression<bool>?[] _audiences;
        private readonly (CompiledExpression<bool>? When, CompiledExpression<long> Points)[][] _objectives;

        public Oracle(ReleaseDefinition release)
        {
            _release = release;
            _audiences = release.Events.Select(e => e.Audience is null ? null : ExpressionCompiler.Compile<bool>(e.Audience, "audience")).ToArray();
            _objectives = release.Events.Select(e => e.Objectives.Select(o =>
                (o.When is null ? null : ExpressionCompiler.Compile<bool>(o.When, "when"), ExpressionCompiler.Compile<long>(o.Points, "points"))).ToArray()).ToArray();
        }

        public (List<(int Event, int Objective, long Points, bool Failed)> Outcomes, List<int> AudienceFailures) Evaluate(string type, RecordValues action, RecordValues player)
        {
            var input = new EvaluationInput(action.ToBoxed(), player.ToBoxed());
            var outcomes = new List<(int, int, long, bool)>();
            var audienceFailures = new List<int>();
            for (int e = 0; e < _release.Events.Count; e++)
            {
                if (!_release.Events[e].Objectives.Any(o => o.On == type))
                {
                    continue;
                }
                if (_audiences[e] is { } audience)
                {
                    if (!audience.TryEvaluate(input, out bool member))
                    {
                        audienceFailures.Add(e);
                        continue;
                    }
                    if (!member)
                    {
                        continue;
                    }
                }
                for (int o = 0; o < _objectives[e].Length; o++)
                {
                    if (_release.Events[e].Objectives[o].On != type)
                    {
                        continue;
                    }
                    var (when, points) = _objectives[e][o];
                    bool matches = true;
                    if (when is not null && !when.TryEvaluate(input, out matches))
                    {
                        outcomes.Add((e, o, 0, true));
                        continue;
                    }
                    if (!matches)
                    {
                        continue;
                    }
                    outcomes.Add(points.TryEvaluate(input, out long amount) ? (e, o, amount, false) : (e, o, 0, true));
                }
            }
            return (outcomes, audienceFailures);
        }
    }

    /// <summary>
    /// Field values drawn from edge cases and from the literals the release's expressions compare
    /// with (so conditions are true often enough), plus their neighbours.
    /// </summary>
    private sealed class RandomValues
    {
        private readonly Random _random;
        private readonly List<long> _ints = [0, 1, -1, 2, 3, 10, 100, 2000, long.MaxValue, long.MinValue, long.MaxValue / 2];
        private readonly List<decimal> _decimals = [0m, 1m, -1m, 1.5m, 0.25m, 2.5m, 1_000_000_000_000_000_000_000_000.5m, decimal.MaxValue];
        private readonly List<string> _strings = ["", "a", "b", "dragon", "eu", "na", "zone_1"];

        public RandomValues(ReleaseDefinition release, Random random)
        {
            _random = random;
            foreach (var expression in release.Events.SelectMany(e => e.Objectives.SelectMany(o => new[] { o.When, o.Points }).Append(e.Audience)))
            {
                Collect(expression);
            }
        }

        public RecordValues Fill(RecordValues values)
        {
            foreach (var slot in values.Layout.Fields)
            {
                values.Set(slot, slot.Kind switch
                {
                    ValueKind.Int => _random.Next(4) == 0 ? (long)_random.Next(-50, 5000) : _ints[_random.Next(_ints.Count)],
                    ValueKind.Decimal => _random.Next(4) == 0 ? _random.Next(-500, 500) / 100m : _decimals[_random.Next(_decimals.Count)],
                    ValueKind.String => _strings[_random.Next(_strings.Count)],
                    _ => _random.Next(2) == 0,
                });
            }
            return values;
        }

        private void Collect(BoundExpression? expression)
        {
            switch (expression)
            {
                case BoundLiteral { Value: long value }:
                    _ints.AddRange([value, value - 1, value + 1]);
                    break;
                case BoundLiteral { Value: decimal value }:
                    _decimals.AddRange([value, value - 1, value + 1]);
                    break;
                case BoundLiteral { Value: string value }:
                    _strings.Add(value);
                    break;
                case BoundUnary unary:
                    Collect(unary.Operand);
                    break;
                case BoundWiden widen:
                    Collect(widen.Operand);
                    break;
                case BoundBinary binary:
                    Collect(binary.Left);
                    Collect(binary.Right);
                    break;
                case BoundIn @in:
                    Collect(@in.Value);
                    @in.Items.ToList().ForEach(Collect);
                    break;
                case BoundConditional conditional:
                    Collect(conditional.Condition);
                    Collect(conditional.WhenTrue);
                    Collect(conditional.WhenFalse);
                    break;
                case BoundCall call:
                    call.Arguments.ToList().ForEach(Collect);
                    break;
            }
        }
    }

    /// <summary>
    /// Well-typed random releases: three action types (one of them player.profile), custom player attributes, up to 60 events of up
    /// to 6 objectives, expressions using every operator, built-in and type, with literals and field
    /// values chosen to overflow and divide by zero now and then.
    /// </summary>
    private static class RandomRelease
    {
        private static readonly string[] IntLiterals = ["0", "1", "2", "3", "7", "100", "4611686018427387904", "9223372036854775807"];
        private static readonly string[] DecimalLiterals = ["0.5", "1.5", "2.25", "1000000000000000000000000.5"];
        private static readonly string[] StringLiterals = ["\"\"", "\"a\"", "\"b\"", "\"dragon\"", "\"eu\""];

        public static string Generate(Random random, int events)
        {
            var text = new StringBuilder("""
                release "random" {}
                action "a.one" {
                  i1 = int
                  i2 = int
                  d1 = decimal
                  s1 = string
                  b1 = bool
                  i3 = optional(int, 7)
                }
                action "a.two" {
                  n = int
                  s = string
                }
                action "player.profile" {
                  score = int
                  ratio = decimal
                  guild = bool
                }

                """);
            for (int e = 0; e < events; e++)
            {
                text.Append(CultureInfo.InvariantCulture, $"event \"e{e}\" {{\n{Schedule}\n");
                if (random.Next(3) > 0)
                {
                    text.Append(CultureInfo.InvariantCulture, $"  audience {{\n    when = {Bool(random, 3, null)}\n  }}\n");
                }
                int objectives = random.Next(1, 7);
                for (int o = 0; o < objectives; o++)
                {
                    // player.profile is an action too: its fields are the player attributes.
                    string action = Pick(random, "a.one", "a.one", "a.two", "a.two", "player.profile");
                    text.Append(CultureInfo.InvariantCulture, $"  objective \"o{o}\" {{\n    on = \"{action}\"\n");
                    if (random.Next(4) > 0)
                    {
                        text.Append(CultureInfo.InvariantCulture, $"    when = {Bool(random, 3, action)}\n");
                    }
                    string points = Int(random, 3, action);
                    text.Append(CultureInfo.InvariantCulture, $"    points = {(points.All(char.IsAsciiDigit) ? "1" : points)}\n  }}\n");
                }
                text.Append("}\n");
            }
            return text.ToString();
        }

        private static string Pick(Random random, params string[] choices) => choices[random.Next(choices.Length)];

        private static string IntField(Random random, string? action) => action switch
        {
            "a.one" => Pick(random, "action.i1", "action.i2", "action.i3", "player.level", "player.score"),
            "a.two" => Pick(random, "action.n", "player.level", "player.score"),
            "player.profile" => Pick(random, "action.level", "action.score", "player.level"),
            _ => Pick(random, "player.level", "player.score"),
        };

        private static string DecimalField(Random random, string? action) => action switch
        {
            "a.one" => Pick(random, "action.d1", "player.ratio"),
            "player.profile" => Pick(random, "action.ratio", "player.ratio"),
            _ => "player.ratio",
        };

        private static string StringField(Random random, string? action) => action switch
        {
            "a.one" => Pick(random, "action.s1", "player.region"),
            "a.two" => Pick(random, "action.s", "player.region"),
            "player.profile" => Pick(random, "action.region", "action.language", "player.region"),
            _ => Pick(random, "player.region", "player.country"),
        };

        private static string BoolField(Random random, string? action) => action switch
        {
            "a.one" => Pick(random, "action.b1", "player.guild"),
            "player.profile" => Pick(random, "action.guild", "player.guild"),
            _ => "player.guild",
        };

        private static string Int(Random random, int depth, string? action)
        {
            if (depth == 0 || random.Next(3) == 0)
            {
                return random.Next(2) == 0 ? IntField(random, action) : Pick(random, IntLiterals);
            }
            return random.Next(8) switch
            {
                0 or 1 => $"({Int(random, depth - 1, action)} {Pick(random, "+", "-", "*")} {Int(random, depth - 1, action)})",
                2 => $"({Int(random, depth - 1, action)} {Pick(random, "/", "%")} {Int(random, depth - 1, action)})",
                3 => $"-({Int(random, depth - 1, action)})",
                4 => $"({Bool(random, depth - 1, action)} ? {Int(random, depth - 1, action)} : {Int(random, depth - 1, action)})",
                5 => $"{Pick(random, "min", "max")}({Int(random, depth - 1, action)}, {Int(random, depth - 1, action)}, {Int(random, depth - 1, action)})",
                6 => $"clamp({Int(random, depth - 1, action)}, {Int(random, depth - 1, action)}, {Int(random, depth - 1, action)})",
                _ => IntField(random, action),
            };
        }

        private static string Decimal(Random random, int depth, string? action)
        {
            if (depth == 0 || random.Next(3) == 0)
            {
                return random.Next(2) == 0 ? DecimalField(random, action) : Pick(random, DecimalLiterals);
            }
            return random.Next(5) switch
            {
                0 => $"({Decimal(random, depth - 1, action)} {Pick(random, "+", "-", "*", "/", "%")} {Int(random, depth - 1, action)})",
                1 => $"({Decimal(random, depth - 1, action)} {Pick(random, "+", "-", "*", "/")} {Decimal(random, depth - 1, action)})",
                2 => $"{Pick(random, "min", "max")}({Decimal(random, depth - 1, action)}, {Int(random, depth - 1, action)})",
                3 => $"-({Decimal(random, depth - 1, action)})",
                _ => DecimalField(random, action),
            };
        }

        private static string Bool(Random random, int depth, string? action)
        {
            if (depth == 0)
            {
                return random.Next(3) == 0 ? Pick(random, "true", "false") : BoolField(random, action);
            }
            return random.Next(9) switch
            {
                0 => $"({Bool(random, depth - 1, action)} {Pick(random, "&&", "||")} {Bool(random, depth - 1, action)})",
                1 => $"!({Bool(random, depth - 1, action)})",
                2 or 3 => $"({Int(random, depth - 1, action)} {Pick(random, "<", "<=", ">", ">=", "==", "!=")} {Int(random, depth - 1, action)})",
                4 => $"({Decimal(random, depth - 1, action)} {Pick(random, "<", ">", "==", "!=")} {Int(random, depth - 1, action)})",
                5 => $"({StringField(random, action)} {Pick(random, "==", "!=")} {Pick(random, StringLiterals)})",
                6 => $"({StringField(random, action)} in [{string.Join(", ", StringLiterals.Take(random.Next(1, StringLiterals.Length + 1)))}])",
                7 => $"({Int(random, depth - 1, action)} in [{string.Join(", ", IntLiterals.Take(random.Next(1, 5)))}, 2.5])",
                _ => BoolField(random, action),
            };
        }
    }

    private static readonly string Faulty = ReleaseFixtures.Source("hit-action-without-events");

    [Fact]
    public void Overflow_and_division_by_zero_fail_only_their_objective_and_are_reported_not_thrown()
    {
        var release = Check(Faulty + $$"""
            event "first" {
            {{Schedule}}
              objective "big"    {
                on = "hit"
                points = action.n * 9223372036854775807
              }
              objective "ratio"  {
                on = "hit"
                points = 10 / action.d
              }
              objective "guard"  {
                on = "hit"
                when = 10 % action.d == 0
                points = 1
              }
              objective "steady" {
                on = "hit"
                points = 3
              }
            }
            event "second" {
            {{Schedule}}
              objective "after" {
                on = "hit"
                points = action.n
              }
            }
            """);
        var evaluator = ReleaseEvaluator.Build(release);
        var layout = evaluator.FindAction("hit")!.Layout;
        var player = evaluator.PlayerLayout.CreateValues();

        var outcomes = Evaluate(evaluator, "hit", Values(layout, ("n", 2L), ("d", 0L)), player);
        Assert.Equal(
            [
                new ObjectiveOutcome(0, 0, 0, EvaluationFailure.Overflow),
                new ObjectiveOutcome(0, 1, 0, EvaluationFailure.DivisionByZero),
                new ObjectiveOutcome(0, 2, 0, EvaluationFailure.DivisionByZero),
                new ObjectiveOutcome(0, 3, 3, EvaluationFailure.None),
                new ObjectiveOutcome(1, 0, 2, EvaluationFailure.None),
            ],
            outcomes);

        // The same action gives the same answer every time; with sound inputs everything matches.
        Assert.Equal(outcomes, Evaluate(evaluator, "hit", Values(layout, ("n", 2L), ("d", 0L)), player));
        Assert.Equal(
            [
                new ObjectiveOutcome(0, 0, 9223372036854775807, EvaluationFailure.None),
                new ObjectiveOutcome(0, 1, 2, EvaluationFailure.None),
                new ObjectiveOutcome(0, 2, 1, EvaluationFailure.None),
                new ObjectiveOutcome(0, 3, 3, EvaluationFailure.None),
                new ObjectiveOutcome(1, 0, 1, EvaluationFailure.None),
            ],
            Evaluate(evaluator, "hit", Values(layout, ("n", 1L), ("d", 5L)), player));
    }

    [Fact]
    public void A_failing_audience_keeps_the_player_out_and_is_reported_on_every_action()
    {
        var release = Check(Faulty + $$"""
            event "strict" {
            {{Schedule}}
              audience {
                when = 100 / player.level > 1
              }
              objective "o" {
                on = "hit"
                points = 1
              }
            }
            """);
        var evaluator = ReleaseEvaluator.Build(release);
        var plan = evaluator.FindAction("hit")!;
        var action = Values(plan.Layout, ("n", 1L));
        var levelZero = Values(evaluator.PlayerLayout, ("level", 0L));
        var cache = new AudienceCache(evaluator, capacity: 10);
        var results = evaluator.CreateResults();
        for (int i = 0; i < 2; i++)
        {
            evaluator.Evaluate(plan, action, cache.Get("p", 1, levelZero), results);
            Assert.Empty(results.Outcomes.ToArray());
            Assert.Equal([new AudienceFailure(0, EvaluationFailure.DivisionByZero)], results.AudienceFailures.ToArray());
        }
        evaluator.Evaluate(plan, action, cache.Get("p", 2, Values(evaluator.PlayerLayout, ("level", 10L))), results);
        Assert.Equal([new ObjectiveOutcome(0, 0, 1, EvaluationFailure.None)], results.Outcomes.ToArray());
        Assert.Empty(results.AudienceFailures.ToArray());
    }

    private static readonly string AudienceRelease = ReleaseFixtures.Source("two-audiences-veterans-and-talkers");

    [Fact]
    public void The_audience_cache_is_invalidated_by_a_new_attributes_version_or_explicitly()
    {
        var evaluator = ReleaseEvaluator.Build(Check(AudienceRelease));
        var plan = evaluator.FindAction("hit")!;
        var action = Values(plan.Layout, ("n", 4L));
        var cache = new AudienceCache(evaluator, capacity: 10);
        var results = evaluator.CreateResults();
        var attributes = Values(evaluator.PlayerLayout, ("level", 5L));

        evaluator.Evaluate(plan, action, cache.Get("p", 1, attributes), results);
        Assert.Empty(results.Outcomes.ToArray());

        // The cache trusts the version: attributes changed without a new version are not seen.
        attributes.Set(evaluator.PlayerLayout.Find("level")!, 12L);
        evaluator.Evaluate(plan, action, cache.Get("p", 1, attributes), results);
        Assert.Empty(results.Outcomes.ToArray());

        // A new version is seen.
        evaluator.Evaluate(plan, action, cache.Get("p", 2, attributes), results);
        Assert.Equal([new ObjectiveOutcome(0, 0, 4, EvaluationFailure.None)], results.Outcomes.ToArray());

        // So is an explicit invalidation.
        attributes.Set(evaluator.PlayerLayout.Find("level")!, 1L);
        Assert.True(cache.Invalidate("p"));
        Assert.False(cache.Invalidate("p"));
        evaluator.Evaluate(plan, action, cache.Get("p", 2, attributes), results);
        Assert.Empty(results.Outcomes.ToArray());
        Assert.Equal((1L, 3L), (cache.Hits, cache.Misses));
    }

    [Fact]
    public void Audiences_are_evaluated_only_for_events_that_count_the_action_type()
    {
        var evaluator = ReleaseEvaluator.Build(Check(AudienceRelease));
        var membership = evaluator.CreateMembership();
        membership.Reset(Values(evaluator.PlayerLayout, ("level", 20L), ("region", "eu")));
        var results = evaluator.CreateResults();
        var hit = evaluator.FindAction("hit")!;
        Assert.Equal(1, hit.EventCount);
        evaluator.Evaluate(hit, Values(hit.Layout, ("n", 1L)), membership, results);
        Assert.True(membership.IsKnown(0));
        Assert.False(membership.IsKnown(1));
        var chat = evaluator.FindAction("chat")!;
        evaluator.Evaluate(chat, Values(chat.Layout, ("text", "gg")), membership, results);
        Assert.Equal([new ObjectiveOutcome(1, 0, 1, EvaluationFailure.None)], results.Outcomes.ToArray());
        Assert.True(membership.IsKnown(1));
        Assert.Null(evaluator.FindAction("never.declared"));
    }

    [Fact]
    public void The_audience_cache_holds_at_most_its_capacity_and_evicts_the_least_recently_used()
    {
        var evaluator = ReleaseEvaluator.Build(Check(AudienceRelease));
        var attributes = evaluator.PlayerLayout.CreateValues();
        var cache = new AudienceCache(evaluator, capacity: 2);
        var first = cache.Get("a", 1, attributes);
        cache.Get("b", 1, attributes);
        Assert.Same(first, cache.Get("a", 1, attributes)); // a is now the most recently used
        cache.Get("c", 1, attributes); // evicts b
        Assert.Equal(2, cache.Count);
        Assert.Equal(1, cache.Evictions);
        long misses = cache.Misses;
        cache.Get("a", 1, attributes);
        Assert.Equal(misses, cache.Misses);
        cache.Get("b", 1, attributes);
        Assert.Equal(misses + 1, cache.Misses);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AudienceCache(evaluator, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AudienceCache(evaluator, AudienceCache.MaxCapacity + 1));
    }

    [Fact]
    public void Outcomes_come_in_event_order_then_declaration_order_across_chunks_and_builds()
    {
        // 40 events of 3 objectives on one type: 120 objectives, more than one compiled chunk.
        var text = new StringBuilder(Faulty);
        for (int e = 0; e < 40; e++)
        {
            text.Append(CultureInfo.InvariantCulture, $$"""
                event "e{{e}}" {
                {{Schedule}}
                  objective "z" {
                    on = "hit"
                    points = action.n + {{e}}
                  }
                  objective "a" {
                    on = "hit"
                    when = action.d != {{e % 5}}
                    points = 100 / (action.d - {{e % 3}})
                  }
                  objective "m" {
                    on = "hit"
                    points = 1
                  }
                }

                """);
        }
        var release = Check(text.ToString());
        var evaluator = ReleaseEvaluator.Build(release);
        var plan = evaluator.FindAction("hit")!;
        Assert.True(plan.Chunks.Length > 1);
        var action = Values(plan.Layout, ("n", 1L), ("d", 2L));
        var player = evaluator.PlayerLayout.CreateValues();
        var outcomes = Evaluate(evaluator, "hit", action, player);
        Assert.Equal(
            outcomes.OrderBy(o => o.Event).ThenBy(o => o.Objective).ToList(),
            outcomes);
        Assert.Contains(outcomes, o => o.Failure == EvaluationFailure.DivisionByZero);
        var rebuilt = ReleaseEvaluator.Build(release);
        Assert.Equal(outcomes, Evaluate(rebuilt, "hit", Values(rebuilt.FindAction("hit")!.Layout, ("n", 1L), ("d", 2L)), rebuilt.PlayerLayout.CreateValues()));
        Assert.Equal(40 * 2 + 40 * 4 / 5, outcomes.Count);
    }

    [Fact]
    public void Slots_are_dense_per_type_and_reset_to_the_defaults()
    {
        var release = Check("""
            release "r" {}
            action "mixed" {
              a = int
              b = string
              c = optional(int, 7)
              d = decimal
              e = optional(bool, true)
              f = optional(string, "x")
            }
            """);
        var layout = ReleaseEvaluator.Build(release).FindAction("mixed")!.Layout;
        Assert.Equal(
            [("a", ValueKind.Int, 0), ("b", ValueKind.String, 0), ("c", ValueKind.Int, 1), ("d", ValueKind.Decimal, 0), ("e", ValueKind.Bool, 0), ("f", ValueKind.String, 1)],
            layout.Fields.Select(f => (f.Name, f.Kind, f.Index)));
        Assert.Equal("c"u8.ToArray(), layout.Find("c")!.NameUtf8);
        var values = layout.CreateValues();
        Assert.Equal([0L, 7L], values.Ints);
        Assert.Equal(["", "x"], values.Strings);
        Assert.Equal([true], values.Bools);
        values.Ints[1] = 3;
        values.Strings[1] = "y";
        values.Reset();
        Assert.Equal([0L, 7L], values.Ints);
        Assert.Equal(["", "x"], values.Strings);
    }

    [Fact]
    public void Values_must_come_from_the_plan_and_the_evaluator()
    {
        var evaluator = ReleaseEvaluator.Build(Check(AudienceRelease));
        var hit = evaluator.FindAction("hit")!;
        var chat = evaluator.FindAction("chat")!;
        var player = evaluator.PlayerLayout.CreateValues();
        var results = evaluator.CreateResults();
        Assert.Throws<ArgumentException>(() => evaluator.Evaluate(hit, chat.Layout.CreateValues(), player, results));
        var other = ReleaseEvaluator.Build(Check(AudienceRelease));
        Assert.Throws<ArgumentException>(() => evaluator.Evaluate(hit, hit.Layout.CreateValues(), player, other.CreateResults()));
        Assert.Throws<ArgumentException>(() => evaluator.Evaluate(hit, hit.Layout.CreateValues(), other.PlayerLayout.CreateValues(), results));
    }
}
