using System.Collections.Concurrent;
using Showrunner.Core.Actions;

namespace Showrunner.Runtime.Ingest;

/// <summary>How an in-flight action ended, as seen by a concurrent delivery of the same id.</summary>
internal readonly record struct InFlightOutcome(InFlightOutcomeKind Kind, int Partition, long Seq, ActionRejection? Rejection = null);

internal enum InFlightOutcomeKind
{
    /// <summary>Committed with (Partition, Seq), now or earlier.</summary>
    Stored,
    /// <summary>The id was already stored with different content.</summary>
    Conflict,
    /// <summary>The durable write failed: the outcome is unknown to this process.</summary>
    Failed,
    /// <summary>The active release's schema refused the action (<see cref="InFlightOutcome.Rejection"/>); nothing was stored.</summary>
    Rejected,
}

/// <summary>
/// One action between admission and commit. It is registered under its id so that a second
/// delivery of the same id (in the same batch, in a concurrent batch) waits for this one's outcome
/// instead of being applied again. Waiting is lazy: most entries never have a waiter, so the task
/// is only created when one asks.
/// </summary>
internal sealed class InFlightEntry(ValidAction action, int partition)
{
    private readonly Lock _gate = new();
    private InFlightOutcome? _outcome;
    private TaskCompletionSource<InFlightOutcome>? _waiters;

    public ValidAction Action { get; } = action;
    public int Partition { get; } = partition;

    /// <summary>Set by the partition's executor: the seq assigned, or 0 with <see cref="Rejection"/> when the release's schema refused the action.</summary>
    public long Seq { get; set; }
    public ActionRejection? Rejection { get; set; }

    public Task<InFlightOutcome> WaitAsync()
    {
        lock (_gate)
        {
            if (_outcome is { } done)
            {
                return Task.FromResult(done);
            }
            _waiters ??= new TaskCompletionSource<InFlightOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
            return _waiters.Task;
        }
    }

    public void Complete(InFlightOutcome outcome)
    {
        TaskCompletionSource<InFlightOutcome>? waiters;
        lock (_gate)
        {
            _outcome = outcome;
            waiters = _waiters;
        }
        waiters?.TrySetResult(outcome);
    }
}

/// <summary>Every action id between admission and commit, process-wide.</summary>
/// <remarks>
/// Idempotency keys are global while partitions are keyed by player, so deduplication cannot be
/// done inside one partition alone: a registry entry makes concurrent deliveries of one id wait for
/// the first, and the store (probed after registration) answers for ids committed earlier. An id
/// leaves the registry only after its commit is durable and visible to new readers, so there is no
/// moment at which neither the registry nor the store knows it.
/// </remarks>
internal sealed class InFlightRegistry
{
    private readonly ConcurrentDictionary<string, InFlightEntry> _entries = new(StringComparer.Ordinal);

    public int Count => _entries.Count;

    /// <summary>Registers <paramref name="entry"/> or returns the entry that already holds the id.</summary>
    public InFlightEntry? TryRegister(InFlightEntry entry)
    {
        while (true)
        {
            if (_entries.TryAdd(entry.Action.Id, entry))
            {
                return null;
            }
            if (_entries.TryGetValue(entry.Action.Id, out var existing))
            {
                return existing;
            }
            // The holder left between the two calls: try again.
        }
    }

    public void Remove(InFlightEntry entry) =>
        _entries.TryRemove(new KeyValuePair<string, InFlightEntry>(entry.Action.Id, entry));
}
