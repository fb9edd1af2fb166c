using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Showrunner.Core.Ledger;
using Showrunner.Storage.Sqlite;
using Xunit.Abstractions;

namespace Showrunner.Cli.Tests.Simulate;

/// <summary>
/// <c>showrunner simulate</c> on a data directory the real pipeline wrote (<see cref="SimulationDirectory"/>):
/// the recorded release as candidate changes nothing and projects exactly the ledger's grants of
/// the window; a 10× reward is 9× more minted and a warning; events only in one release have the
/// other side empty; the window's edges and the state before it decide what counts; bad input is
/// refused with exit code 2; nothing in the directory changes, even while a store has it open.
/// </summary>
[Trait("Category", "Integration")]
public sealed class SimulateCommandTests(SimulationDirectory directory, ITestOutputHelper log) : IClassFixture<SimulationDirectory>
{
    private (int ExitCode, string Output, string Errors) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        int exitCode = ShowrunnerCommand.Run(["simulate", .. args], output, errors);
        log.WriteLine($"exit {exitCode}\n{output}{errors}");
        return (exitCode, output.ToString(), errors.ToString());
    }

    private (int ExitCode, JsonElement Root) Json(params string[] args)
    {
        var (exitCode, output, errors) = Run([.. args, "--json"]);
        Assert.True(output.Length > 0, errors);
        return (exitCode, JsonDocument.Parse(output).RootElement.Clone());
    }

    private string[] Window(string candidate) => [candidate, "--data", directory.Path, "--from", SimulationDirectory.From, "--to", SimulationDirectory.To];

    private static JsonElement Event(JsonElement root, string id) => root.GetProperty("events").EnumerateArray().Single(e => e.GetProperty("event").GetString() == id);

    private static Dictionary<string, long> Counts(JsonElement counts) => counts.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());

    private static long Number(JsonElement side, string name) => side.GetProperty(name).GetInt64();

    [Fact]
    public void The_recorded_release_as_candidate_gives_zero_delta_and_exactly_the_ledgers_grants_of_the_window()
    {
        var (exitCode, root) = Json(Window(directory.Sources(SimulationDirectory.Source())));
        Assert.Equal(0, exitCode);
        Assert.True(root.GetProperty("ok").GetBoolean());
        Assert.Equal(directory.ReleaseId, root.GetProperty("candidate").GetProperty("release").GetString());
        Assert.Equal(("recorded", directory.ReleaseId), (root.GetProperty("baseline").GetProperty("mode").GetString(),
            root.GetProperty("baseline").GetProperty("releases").EnumerateArray().Single().GetString()));
        var window = root.GetProperty("window");
        // 8 + 2 + 1 actions in the window; 3 before it; g's 2 after it.
        Assert.Equal((11L, 3L, 2L), (Number(window, "actions"), Number(window, "actions_before"), Number(window, "actions_after")));
        Assert.Empty(root.GetProperty("warnings").EnumerateArray());

        var inWindow = directory.Entries().Where(e => e.TimeTicks >= SimulationDirectory.WindowFrom.UtcTicks && e.TimeTicks < SimulationDirectory.WindowTo.UtcTicks).ToList();
        Assert.Equal(13, inWindow.Count);
        foreach (string id in new[] { "hunt", "together", "sprint" })
        {
            var @event = Event(root, id);
            var (baseline, candidate, delta) = (@event.GetProperty("baseline"), @event.GetProperty("candidate"), @event.GetProperty("delta"));
            foreach (var property in delta.EnumerateObject())
            {
                if (property.Value.ValueKind == JsonValueKind.Object)
                {
                    Assert.All(property.Value.EnumerateObject(), p => Assert.Equal(0, p.Value.GetInt64()));
                }
                else
                {
                    Assert.Equal(0, property.Value.GetInt64());
                }
            }
            var ledger = inWindow.Where(e => e.EventId == id).ToList();
            Assert.Equal(ledger.Count, Number(baseline, "grants"));
            Assert.Equal(ledger.Count, Number(candidate, "grants"));
            var minted = ledger.SelectMany(e => e.Rewards).GroupBy(r => r.Name).ToDictionary(g => g.Key, g => g.Sum(r => r.Amount));
            Assert.Equal(minted, Counts(baseline.GetProperty("minted")));
            Assert.Equal(minted, Counts(candidate.GetProperty("minted")));
        }

        var hunt = Event(root, "hunt").GetProperty("baseline");
        // a, b and c; d's slime has no hunt points and e's dragons came while hunt was paused.
        Assert.Equal((3L, 7L, 35L), (Number(hunt, "participants"), Number(hunt, "actions_matched"), Number(hunt, "points")));
        Assert.Equal(new Dictionary<string, long> { ["bronze"] = 2, ["silver"] = 2 }, Counts(hunt.GetProperty("tiers")));
        Assert.Contains("run 0: prizes not projected: the run ends at 2026-11-23T00:00:00Z, after the window", hunt.GetProperty("notes").EnumerateArray().Select(n => n.GetString()));
        var together = Event(root, "together").GetProperty("baseline");
        Assert.Equal((6L, 11L, 6L), (Number(together, "participants"), Number(together, "actions_matched"), Number(together, "community_goal_rewards")));
        var sprint = Event(root, "sprint").GetProperty("baseline");
        Assert.Equal((3L, 500L), (Number(sprint, "prizes"), Counts(sprint.GetProperty("minted"))["gems"]));

        // One stored release for every action gives the same numbers here (it is the recorded one).
        var (fixedExit, fixedRoot) = Json([.. Window(directory.Sources(SimulationDirectory.Source())), "--baseline", directory.ReleaseId]);
        Assert.Equal(0, fixedExit);
        Assert.Equal("release", fixedRoot.GetProperty("baseline").GetProperty("mode").GetString());
        Assert.Equal(root.GetProperty("events").GetRawText(), fixedRoot.GetProperty("events").GetRawText());

        // A bundle file is a candidate too.
        string bundle = Path.Combine(directory.Sources(SimulationDirectory.Source()), "..", "candidate-" + Guid.NewGuid().ToString("N") + ".bundle");
        Assert.Equal(0, ShowrunnerCommand.Run(["build", directory.Sources(SimulationDirectory.Source()), "-o", bundle], TextWriter.Null, TextWriter.Null));
        var (bundleExit, bundleRoot) = Json(Window(bundle));
        Assert.Equal(0, bundleExit);
        Assert.Equal(root.GetProperty("events").GetRawText(), bundleRoot.GetProperty("events").GetRawText());

        var (textExit, text, errors) = Run(Window(directory.Sources(SimulationDirectory.Source())));
        Assert.Equal((0, ""), (textExit, errors));
        Assert.Matches(new Regex(@"\n  minted gems +500 +500 +0\n"), text);
        Assert.Matches(new Regex(@"\n  tier silver +2 +2 +0\n"), text);
        Assert.EndsWith("and none mints what the baseline does not\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_candidate_paying_ten_times_mints_exactly_nine_times_more_warns_and_exits_1()
    {
        var (baselineExit, baselineRoot) = Json(Window(directory.Sources(SimulationDirectory.Source())));
        Assert.Equal(0, baselineExit);
        var (exitCode, root) = Json(Window(directory.Sources(SimulationDirectory.Source(rewardFactor: 10))));
        Assert.Equal(1, exitCode);
        Assert.False(root.GetProperty("ok").GetBoolean());
        var warned = new List<(string, string, string)>();
        foreach (string id in new[] { "hunt", "together", "sprint" })
        {
            var @event = Event(root, id);
            var baseline = Counts(@event.GetProperty("baseline").GetProperty("minted"));
            Assert.Equal(baseline, Counts(Event(baselineRoot, id).GetProperty("baseline").GetProperty("minted")));
            var delta = Counts(@event.GetProperty("delta").GetProperty("minted"));
            Assert.NotEmpty(baseline);
            Assert.All(baseline, b => Assert.Equal(9 * b.Value, delta[b.Key]));
            Assert.All(baseline, b => Assert.Equal(10 * b.Value, Counts(@event.GetProperty("candidate").GetProperty("minted"))[b.Key]));
            // The same players, actions and crossings: only what they are paid changed.
            Assert.Equal(0, @event.GetProperty("delta").GetProperty("grants").GetInt64());
            warned.AddRange(baseline.Keys.Select(name => ("simulate.reward_rate", id, name)));
        }
        var warnings = root.GetProperty("warnings").EnumerateArray().ToList();
        Assert.Equal(warned.Order(), warnings.Select(w => (w.GetProperty("code").GetString()!, w.GetProperty("event").GetString()!, w.GetProperty("name").GetString()!)).Order());
        var huntGems = warnings.Single(w => w.GetProperty("event").GetString() == "hunt" && w.GetProperty("name").GetString() == "gems");
        // 500 and 5000 gems over the window's 11 actions.
        Assert.Equal((45454.545m, 454545.455m), (huntGems.GetProperty("baseline_per_1000_actions").GetDecimal(), huntGems.GetProperty("candidate_per_1000_actions").GetDecimal()));

        var (textExit, text, _) = Run(Window(directory.Sources(SimulationDirectory.Source(rewardFactor: 10))));
        Assert.Equal(1, textExit);
        Assert.Matches(new Regex(@"\n  minted gems +500 +5000 +\+4500\n"), text);
        Assert.Contains("\nwarning: simulate.reward_rate: hunt: the candidate mints 5000 gems (454545.455 per 1,000 actions), more than 2 × the baseline's 500 (45454.545 per 1,000 actions)\n",
            text, StringComparison.Ordinal);
        Assert.EndsWith("\n4 warnings (--warn-factor 2)\n", text, StringComparison.Ordinal);

        // A factor above 10 lets the same candidate pass.
        Assert.Equal(0, Run([.. Window(directory.Sources(SimulationDirectory.Source(rewardFactor: 10))), "--warn-factor", "10.5"]).ExitCode);
    }

    [Fact]
    public void A_baseline_release_given_by_id_evaluates_every_action_of_the_window_instead_of_the_recorded_one()
    {
        // The stored 10× release as baseline, the recorded release as candidate: a tenth of the rewards, no warning.
        var (exitCode, root) = Json([.. Window(directory.Sources(SimulationDirectory.Source())), "--baseline", directory.RicherReleaseId]);
        Assert.Equal(0, exitCode);
        Assert.Equal(("release", directory.RicherReleaseId), (root.GetProperty("baseline").GetProperty("mode").GetString(),
            root.GetProperty("baseline").GetProperty("releases").EnumerateArray().Single().GetString()));
        var hunt = Event(root, "hunt");
        Assert.Equal(directory.RicherReleaseId, hunt.GetProperty("baseline").GetProperty("release").GetString());
        Assert.Equal(new Dictionary<string, long> { ["blade"] = 20, ["gems"] = 5000 }, Counts(hunt.GetProperty("baseline").GetProperty("minted")));
        Assert.Equal(new Dictionary<string, long> { ["blade"] = -18, ["gems"] = -4500 }, Counts(hunt.GetProperty("delta").GetProperty("minted")));
        Assert.Empty(root.GetProperty("warnings").EnumerateArray());
    }

    [Fact]
    public void An_event_only_in_the_candidate_has_an_empty_baseline_and_one_only_in_the_baseline_an_empty_candidate()
    {
        const string bonus = """
            event "bonus" {
              title = "Bonus"
              schedule {
                start    = "2026-11-22T00:00:00Z"
                duration = "1d"
              }
              objective "kills" {
                on     = "combat.kill"
                points = 1
              }
              tier "first" {
                at     = 1
                reward = { gems = 5 }
              }
            }
            """;
        var (exitCode, root) = Json(Window(directory.Sources(SimulationDirectory.Source(extra: bonus, withTogether: false))));
        Assert.Equal(1, exitCode);
        Assert.Equal(["bonus", "hunt", "sprint", "together"], root.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("event").GetString()));

        var added = Event(root, "bonus");
        Assert.Equal(JsonValueKind.Null, added.GetProperty("baseline").ValueKind);
        // Everyone with an action in the window (a to f) crosses its first tier.
        var candidate = added.GetProperty("candidate");
        Assert.Equal((6L, 6L, 30L), (Number(candidate, "participants"), Number(candidate, "grants"), Counts(candidate.GetProperty("minted"))["gems"]));
        Assert.Equal((6L, 30L), (added.GetProperty("delta").GetProperty("grants").GetInt64(), Counts(added.GetProperty("delta").GetProperty("minted"))["gems"]));

        var removed = Event(root, "together");
        Assert.Equal(JsonValueKind.Null, removed.GetProperty("candidate").ValueKind);
        Assert.Equal((6L, -6L), (Number(removed.GetProperty("baseline"), "grants"), removed.GetProperty("delta").GetProperty("grants").GetInt64()));

        var warning = root.GetProperty("warnings").EnumerateArray().Single();
        Assert.Equal(("simulate.new_reward", "bonus", "gems"), (warning.GetProperty("code").GetString(), warning.GetProperty("event").GetString(), warning.GetProperty("name").GetString()));

        var (_, text, _) = Run(Window(directory.Sources(SimulationDirectory.Source(extra: bonus, withTogether: false))));
        Assert.Contains("\nbonus (not in the baseline)\n", text, StringComparison.Ordinal);
        Assert.Matches(new Regex(@"\n  grants +- +6 +\+6\n"), text);
        Assert.Contains("\ntogether (not in the candidate)\n", text, StringComparison.Ordinal);
        Assert.Matches(new Regex(@"\n  grants +6 +- +-6\n"), text);
        Assert.Contains("\nwarning: simulate.new_reward: bonus: the candidate mints 30 gems (2727.273 per 1,000 actions), which the baseline does not mint (the event is not in the baseline)\n",
            text, StringComparison.Ordinal);
    }

    [Fact]
    public void Actions_outside_the_window_do_not_count_and_the_state_before_it_decides_the_crossings()
    {
        string candidate = directory.Sources(SimulationDirectory.Source());
        // [12:00, 13:00): only a's and b's first kills; a crosses bronze.
        var (_, early) = Json(candidate, "--data", directory.Path, "--from", "2026-11-22T12:00:00Z", "--to", SimulationDirectory.From);
        Assert.Equal((3L, 0L, 11L + 2L), (Number(early.GetProperty("window"), "actions"), Number(early.GetProperty("window"), "actions_before"),
            Number(early.GetProperty("window"), "actions_after")));
        Assert.Equal(new Dictionary<string, long> { ["bronze"] = 1 }, Counts(Event(early, "hunt").GetProperty("baseline").GetProperty("tiers")));

        // [13:00, 14:00): a already crossed bronze before the window, so only b and c are granted it now.
        var (_, window) = Json(Window(candidate));
        var hunt = Event(window, "hunt").GetProperty("candidate");
        Assert.Equal(new Dictionary<string, long> { ["bronze"] = 2, ["silver"] = 2 }, Counts(hunt.GetProperty("tiers")));
        Assert.Equal(new Dictionary<string, long> { ["blade"] = 2, ["gems"] = 2 * 50 + 2 * 200 }, Counts(hunt.GetProperty("minted")));
        // g's kills at 14:30 are after the window: g is in no count.
        Assert.Equal(3, Number(hunt, "participants"));

        // The default window, the last hour of the log: g's two kills, bronze for g alone; the rest is state.
        var (_, last) = Json(candidate, "--data", directory.Path);
        Assert.Equal((2L, 11L + 3L, 0L), (Number(last.GetProperty("window"), "actions"), Number(last.GetProperty("window"), "actions_before"),
            Number(last.GetProperty("window"), "actions_after")));
        Assert.Equal("2026-11-22T14:30:00.0000001Z", last.GetProperty("window").GetProperty("to").GetString());
        var lastHunt = Event(last, "hunt").GetProperty("candidate");
        Assert.Equal((1L, 2L), (Number(lastHunt, "participants"), Number(lastHunt, "actions_matched")));
        Assert.Equal(new Dictionary<string, long> { ["bronze"] = 1 }, Counts(lastHunt.GetProperty("tiers")));
        // The community goal was recorded before this window: it is not projected again, and g (a
        // new participant) is paid as a late joiner, by the action that made them one.
        var together = Event(last, "together").GetProperty("candidate");
        Assert.Equal((1L, 7L), (Number(together, "community_goal_rewards"), Counts(together.GetProperty("minted"))["gems"]));
        Assert.Empty(together.GetProperty("notes").EnumerateArray());
        // sprint ended before this window: nothing of it is projected.
        Assert.Equal(0, Number(Event(last, "sprint").GetProperty("candidate"), "grants"));

        var (_, wider) = Json(candidate, "--data", directory.Path, "--last", "2h");
        Assert.Equal(11L + 2L, Number(wider.GetProperty("window"), "actions"));
        Assert.Equal("2026-11-22T12:30:00.0000001Z", wider.GetProperty("window").GetProperty("from").GetString());
    }

    [Fact]
    public void A_goal_the_candidate_adds_is_projected_for_a_run_settled_in_the_window_and_not_for_one_finalized_before_it()
    {
        // sprint's run 0 (12:00 to 13:30) was finalized at the 13:45 tick; the candidate gives it a community goal.
        string candidate = directory.Sources(SimulationDirectory.Source(sprintExtra: """
            community_goal {
              target = 1
              reward = { gems = 9 }
            }
            """));
        var (inWindowExit, inWindow) = Json(Window(candidate));
        // 54 gems more than the baseline's 500 in prizes: no warning at factor 2.
        Assert.Equal(0, inWindowExit);
        var sprint = Event(inWindow, "sprint").GetProperty("candidate");
        Assert.Equal((6L, 3L, 554L), (Number(sprint, "community_goal_rewards"), Number(sprint, "prizes"), Counts(sprint.GetProperty("minted"))["gems"]));

        var (afterExit, after) = Json(candidate, "--data", directory.Path, "--from", SimulationDirectory.To, "--to", "2026-11-22T15:00:00Z");
        Assert.Equal(0, afterExit);
        Assert.Equal(0, Number(Event(after, "sprint").GetProperty("candidate"), "grants"));
    }

    [Fact]
    public void Bad_input_is_refused_with_exit_code_2_and_a_message()
    {
        string candidate = directory.Sources(SimulationDirectory.Source());
        void Refused(string code, params string[] args)
        {
            var (exitCode, output, errors) = Run(args);
            Assert.Equal((2, ""), (exitCode, output));
            Assert.Contains($"error: {code}: ", errors, StringComparison.Ordinal);
        }

        Refused("simulate.window_invalid", candidate, "--data", directory.Path, "--from", SimulationDirectory.To, "--to", SimulationDirectory.From);
        Refused("simulate.window_invalid", candidate, "--data", directory.Path, "--from", SimulationDirectory.From, "--to", SimulationDirectory.From);
        Refused("simulate.window_invalid", candidate, "--data", directory.Path, "--from", "yesterday");
        Refused("simulate.window_invalid", candidate, "--data", directory.Path, "--to", "2026-11-22T14:00:00+02:00");
        Refused("simulate.window_invalid", candidate, "--data", directory.Path, "--from", SimulationDirectory.From, "--last", "1h");
        Refused("simulate.window_invalid", candidate, "--data", directory.Path, "--last", "an hour");
        // --from alone, after the end of the log: the default end comes before it.
        Refused("simulate.window_invalid", candidate, "--data", directory.Path, "--from", "2026-11-23T00:00:00Z");
        Refused("simulate.window_too_large", candidate, "--data", directory.Path, "--from", SimulationDirectory.From, "--to", SimulationDirectory.To, "--max-actions", "10");
        Refused("simulate.option_invalid", candidate, "--data", directory.Path, "--max-actions", "0");
        Refused("simulate.option_invalid", candidate, "--data", directory.Path, "--warn-factor", "0.5");
        Refused("simulate.option_invalid", candidate, "--data", directory.Path, "--warn-factor", "two");
        Refused("simulate.option_invalid", candidate, "--data", directory.Path, "--baseline", "not-a-release");
        Refused("simulate.baseline_unknown", candidate, "--data", directory.Path, "--baseline", new string('0', 64));
        Refused("data_directory_missing", candidate, "--data", System.IO.Path.Combine(directory.Path, "nope"));
        string empty = directory.Sources("# not a data directory, but a directory\n");
        Refused("data_directory_missing", candidate, "--data", empty);

        // Sources that do not check: their diagnostics are printed, then why nothing ran.
        var (exitCode, output, errors) = Run(directory.Sources("release \"broken\" {}\nevent \"e\" { title = 5 }\n"), "--data", directory.Path);
        Assert.Equal((2, ""), (exitCode, output));
        Assert.Matches(new Regex(@"release\.hcl:2:\d+: error [a-z_.]+: "), errors);
        Assert.Contains("error: simulate.candidate_invalid: ", errors, StringComparison.Ordinal);
        Refused("simulate.candidate_invalid", System.IO.Path.Combine(directory.Path, "missing.hcl"), "--data", directory.Path);

        // Exactly at the limit is allowed.
        Assert.Equal(0, Run(candidate, "--data", directory.Path, "--from", SimulationDirectory.From, "--to", SimulationDirectory.To, "--max-actions", "11").ExitCode);
    }

    [Fact]
    public void It_changes_nothing_in_the_data_directory_and_works_while_a_store_has_it_open()
    {
        string copy = directory.Copy();
        string candidate = directory.Sources(SimulationDirectory.Source(rewardFactor: 10));
        var before = Hashes(copy);
        var (closedExit, closed) = Json(candidate, "--data", copy, "--from", SimulationDirectory.From, "--to", SimulationDirectory.To);
        Assert.Equal(1, closedExit);
        Assert.Equal(before, Hashes(copy));

        using var store = new SqliteActionStore(new SqliteStoreOptions { DataDirectory = copy, ReadConnections = 1 }, TimeProvider.System);
        store.Open(SimulationDirectory.Partitions);
        var database = Path.Combine(copy, SqliteActionStore.DatabaseFileName);
        string databaseHash = Hash(database);
        var (openExit, open) = Json(candidate, "--data", copy, "--from", SimulationDirectory.From, "--to", SimulationDirectory.To);
        Assert.Equal(1, openExit);
        Assert.Equal(closed.GetRawText(), open.GetRawText());
        Assert.Equal(databaseHash, Hash(database));
    }

    /// <summary>Every file of the directory by name, with its SHA-256.</summary>
    private static SortedDictionary<string, string> Hashes(string path) =>
        new(Directory.GetFiles(path).ToDictionary(f => Path.GetFileName(f), Hash), StringComparer.Ordinal);

    private static string Hash(string file) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));
}
