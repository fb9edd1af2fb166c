using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Showrunner.Core.Actions;
using Showrunner.Runtime;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Partitions;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Runtime.Tests;

/// <summary>
/// Supervision of the partition executors and the committer (issue 12): an unexpected failure on
/// an executor's thread answers every caller it holds, is counted, stops and reloads the runtime
/// from the store, and the partition then takes work again without a gap; a stuck executor is
/// reported by readiness, its senders are answered within the answer bound, and a stop finishes
/// within its bound whatever the executor is doing.
/// </summary>
[Trait("Category", "Component")]
public sealed class ExecutorSupervisionTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly TempDirectory _directory = new();
    private readonly ManualClock _clock = new(Start);
    private ControllableStore _store = null!;
    private IngestPipeline _pipeline = null!;
    private RuntimeHarness _runtime = null!;
    private readonly ManualResetEventSlim _release = new(false);

    public Task InitializeAsync() => OpenAsync(new IngestOptions { PartitionCount = 8, ExecutorCount = 2 });

    private async Task OpenAsync(IngestOptions options)
    {
        _runtime = RuntimeHarness.Create(new RuntimeSettings
        {
            StoreProvider = new SqliteStoreProvider(),
            DataDirectory = _directory.Path,
            ReadConnections = 2,
            Ingest = options,
        }, _clock, inner => new ControllableStore(inner));
        _store = (ControllableStore)_runtime.Store;
        _runtime.Open();
        _pipeline = _runtime.Pipeline;
        await _pipeline.StartAsync();
    }

    public async Task DisposeAsync()
    {
        _release.Set();
        await _runtime.DisposeAsync();
        _directory.Dispose();
        _release.Dispose();
    }

    private static BatchItem Item(string id, string player = "p-1") =>
        BatchItem.Valid(new ValidAction(id, player, "combat.kill", Start.UtcTicks, Encoding.UTF8.GetBytes("{}")));

    private async Task<SubmitOutcome> Submit(params BatchItem[] items) => await _pipeline.SubmitAsync(items).WaitAsync(Bound);

    private async Task WaitReadyAsync()
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!_pipeline.CheckReadiness().IsReady)
        {
            Assert.True(DateTime.UtcNow < deadline, "not ready again within the bound: " + _pipeline.CheckReadiness().Detail);
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task An_exception_on_an_executor_answers_its_batch_and_the_partition_reloads_and_continues_without_a_gap()
    {
        long faults = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, _pipeline.Metrics.Meter) && instrument.Name == Showrunner.Runtime.Observability.ShowrunnerMetrics.Names.WorkerFaults)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            Assert.Equal("executor", tags[0].Value);
            Interlocked.Add(ref faults, value);
        });
        listener.Start();

        var first = await Submit(Item("a"), Item("b"));
        Assert.Equal(SubmitStatus.Completed, first.Status);
        _pipeline.FaultInjection = unit =>
        {
            if (unit.Entries.Any(e => e.Action.Id == "poison"))
            {
                throw new InvalidOperationException("a bug in evaluation");
            }
        };

        var poisoned = await Submit(Item("poison"), Item("c"));
        Assert.Equal(SubmitStatus.Faulted, poisoned.Status);
        Assert.Equal(1, Interlocked.Read(ref faults));
        await WaitReadyAsync();
        Assert.Null(_pipeline.Find("poison"));

        // The partition's log continues where the store's did: no seq was lost to the failed unit.
        _pipeline.FaultInjection = null;
        var after = await Submit(Item("d"), Item("poison"));
        Assert.Equal(SubmitStatus.Completed, after.Status);
        Assert.All(after.Results!, r => Assert.Equal(ActionStatus.Accepted, r.Status));
        long cSeq = _pipeline.Find("c")?.Seq ?? 0;
        // "c" shared the failed unit (same player, same partition): it was not applied either.
        Assert.Equal(0, cSeq);
        Assert.Equal([3L, 4L], after.Results!.Select(r => r.Seq));
        Assert.Equal(4, _pipeline.GetStats().Accepted);
    }

    [Fact]
    public async Task Every_batch_waiting_behind_a_failing_unit_is_answered_and_retries_apply_each_id_once()
    {
        _pipeline.FaultInjection = unit =>
        {
            if (unit.Entries.Any(e => e.Action.Id == "poison"))
            {
                throw new InvalidDataException("damaged state");
            }
        };
        // 24 concurrent batches over 8 players, one of them poisoned.
        var batches = Enumerable.Range(0, 24).Select(b => Enumerable.Range(0, 5).Select(i => Item($"x-{b}-{i}", $"p-{(b + i) % 8}")).ToArray()).ToList();
        batches[11] = [.. batches[11], Item("poison", "p-3")];
        var outcomes = await Task.WhenAll(batches.Select(b => Submit(b)));
        Assert.Contains(outcomes, o => o.Status == SubmitStatus.Faulted);
        Assert.All(outcomes, o => Assert.True(o.Status is SubmitStatus.Completed or SubmitStatus.Faulted or SubmitStatus.StoreFailed or SubmitStatus.NotReady, o.Status.ToString()));
        await WaitReadyAsync();

        // Every sender retries its batch (as a client does after a 5xx/503) until it completes.
        _pipeline.FaultInjection = null;
        foreach (var batch in batches)
        {
            SubmitOutcome outcome;
            while ((outcome = await Submit(batch)).Status != SubmitStatus.Completed)
            {
                Assert.True(outcome.Status is SubmitStatus.NotReady or SubmitStatus.StoreFailed, outcome.Status.ToString());
                await WaitReadyAsync();
            }
        }
        long stored = batches.Sum(b => b.Length);
        Assert.Equal(stored, _pipeline.GetStats().Accepted);
        // Gapless per partition: each partition's seqs are exactly 1..n.
        var seqs = batches.SelectMany(b => b).Select(i => _pipeline.Find(i.Id!)!).GroupBy(r => r.Partition);
        foreach (var partition in seqs)
        {
            Assert.Equal(Enumerable.Range(1, partition.Count()).Select(n => (long)n), partition.Select(r => r.Seq).Order());
        }
    }

    [Fact]
    public async Task A_stuck_executor_is_not_ready_and_its_sender_is_answered_within_the_answer_bound()
    {
        await _runtime.DisposeAsync();
        await OpenAsync(new IngestOptions
        {
            PartitionCount = 8,
            ExecutorCount = 2,
            StallAfter = TimeSpan.FromSeconds(1),
            AnswerTimeout = TimeSpan.FromSeconds(2),
        });
        var entered = new ManualResetEventSlim(false);
        _pipeline.FaultInjection = unit =>
        {
            if (unit.Entries.Any(e => e.Action.Id == "stuck"))
            {
                entered.Set();
                _release.Wait();
            }
        };
        var stuck = _pipeline.SubmitAsync([Item("stuck")]);
        Assert.True(entered.Wait(Bound));
        var deadline = DateTime.UtcNow + Bound;
        Readiness readiness;
        while ((readiness = _pipeline.CheckReadiness()).IsReady)
        {
            Assert.True(DateTime.UtcNow < deadline, "readiness never reported the stuck executor");
            await Task.Delay(50);
        }
        Assert.Equal("partition_stalled", readiness.Reason);

        var outcome = await stuck.WaitAsync(Bound);
        Assert.Equal(SubmitStatus.StoreFailed, outcome.Status);
        Assert.Contains("no answer within 2 s", outcome.Message, StringComparison.Ordinal);

        // Once the executor moves again, the work it held commits (it was not cancelled) and readiness returns.
        _release.Set();
        await WaitReadyAsync();
        deadline = DateTime.UtcNow + Bound;
        while (_pipeline.Find("stuck") is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the held work never committed");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task A_stop_finishes_within_its_bound_while_an_executor_is_stuck()
    {
        await _runtime.DisposeAsync();
        await OpenAsync(new IngestOptions { PartitionCount = 8, ExecutorCount = 2, StopTimeout = TimeSpan.FromSeconds(2) });
        var entered = new ManualResetEventSlim(false);
        _pipeline.FaultInjection = _ =>
        {
            entered.Set();
            _release.Wait();
        };
        _ = _pipeline.SubmitAsync([Item("stuck")]);
        Assert.True(entered.Wait(Bound));
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await _pipeline.DisposeAsync().AsTask().WaitAsync(Bound);
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10), $"the stop took {stopping.Elapsed}");
        Assert.Equal(RuntimeState.Stopped, _pipeline.State);
        Assert.False(_pipeline.CommitterStuck);
    }
}
