using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Evaluation;
using Showrunner.Core.Rules.Model;
using Showrunner.Core.Rules.Syntax;

// Benchmarks of the event language (BenchmarkDotNet). Results: docs/benchmarks.md.
//   dotnet run -c Release --project bench/Showrunner.Bench.Rules -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(CheckBenchmark).Assembly).Run(args);

/// <summary>Sources of a release with <c>count</c> events like the issue's example, for scale tests.</summary>
internal static class Sources
{
    public static string Release(int events)
    {
        var builder = new StringBuilder("""
            release "bench" {}
            currency "gems" {}
            item "crystal_blade" {}
            action "combat.kill" {
              target = string
              zone   = string
              damage = int
            }
            safety_bounds {
              max_points_per_action = 100
              max_currency_per_grant = { gems = 5000 }
            }

            """);
        for (int i = 0; i < events; i++)
        {
            builder.Append($$"""
                # Event {{i}}: a hunt with an audience, two objectives, tiers and a leaderboard.
                event "hunt_{{i}}" {
                  title = "Hunt number {{i}}"
                  schedule {
                    start = "2025-07-24T16:00:00Z"
                    end   = "2025-07-31T16:00:00Z"
                    grace = "48h"
                  }
                  audience {
                    when = player.level >= {{i % 30}} && player.region in ["eu", "na", "apac"]
                  }
                  objective "dragons" {
                    on     = "combat.kill"
                    when   = action.target == "dragon" && action.zone == "zone_{{i % 7}}"
                    points = 5
                  }
                  objective "damage" {
                    on           = "combat.kill"
                    when         = action.damage > {{i * 10}}
                    points       = clamp(action.damage / 100, 1, 50)
                    max_per_hour = 60
                  }
                  tier "bronze" {
                    at     = 50
                    reward = { gems = 50 }
                  }
                  tier "silver" {
                    at     = 250
                    reward = { gems = 200, crystal_blade = 1 }
                  }
                  leaderboard {
                    prize "1"      { reward = { gems = 1000 } }
                    prize "2-10"   { reward = { gems = 500 } }
                  }
                }

                """);
        }
        return builder.ToString();
    }
}

/// <summary>Target: checking 1 MB of sources takes under 200 ms.</summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class CheckBenchmark
{
    private SourceText _source = null!;

    [GlobalSetup]
    public void Setup()
    {
        string text = Sources.Release(events: 1);
        int perEvent = text.Length;
        int events = Math.Min(ReleaseChecker.MaxEvents, 1024 * 1024 / perEvent + 1);
        text = Sources.Release(events);
        _source = new SourceText("bench.hcl", text);
        Console.WriteLine($"// source: {text.Length:N0} bytes, {events} events");
    }

    [Benchmark(Description = "check 1 MB of sources")]
    public int Check() => ReleaseChecker.Check([_source]).Release!.Events.Count;

    [Benchmark(Description = "build bundle from 1 MB (check + canonical + SHA-256 + Merkle)")]
    public string Build() => ReleaseBundle.Build([_source]).Bundle!.Id;
}

