using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Showrunner.Core.Actions;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Runtime;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Releases;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Runtime.Tests;

[Trait("Category", "Component")]
public sealed class ReleaseRegisterTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _directory = new();
    private readonly ManualClock _clock = new(Start);
    private SqliteActionStore _store = null!;
    private IngestPipeline _pipeline = null!;
    private ReleaseRegister _register = null!;
    private RuntimeHarness _runtime = null!;

    public Task InitializeAsync() => OpenAsync(null);

    private async Task OpenAsync(Func<ReleaseBundle>? example)
    {
        _runtime = RuntimeHarness.Create(new RuntimeSettings
        {
            StoreProvider = new SqliteStoreProvider(),
            DataDirectory = _directory.Path,
            ReadConnections = 2,
            Ingest = new IngestOptions { PartitionCount = 8, ExecutorCount = 3 },
        }, _clock);
        _runtime.Open();
        _store = (SqliteActionStore)_runtime.Store;
        _pipeline = _runtime.Pipeline;
        _register = _runtime.Register;
        await _register.InitializeAsync(example);
        await _pipeline.StartAsync();
    }

    private async Task CloseAsync() => await _runtime.DisposeAsync();

    public async Task DisposeAsync()
    {
        await CloseAsync();
        _directory.Dispose();
    }

    /// <summary>A release whose "shop.buy" action needs an int price; <paramref name="tag"/> makes distinct releases.</summary>
    private static ReleaseBundle Bundle(string tag, string points = "1", string start = "2026-11-20T00:00:00Z")
    {
        string source = ReleaseFixtures.Source("shop-sale-tagged", ("tag", tag), ("start", start), ("points", points));
        var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("r.hcl", source)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        return bundle;
    }

    private async Task<string> Publish(ReleaseBundle bundle)
    {
        var result = await _register.PublishAsync(bundle.CanonicalBytes, bundle.Id);
        Assert.Contains(result.Status, new[] { PublishStatus.Created, PublishStatus.Existing });
        return result.Release!.Id;
    }

    private static BatchItem Buy(string id, string data, string player = "p-1", string type = "shop.buy") =>
        BatchItem.Valid(new ValidAction(id, player, type, Start.UtcTicks, Encoding.UTF8.GetBytes(data)));

    private async Task<ActionResult[]> Submit(params BatchItem[] items)
    {
        var outcome = await _pipeline.SubmitAsync(items);
        Assert.Equal(SubmitStatus.Completed, outcome.Status);
        return outcome.Results!;
    }

    [Fact]
    public async Task Without_an_active_release_nothing_is_checked_and_actions_record_no_release()
    {
        Assert.Null(_register.Current);
        var results = await Submit(Buy("a", """{"price":"free"}"""));
        Assert.Equal(ActionStatus.Accepted, results[0].Status);
        Assert.Equal(0, _store.Find("a")!.ReleaseRef);
    }

    [Fact]
    public async Task After_activation_declared_types_are_checked_and_every_action_records_the_release()
    {
        string id = await Publish(Bundle("a"));
        var change = await _register.ActivateAsync(id, 0, "first");
        Assert.Equal(ChangeStatus.Changed, change.Status);
        Assert.Equal(1, change.Entry!.Version);

        var results = await Submit(Buy("ok", """{"price":5}"""), Buy("bad", """{"price":"5"}"""), Buy("missing", "{}"),
            Buy("chat", """{"text":1}""", type: "chat.message"), Buy("bad", """{"price":"5"}"""));
        Assert.Equal([ActionStatus.Accepted, ActionStatus.Rejected, ActionStatus.Rejected, ActionStatus.Accepted, ActionStatus.Rejected],
            results.Select(r => r.Status));
        Assert.Equal(RejectionCodes.InvalidFieldType, results[1].Rejection!.Code);
        Assert.Equal(RejectionCodes.MissingField, results[2].Rejection!.Code);
        // The second delivery of "bad" waited for the first and got the same answer.
        Assert.Equal(results[1].Rejection, results[4].Rejection);
        long releaseRef = _store.Releases.Find(id)!.Ref;
        Assert.Equal(releaseRef, _store.Find("ok")!.ReleaseRef);
        Assert.Equal(releaseRef, _store.Find("chat")!.ReleaseRef);
        Assert.Null(_store.Find("bad"));
        // Rejected actions left no gap in the partition's seqs.
        Assert.Equal(results[0].Seq + 1, results[3].Seq);
        // A rejected id can be sent again, corrected.
        Assert.Equal(ActionStatus.Accepted, (await Submit(Buy("bad", """{"price":5}""")))[0].Status);
    }

    [Fact]
    public async Task A_stale_expected_version_changes_nothing()
    {
        string a = await Publish(Bundle("a"));
        string b = await Publish(Bundle("b"));
        Assert.Equal(ChangeStatus.Changed, (await _register.ActivateAsync(a, null, null)).Status);
        var stale = await _register.ActivateAsync(b, 0, null);
        Assert.Equal(ChangeStatus.VersionConflict, stale.Status);
        Assert.Equal(1, stale.CurrentVersion);
        Assert.Equal(a, _register.Current!.Release.Id);
        Assert.Equal(a, _pipeline.ActiveRelease!.Id);
        Assert.Equal(ChangeStatus.VersionConflict, (await _register.RollbackAsync(7, null)).Status);
        Assert.Equal(ChangeStatus.Unchanged, (await _register.ActivateAsync(a, 1, null)).Status);
        Assert.Equal(1, _register.Current!.Version);
        Assert.Equal(ChangeStatus.ReleaseNotFound, (await _register.ActivateAsync(new string('0', 64), null, null)).Status);
    }

    [Fact]
    public async Task Rollbacks_undo_activations_one_at_a_time()
    {
        string a = await Publish(Bundle("a")), b = await Publish(Bundle("b")), c = await Publish(Bundle("c"));
        Assert.Equal(ChangeStatus.NothingToRollBack, (await _register.RollbackAsync(null, null)).Status);
        await _register.ActivateAsync(a, null, null);
        Assert.Equal(ChangeStatus.NothingToRollBack, (await _register.RollbackAsync(null, null)).Status);
        await _register.ActivateAsync(b, null, null);
        await _register.ActivateAsync(c, null, null);

        var back = await _register.RollbackAsync(3, "c pays too much");
        Assert.Equal(ChangeStatus.Changed, back.Status);
        Assert.Equal((4L, b, "rollback", "c pays too much"), (back.Entry!.Version, back.Entry.Release.Id, back.Entry.Kind, back.Entry.Reason));
        Assert.Equal(b, _pipeline.ActiveRelease!.Id);
        Assert.Equal(a, (await _register.RollbackAsync(null, null)).Entry!.Release.Id);
        Assert.Equal(ChangeStatus.NothingToRollBack, (await _register.RollbackAsync(null, null)).Status);
        Assert.Equal(a, _pipeline.ActiveRelease!.Id);
        Assert.Equal([5L, 4L, 3L, 2L, 1L], _store.Releases.History(10).Select(e => e.Version));
    }

    [Fact]
    public async Task A_candidate_that_changes_what_a_live_event_pays_is_refused()
    {
        string a = await Publish(Bundle("a", points: "1"));
        string b = await Publish(Bundle("b", points: "100"));
        await _register.ActivateAsync(a, null, null);
        var refused = await _register.ActivateAsync(b, 1, null);
        Assert.Equal(ChangeStatus.Incompatible, refused.Status);
        var problem = Assert.Single(refused.Problems);
        Assert.Equal(("compat.earnings_changed", "sale"), (problem.Code, problem.Event));
        Assert.Equal(a, _pipeline.ActiveRelease!.Id);
        // Once the event has ended (and owes nothing), its replacement may change freely — until it is live in turn.
        string later = await Publish(Bundle("later", points: "100", start: "2027-01-01T00:00:00Z"));
        string laterChanged = await Publish(Bundle("later2", points: "7", start: "2027-01-01T00:00:00Z"));
        Assert.Equal(ChangeStatus.Incompatible, (await _register.ActivateAsync(later, null, null)).Status);
        _clock.Advance(TimeSpan.FromDays(30));
        Assert.Equal(ChangeStatus.Changed, (await _register.ActivateAsync(later, null, null)).Status);
        Assert.Equal(ChangeStatus.Changed, (await _register.ActivateAsync(laterChanged, null, null)).Status);
        _clock.Advance(TimeSpan.FromDays(10));
        Assert.Equal(ChangeStatus.Incompatible, (await _register.ActivateAsync(later, null, null)).Status);
    }

    [Fact]
    public async Task Publishing_checks_the_bundle_and_its_id()
    {
        var bundle = Bundle("a");
        Assert.Equal(PublishStatus.HashMismatch, (await _register.PublishAsync(bundle.CanonicalBytes, new string('0', 64))).Status);
        var notCanonical = await _register.PublishAsync(Encoding.UTF8.GetBytes("# comment\n" + bundle.CanonicalText), null);
        Assert.Equal(PublishStatus.Invalid, notCanonical.Status);
        Assert.Contains(notCanonical.Diagnostics, d => d.Code == "bundle.not_canonical");
        Assert.Equal(PublishStatus.Invalid, ((await _register.PublishAsync([0xff, 0xfe], null))).Status);
        Assert.Equal(PublishStatus.Invalid, (await _register.PublishAsync("event {"u8.ToArray(), null)).Status);
        Assert.Empty(_store.Releases.List(10, null));
        Assert.Equal(PublishStatus.Created, (await _register.PublishAsync(bundle.CanonicalBytes, bundle.Id.ToUpperInvariant())).Status);
        Assert.Equal(PublishStatus.Existing, (await _register.PublishAsync(bundle.CanonicalBytes, null)).Status);
        Assert.Null(_register.Current);
    }

    [Fact]
    public async Task The_active_release_survives_a_restart_and_the_example_loads_only_into_an_empty_register()
    {
        await CloseAsync();
        var example = Bundle("example");
        await OpenAsync(() => example);
        Assert.Equal(("example", 1L, example.Id), (_register.Current!.Kind, _register.Current.Version, _pipeline.ActiveRelease!.Id));
        string b = await Publish(Bundle("b"));
        await _register.ActivateAsync(b, 1, null);
        await CloseAsync();
        await OpenAsync(() => throw new InvalidOperationException("The example must not be built for a register that is not empty."));
        Assert.Equal((2L, b), (_register.Current!.Version, _pipeline.ActiveRelease!.Id));
        await Submit(Buy("after-restart", """{"price":1}"""));
        Assert.Equal(_store.Releases.Find(b)!.Ref, _store.Find("after-restart")!.ReleaseRef);
    }

    [Fact]
    public async Task Switches_under_load_are_in_force_on_every_partition_when_they_return()
    {
        var ids = new List<string>();
        for (int i = 0; i < 12; i++)
        {
            ids.Add(await Publish(Bundle("gen" + i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        }
        var refs = ids.Select(id => _store.Releases.Find(id)!.Ref).ToList();
        Assert.Equal(refs.Order(), refs);
        await _register.ActivateAsync(ids[0], null, null);

        using var stop = new CancellationTokenSource();
        int counter = 0;
        var load = Enumerable.Range(0, 4).Select(client => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var batch = Enumerable.Range(0, 20).Select(_ =>
                {
                    int n = Interlocked.Increment(ref counter);
                    return Buy($"load-{n}", """{"price":1}""", player: "player-" + (n % 97).ToString(System.Globalization.CultureInfo.InvariantCulture));
                }).ToArray();
                var results = await Submit(batch);
                Assert.All(results, r => Assert.Equal(ActionStatus.Accepted, r.Status));
            }
        })).ToList();

        for (int i = 1; i < ids.Count; i++)
        {
            await Task.Delay(15);
            Assert.Equal(ChangeStatus.Changed, (await _register.ActivateAsync(ids[i], null, null)).Status);
            // Sent after the activation returned, on 8 partitions: every one already has the new release.
            var probes = Enumerable.Range(0, 16).Select(p => Buy($"probe-{i}-{p}", """{"price":1}""", player: "probe-player-" + p.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToArray();
            await Submit(probes);
            Assert.All(probes, p => Assert.Equal(refs[i], _store.Find(p.Id!)!.ReleaseRef));
        }
        await stop.CancelAsync();
        await Task.WhenAll(load);

        // In every partition's log the release never goes back to an earlier one.
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory.Path, SqliteActionStore.DatabaseFileName)};Mode=ReadOnly");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT partition, release_ref FROM actions ORDER BY partition, seq";
        using var reader = command.ExecuteReader();
        var last = new Dictionary<int, long>();
        int rows = 0;
        while (reader.Read())
        {
            int partition = reader.GetInt32(0);
            long releaseRef = reader.GetInt64(1);
            Assert.True(releaseRef >= last.GetValueOrDefault(partition), $"partition {partition} went back from release {last.GetValueOrDefault(partition)} to {releaseRef}");
            last[partition] = releaseRef;
            rows++;
        }
        Assert.True(rows > 200, $"only {rows} actions were written under load");
    }
}
