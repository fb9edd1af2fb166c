using System.Diagnostics;

namespace Showrunner.Runtime.Partitions;

/// <summary>
/// One piece of a module's work for one partition: applied in inbox order on the partition's
/// executor, its effects written in the executor's open commit group, and answered only once that
/// group is durable (<see cref="Committed"/>) or known never to be (<see cref="Failed"/>). Exactly
/// one of the two is called, once.
/// </summary>
/// <param name="module">The module whose partition state the work applies to.</param>
/// <param name="partition">The partition (from <see cref="PartitionHost.PartitionOf"/>).</param>
/// <param name="reserved">The inbox room the work holds (its item count): reserved at admission, returned by the host when the work is answered.</param>
public abstract class PartitionWork(string module, int partition, int reserved)
{
    public string Module { get; } = module;
    public int Partition { get; } = partition;
    public int Reserved { get; } = reserved;

    /// <summary>The trace context the work's evaluate and commit spans are children of (default when nobody traces).</summary>
    public ActivityContext Trace { get; init; }

    /// <summary>When the work entered its inbox (a <see cref="Stopwatch"/> timestamp; 0 when nobody measures queue wait).</summary>
    public long EnqueuedAt { get; init; }

    /// <summary>An id for logs and spans (the first action id of a batch, …).</summary>
    public virtual string Describe() => GetType().Name;

    /// <summary>
    /// Applies the work to the partition's state (on its executor, in inbox order) and adds what must
    /// become durable to <paramref name="group"/>. Throwing stops the partition's executor and reloads
    /// its partitions from the store (fail-stop): throw only for a broken invariant, never for an
    /// outcome the sender should hear (answer that from <see cref="Committed"/>).
    /// </summary>
    public abstract void Apply(IModulePartition state, CommitGroup group);

    /// <summary>The group holding the work's effects is durable. On the committer thread: must not block.</summary>
    public abstract void Committed();

    /// <summary>The work will never be committed (its group failed, the partition stopped, the host stops). Must not block.</summary>
    public abstract void Failed(Exception exception);

    /// <summary>Adds the work's own tags to its evaluate span after <see cref="Apply"/> (only when someone traces).</summary>
    public virtual void TagSpan(Activity span)
    {
    }

    /// <summary>When the work entered its executor's inbox (the stall watch reads it).</summary>
    internal long QueuedAt { get; set; }

    /// <summary>The index of <see cref="Module"/> in the host (set when queued).</summary>
    internal int ModuleIndex { get; set; }
}

/// <summary>The answer of <see cref="PartitionHost.TrySubmit"/>.</summary>
public enum Admission
{
    /// <summary>The work is queued: exactly one of its <see cref="PartitionWork.Committed"/> or <see cref="PartitionWork.Failed"/> follows.</summary>
    Queued,
    /// <summary>The partition's inbox is full: nothing was queued (answer 503 with Retry-After).</summary>
    Overloaded,
    /// <summary>The host is starting, recovering or stopping: nothing was queued (answer 503).</summary>
    NotReady,
}