/// <summary>
/// Target: ≥ 2,000,000 action evaluations/s on one core with 20 running events. One evaluation =
/// one combat.kill action checked against all 20 events, which all count combat.kill (the worst
/// case): the audience, then each objective's when and points. Each invocation evaluates 1,024
/// different actions of 1,024 different players (OperationsPerInvoke = 1,024), and every variant
/// must reach the same total of points (checked in the setup).
/// </summary>
/// <remarks>
/// Variants: <see cref="PerExpressionDelegates"/> is the first measurement (one delegate per
/// expression over boxed slots, each in its own overflow guard), kept as the reference;
/// the <see cref="ReleaseEvaluator"/> ones differ only in how audience membership is known —
/// cached and current (<see cref="EvaluatorWarmCache"/>), looked up in the cache and found stale
/// every time so all 20 audiences are evaluated again (<see cref="EvaluatorCacheMiss"/>), or no
/// cache at all (<see cref="EvaluatorUncached"/>). Matching, caps and progress (issue 4) are not built yet.
/// </remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class EvaluationBenchmark
{
    private const int Actions = 1024;

    private (CompiledExpression<bool> Audience, (CompiledExpression<bool>? When, CompiledExpression<long> Points)[] Objectives)[] _events = null!;
    private EvaluationInput[] _inputs = null!;

    private ReleaseEvaluator _evaluator = null!;
    private ActionPlan _plan = null!;
    private RecordValues[] _actions = null!;
    private RecordValues[] _players = null!;
    private string[] _playerIds = null!;
    private AudienceCache _cache = null!;
    private EvaluationResults _results = null!;
    private long _version;
    private byte[][] _json = null!;
    private Showrunner.Core.Rules.Releases.ActionDecoder _decoder = null!;
    private RecordValues _decoded = null!;

    [GlobalSetup]
    public void Setup()
    {
        var (release, diagnostics) = ReleaseChecker.Check([new SourceText("bench.hcl", Sources.Release(events: 20))]);
        if (release is null)
        {
            throw new InvalidOperationException(string.Join("\n", diagnostics.Select(d => d.Format())));
        }
        _events = release.Events.Select(e => (
            ExpressionCompiler.Compile<bool>(e.Audience!, "audience"),
            e.Objectives.Select(o => (o.When is null ? null : ExpressionCompiler.Compile<bool>(o.When, "when"), ExpressionCompiler.Compile<long>(o.Points, "points"))).ToArray()))
            .ToArray();
        var random = new Random(42);
        string[] targets = ["dragon", "goblin", "slime"];
        string[] regions = ["eu", "na", "apac", "latam"];
        _inputs = Enumerable.Range(0, Actions).Select(_ => new EvaluationInput(
            [targets[random.Next(3)], "zone_" + random.Next(7), (long)random.Next(10_000)],
            [(long)random.Next(60), regions[random.Next(4)], "", "", "", ""])).ToArray();

        _evaluator = ReleaseEvaluator.Build(release);
        _plan = _evaluator.FindAction("combat.kill")!;
        if (_plan.EventCount != 20)
        {
            throw new InvalidOperationException($"Expected 20 events counting combat.kill, found {_plan.EventCount}.");
        }
        _actions = _inputs.Select(input => Values(_plan.Layout, input.Action)).ToArray();
        _players = _inputs.Select(input => Values(_evaluator.PlayerLayout, input.Player)).ToArray();
        _playerIds = Enumerable.Range(0, Actions).Select(i => $"player-{i:D6}").ToArray();
        _cache = new AudienceCache(_evaluator, capacity: Actions);
        _results = _evaluator.CreateResults();

        // The same actions as the JSON a game server sends in "data" (compact, as stored).
        _json = _inputs.Select(input => Encoding.UTF8.GetBytes(
            $"{{\"target\":\"{input.Action[0]}\",\"zone\":\"{input.Action[1]}\",\"damage\":{input.Action[2]},\"crit\":false}}")).ToArray();
        _decoder = new Showrunner.Core.Rules.Releases.ActionDecoder(_plan.Layout);
        _decoded = new RecordValues(_plan.Layout);

        long expected = PerExpressionDelegates();
        if (DecodeAndEvaluateWarmCache() != expected)
        {
            throw new InvalidOperationException("Decoding the JSON and evaluating counted different points than the per-expression delegates.");
        }
        foreach (var (name, total) in new[] { ("uncached", EvaluatorUncached()), ("cache miss", EvaluatorCacheMiss()), ("warm cache", EvaluatorWarmCache()), ("warm cache", EvaluatorWarmCache()) })
        {
            if (total != expected)
            {
                throw new InvalidOperationException($"The evaluator ({name}) counted {total} points, the per-expression delegates {expected}.");
            }
        }
        Console.WriteLine($"// {Actions} actions against {_plan.EventCount} events: {expected} points in total");
    }

    private static RecordValues Values(RecordLayout layout, object?[] boxed)
    {
        var values = layout.CreateValues();
        foreach (var slot in layout.Fields)
        {
            values.Set(slot, boxed[layout.Schema.Find(slot.Name)!.Index]);
        }
        return values;
    }

    /// <summary>1,024 actions against 20 events: divide the time by 1,024 for one action evaluation.</summary>
    [Benchmark(OperationsPerInvoke = Actions, Description = "per-expression delegates, boxed slots (first version)")]
    public long PerExpressionDelegates()
    {
        long total = 0;
        foreach (var input in _inputs)
        {
            foreach (var (audience, objectives) in _events)
            {
                if (!audience.TryEvaluate(input, out bool member) || !member)
                {
                    continue;
                }
                foreach (var (when, points) in objectives)
                {
                    if ((when is null || (when.TryEvaluate(input, out bool matches) && matches)) && points.TryEvaluate(input, out long amount))
                    {
                        total += amount;
                    }
                }
            }
        }
        return total;
    }

    [Benchmark(OperationsPerInvoke = Actions, Description = "ReleaseEvaluator, audience cache warm")]
    public long EvaluatorWarmCache()
    {
        long total = 0;
        for (int i = 0; i < Actions; i++)
        {
            var membership = _cache.Get(_playerIds[i], attributesVersion: 1, _players[i]);
            _evaluator.Evaluate(_plan, _actions[i], membership, _results);
            total += Sum(_results);
        }
        return total;
    }

    /// <summary>Every lookup finds the player's entry stale (a new attributes version), so all 20 audiences are evaluated again.</summary>
    [Benchmark(OperationsPerInvoke = Actions, Description = "ReleaseEvaluator, audience cache miss every time")]
    public long EvaluatorCacheMiss()
    {
        long total = 0;
        for (int i = 0; i < Actions; i++)
        {
            var membership = _cache.Get(_playerIds[i], attributesVersion: ++_version + 1, _players[i]);
            _evaluator.Evaluate(_plan, _actions[i], membership, _results);
            total += Sum(_results);
        }
        return total;
    }

    /// <summary>What the partition executor does per action: check and decode the JSON data into typed slots (schema check included).</summary>
    [Benchmark(OperationsPerInvoke = Actions, Description = "ActionDecoder: check and decode data JSON into typed slots")]
    public long Decode()
    {
        long total = 0;
        for (int i = 0; i < Actions; i++)
        {
            if (!_decoder.TryDecode(_json[i], _decoded, out _))
            {
                throw new InvalidOperationException("A benchmark action was rejected.");
            }
            total += _decoded.Ints[0];
        }
        return total;
    }

    [Benchmark(OperationsPerInvoke = Actions, Description = "ActionDecoder + ReleaseEvaluator, audience cache warm")]
    public long DecodeAndEvaluateWarmCache()
    {
        long total = 0;
        for (int i = 0; i < Actions; i++)
        {
            if (!_decoder.TryDecode(_json[i], _decoded, out _))
            {
                throw new InvalidOperationException("A benchmark action was rejected.");
            }
            var membership = _cache.Get(_playerIds[i], attributesVersion: 1, _players[i]);
            _evaluator.Evaluate(_plan, _decoded, membership, _results);
            total += Sum(_results);
        }
        return total;
    }

    [Benchmark(OperationsPerInvoke = Actions, Description = "ReleaseEvaluator, no audience cache")]
    public long EvaluatorUncached()
    {
        long total = 0;
        for (int i = 0; i < Actions; i++)
        {
            _evaluator.Evaluate(_plan, _actions[i], _players[i], _results);
            total += Sum(_results);
        }
        return total;
    }

    private static long Sum(EvaluationResults results)
    {
        long total = 0;
        foreach (ref readonly var outcome in results.Outcomes)
        {
            total += outcome.Points;
        }
        return total;
    }
}

/// <summary>
/// What a release costs to compile for evaluation (once per activation): the 1 MB release of
/// <see cref="CheckBenchmark"/> (939 events, all counting combat.kill), checked beforehand.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class EvaluationCompileBenchmark
{
    private ReleaseDefinition _release = null!;

    [GlobalSetup]
    public void Setup()
    {
        int perEvent = Sources.Release(events: 1).Length;
        int events = Math.Min(ReleaseChecker.MaxEvents, 1024 * 1024 / perEvent + 1);
        _release = ReleaseChecker.Check([new SourceText("bench.hcl", Sources.Release(events))]).Release!;
        Console.WriteLine($"// {events} events");
    }

    [Benchmark(Description = "compile a 1 MB release for evaluation (ReleaseEvaluator.Build)")]
    public int Build() => ReleaseEvaluator.Build(_release).FindAction("combat.kill")!.EventCount;
}
