using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using Showrunner.Core.Actions;
using Showrunner.Core.Ledger;
using Showrunner.Core.LiveEvents;
using Showrunner.Core.Rules.Releases;
using Showrunner.Runtime.Ingest;
using Showrunner.Testing;
using Xunit.Abstractions;

namespace Showrunner.Runtime.Tests.LiveEvents;

/// <summary>
/// Property-based (FsCheck, seeded): any stream of action batches — with re-sent batches (client
/// retries), duplicate ids inside a batch, profile changes, clean restarts and crash restarts (no
/// final snapshot, so the log tail is replayed) — leaves in the ledger exactly the tier grants that
/// (1) a from-scratch replay of the stored action log produces, and (2) the client's own record of
/// acknowledged actions implies, each once.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class ExactlyOncePropertyTests(ITestOutputHelper output)
{
    private const ulong Seed = 20261201;
    private const ulong Gamma = 0x9E3779B97F4A7C15;

    private static readonly string Source = ReleaseFixtures.Source("hunt-four-tiers");

    private static readonly long[] Thresholds = [10, 20, 35, 60];

    /// <summary>One step: 0–5 send a new batch, 6 re-send an earlier batch, 7 crash restart, 8 clean restart, 9 advance the clock.</summary>
    private sealed record Step(int Kind, (int Player, int What)[] Actions, int Pick);

    private static readonly Arbitrary<Step[]> Steps =
        Gen.Zip(Gen.Zip(Gen.Choose(0, 9), Gen.Choose(0, 1000)), Gen.Zip(Gen.Choose(0, 4), Gen.Choose(0, 5)).ArrayOf())
            .Select(t => new Step(t.Item1.Item1, t.Item2.Take(8).ToArray(), t.Item1.Item2))
            .ArrayOf()
            .Select(steps => steps.Take(14).ToArray())
            .ToArbitrary();

    [Fact]
    public void Grants_equal_a_from_scratch_replay_and_the_clients_acknowledged_history()
    {
        output.WriteLine($"FsCheck seed {Seed}, gamma {Gamma:X}");
        var config = Config.QuickThrowOnFailure.WithMaxTest(25)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(Seed, Gamma), FSharpOption<int>.None)));
        Prop.ForAll(Steps, steps => RunAsync(steps).GetAwaiter().GetResult()).Check(config);
    }

    private static async Task<bool> RunAsync(Step[] steps)
    {
        await using var live = await LiveHarness.StartAsync(Source, partitions: 3,
            options: new IngestOptions { PartitionCount = 3, ExecutorCount = 2, SnapshotEveryActions = 4 });
        var sent = new List<BatchItem[]>();
        var acknowledged = new Dictionary<string, (string Player, bool Dragon)>(StringComparer.Ordinal);
        int counter = 0;
        foreach (var step in steps)
        {
            switch (step.Kind)
            {
                case <= 5:
                    var batch = step.Actions.Select(a => Item(a, ref counter)).ToList();
                    // A duplicate id inside the batch (a client bug or a retry merged in).
                    if (batch.Count > 1 && step.Pick % 3 == 0)
                    {
                        batch.Add(batch[0]);
                    }
                    if (batch.Count > 0)
                    {
                        await SendAsync(live, [.. batch], acknowledged);
                        sent.Add([.. batch]);
                    }
                    break;
                case 6 when sent.Count > 0:
                    await SendAsync(live, sent[step.Pick % sent.Count], acknowledged);
                    break;
                case 7:
                    await live.CrashRestartAsync();
                    break;
                case 8:
                    await live.RestartAsync();
                    break;
                case 9:
                    live.Clock.Advance(TimeSpan.FromMinutes(20));
                    break;
            }
        }
        var entries = live.Entries();
        // (2) The client's history: 5 points per acknowledged dragon kill, each tier at most once.
        var expectedByClient = acknowledged.Values.Where(a => a.Dragon).GroupBy(a => a.Player)
            .SelectMany(g => Thresholds.Where(t => t <= 5L * g.Count()).Select(t => (g.Key, "tier:t" + t)))
            .Order().ToList();
        var recorded = entries.Select(e => (e.Player, e.Rule)).Order().ToList();
        Assert.Equal(expectedByClient, recorded);
        Assert.Equal(entries.Count, entries.Select(e => e.GrantId).Distinct().Count());
        // (1) A from-scratch replay of the stored log with the same engine gives the same grants, with the same crossing actions.
        Assert.Equal(Replay(live), entries.Select(e => (e.GrantId, e.ActionId, e.Rewards.Sum(r => r.Amount))).Order().ToList());
        return true;
    }

    private static BatchItem Item((int Player, int What) action, ref int counter)
    {
        string player = "p" + action.Player.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string id = "a-" + (counter++).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return action.What switch
        {
            <= 2 => LiveHarness.Action(id, player, "combat.kill", """{"target":"dragon"}"""),
            <= 4 => LiveHarness.Action(id, player, "combat.kill", """{"target":"slime"}"""),
            _ => LiveHarness.Action(id, player, "player.profile", $$"""{"level":{{action.Player}}}"""),
        };
    }

    private static async Task SendAsync(LiveHarness live, BatchItem[] batch, Dictionary<string, (string, bool)> acknowledged)
    {
        foreach (var result in await live.SubmitAsync(batch))
        {
            Assert.True(result.Status is ActionStatus.Accepted or ActionStatus.Duplicate, $"{result.Id}: {result.Status}");
            var action = batch.First(b => b.Action!.Id == result.Id).Action!;
            acknowledged[action.Id] = (action.Player, action.Type == "combat.kill" && action.Data.AsSpan().IndexOf("dragon"u8) >= 0);
        }
    }

    private static List<(string GrantId, string? ActionId, long Amount)> Replay(LiveHarness live)
    {
        var (release, _) = LoadedRelease.Load(System.Text.Encoding.UTF8.GetString(LiveHarness.Build(Source).CanonicalBytes));
        var states = new Dictionary<int, PartitionState>();
        var owed = new List<PendingGrant>();
        foreach (var (_, action) in live.Store.Ledger.ReadActionsAfter(0))
        {
            if (!states.TryGetValue(action.Partition, out var state))
            {
                state = new PartitionState(action.Partition);
                states[action.Partition] = state;
            }
            state.Apply(new LiveAction(action.Id, action.Player, action.Type, action.IngestedAtTicks, action.Seq, action.Data),
                release!.Live, null, RunControls.None, owed);
        }
        return [.. owed.Select(g => (g.Cause.GrantId, g.ActionId, g.Rewards.Sum(r => r.Amount))).Order()];
    }
}
