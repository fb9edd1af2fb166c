namespace Showrunner.Runtime.Partitions;

/// <summary>
/// What a module adds to a commit group: its rows, added to the store's transaction in group order
/// (<see cref="AddTo"/>), and what it does once they are durable (<see cref="Committed"/>). One
/// instance per module and group (<see cref="CommitGroup.Writes{T}"/>), so that a module adds rows
/// to lists rather than allocating an object per row.
/// </summary>
public interface ICommitWrite
{
    /// <summary>True when the write holds nothing to write and nothing to do after the commit.</summary>
    bool IsEmpty { get; }

    /// <summary>Adds the rows to the transaction being built (on the committer thread, before the store writes).</summary>
    void AddTo(Storage.CommitBatch batch);

    /// <summary>The transaction holding the rows is durable (on the committer thread, before the group's work is answered). Must not block.</summary>
    void Committed();
}

/// <summary>
/// The effects one executor collected from a run of work, written by the group committer in one
/// durable transaction with other executors' groups. Work and control items write into it through
/// <see cref="Writes{T}"/>; the host answers the group's work only after it is durable.
/// </summary>
/// <remarks>Used only on the executor's thread until handed to the committer; not thread-safe.</remarks>
public sealed class CommitGroup
{
    private readonly Dictionary<Type, object> _scratch;
    private readonly List<ICommitWrite> _writes = [];

    internal CommitGroup(Dictionary<Type, object> scratch) => _scratch = scratch;

    /// <summary>
    /// The group's write set of type <typeparamref name="T"/>, created on first use. Write sets are
    /// added to the transaction in the order of their first use in the group.
    /// </summary>
    public T Writes<T>() where T : class, ICommitWrite, new()
    {
        foreach (var write in _writes)
        {
            if (write is T found)
            {
                return found;
            }
        }
        var created = new T();
        _writes.Add(created);
        return created;
    }

    /// <summary>
    /// A reusable object of type <typeparamref name="T"/> owned by the executor that builds this
    /// group (decode buffers, scratch lists): single-threaded, kept across groups; nothing in it may
    /// need to survive a group.
    /// </summary>
    public T Scratch<T>() where T : class, new()
    {
        if (!_scratch.TryGetValue(typeof(T), out var value))
        {
            value = new T();
            _scratch[typeof(T)] = value;
        }
        return (T)value;
    }

    internal IReadOnlyList<ICommitWrite> WriteSets => _writes;

    /// <summary>The work applied in this group, in order.</summary>
    internal List<PartitionWork> Works { get; } = [];

    /// <summary>Control items that wrote into this group: completed after the commit.</summary>
    internal List<ControlItem> Completions { get; } = [];

    /// <summary>Items of work in the group (their <see cref="PartitionWork.Reserved"/>): bounds groups and commits.</summary>
    internal int Size { get; set; }

    internal bool IsEmpty
    {
        get
        {
            if (Works.Count > 0 || Completions.Count > 0)
            {
                return false;
            }
            foreach (var write in _writes)
            {
                if (!write.IsEmpty)
                {
                    return false;
                }
            }
            return true;
        }
    }
}
