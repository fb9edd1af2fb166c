namespace Showrunner.Core.Rules.Evaluation;

/// <summary>
/// Which event audiences of one release hold one player, learned lazily: an audience is evaluated
/// the first time an action needs it and remembered until <see cref="Reset"/>. Audiences read only
/// player attributes, so the answer stays right until those attributes change.
/// </summary>
/// <remarks>
/// Four bits per event — known (evaluated since the last reset, or no audience), member, and the
/// two ways an audience can fail (a failed audience is remembered too, so that it does not throw
/// again on every action): 500 bytes for a release of 1,000 events. Not thread-safe; it belongs to
/// the one writer that owns the player (the partition).
/// </remarks>
public sealed class AudienceMembership
{
#pragma warning disable CA1051 // Compiled evaluation code reads and writes these directly (ReleaseEvaluator).
    /// <summary>Bit e: event e's audience has been evaluated (or it has none); <see cref="Member"/> or a failure says how it went.</summary>
    public readonly ulong[] Known;
    /// <summary>Bit e: the player is in event e's audience. Never set for an audience that failed.</summary>
    public readonly ulong[] Member;
    /// <summary>The bit (in its word) of the audience being evaluated, so that a failure is charged to the right event.</summary>
    public int Current;
#pragma warning restore CA1051
    private readonly ulong[] _overflowed;
    private readonly ulong[] _dividedByZero;

    internal AudienceMembership(ReleaseEvaluator evaluator)
    {
        Evaluator = evaluator;
        int words = (evaluator.EventCount + 63) / 64;
        Known = new ulong[words];
        Member = new ulong[words];
        _overflowed = new ulong[words];
        _dividedByZero = new ulong[words];
        Player = evaluator.PlayerLayout.CreateValues();
        Reset(Player);
    }

    public ReleaseEvaluator Evaluator { get; }

    /// <summary>The attributes audiences are evaluated against.</summary>
    public RecordValues Player { get; private set; }

    /// <summary>Whether some audience failed since the last <see cref="Reset"/> (almost never: lets evaluation skip looking).</summary>
    public bool AnyFailed { get; private set; }

    /// <summary>Forgets every audience: the next check of each evaluates it against <paramref name="player"/>.</summary>
    public void Reset(RecordValues player)
    {
        Rebind(player);
        // Events without an audience hold everyone: known members from the start.
        Evaluator.EveryoneMask.CopyTo(Known);
        Evaluator.EveryoneMask.CopyTo(Member);
        if (AnyFailed)
        {
            Array.Clear(_overflowed);
            Array.Clear(_dividedByZero);
            AnyFailed = false;
        }
    }

    /// <summary>Whether the player is in event <paramref name="eventIndex"/>'s audience; evaluates it the first time.</summary>
    public bool Contains(int eventIndex)
    {
        int word = eventIndex >> 6;
        ulong bit = 1UL << eventIndex;
        if ((Known[word] & bit) == 0)
        {
            Learn(word, bit);
        }
        return (Member[word] & bit) != 0;
    }

    /// <summary>Whether the audience has been evaluated since the last <see cref="Reset"/> (or has none).</summary>
    public bool IsKnown(int eventIndex) => (Known[eventIndex >> 6] & (1UL << eventIndex)) != 0;

    /// <summary>Why the audience could not be evaluated (such a player is outside it), or None.</summary>
    public EvaluationFailure FailureOf(int eventIndex) =>
        (_overflowed[eventIndex >> 6] & (1UL << eventIndex)) != 0 ? EvaluationFailure.Overflow
        : (_dividedByZero[eventIndex >> 6] & (1UL << eventIndex)) != 0 ? EvaluationFailure.DivisionByZero
        : EvaluationFailure.None;

    /// <summary>The events of word <paramref name="word"/> whose audience failed.</summary>
    internal ulong FailedIn(int word) => _overflowed[word] | _dividedByZero[word];

    /// <summary>
    /// Evaluates the audiences of word <paramref name="word"/> named by <paramref name="unknown"/>
    /// (bits not yet <see cref="Known"/>), each compiled learner once; a failure marks its event and
    /// the learner resumes after it.
    /// </summary>
    internal void Learn(int word, ulong unknown)
    {
        foreach (var learner in Evaluator.LearnersOf(word))
        {
            ulong needed = unknown & learner.Covers;
            if (needed == 0)
            {
                continue;
            }
            int start = 0;
            while (true)
            {
                try
                {
                    learner.Run(this, needed, start);
                    break;
                }
                catch (OverflowException)
                {
                    _overflowed[word] |= 1UL << Current;
                }
                catch (DivideByZeroException)
                {
                    _dividedByZero[word] |= 1UL << Current;
                }
                Known[word] |= 1UL << Current;
                AnyFailed = true;
                start = Current + 1;
            }
        }
    }

    /// <summary>Points at another instance holding the same attributes (same version): nothing learned is forgotten.</summary>
    internal void Rebind(RecordValues player)
    {
        if (player.Layout != Evaluator.PlayerLayout)
        {
            throw new ArgumentException("The player values must have the evaluator's player layout.", nameof(player));
        }
        Player = player;
    }
}

/// <summary>
/// Audience membership of recently active players, for one release (<see cref="ReleaseEvaluator"/>):
/// at most <see cref="Capacity"/> players, the least recently used evicted first.
/// </summary>
/// <remarks>
/// <para>
/// Invalidation is by version: the caller passes a number that changes whenever the player's
/// attributes change (for example the sequence number of the last <c>player.profile</c> action
/// applied to the player). An entry with another version is reset, not trusted. <see cref="Invalidate"/>
/// drops one player; a new release needs a new cache (the cache is bound to its evaluator).
/// </para>
/// <para>
/// What is evicted depends only on the order of calls, never on hash codes, and eviction only costs
/// time: a player's results are the same with or without a cache. Not thread-safe: one per
/// partition. After <see cref="Capacity"/> players, a miss allocates nothing (the evicted entry is reused).
/// </para>
/// </remarks>
public sealed class AudienceCache
{
    /// <summary>The largest capacity accepted: about 0.7 GB of membership and entries for a release of 1,000 events.</summary>
    public const int MaxCapacity = 1_000_000;

    private readonly Dictionary<string, Entry> _entries;
    private Entry? _newest;
    private Entry? _oldest;

    public AudienceCache(ReleaseEvaluator evaluator, int capacity)
    {
        if (capacity < 1 || capacity > MaxCapacity)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, $"The audience cache capacity is {capacity}: it must be between 1 and {MaxCapacity:N0} players.");
        }
        Evaluator = evaluator;
        Capacity = capacity;
        _entries = new Dictionary<string, Entry>(Math.Min(capacity, 4096), StringComparer.Ordinal);
    }

    public ReleaseEvaluator Evaluator { get; }
    public int Capacity { get; }
    public int Count => _entries.Count;
    public long Hits { get; private set; }
    public long Misses { get; private set; }
    public long Evictions { get; private set; }

    /// <summary>
    /// The player's membership: remembered if <paramref name="attributesVersion"/> is the version it
    /// was learned for, otherwise forgotten and learned again from <paramref name="attributes"/>.
    /// </summary>
    public AudienceMembership Get(string player, long attributesVersion, RecordValues attributes)
    {
        if (_entries.TryGetValue(player, out var entry))
        {
            if (entry.Version == attributesVersion)
            {
                Hits++;
                entry.Membership.Rebind(attributes);
            }
            else
            {
                Misses++;
                entry.Version = attributesVersion;
                entry.Membership.Reset(attributes);
            }
            MoveToNewest(entry);
            return entry.Membership;
        }
        Misses++;
        if (_entries.Count == Capacity)
        {
            entry = _oldest!;
            Unlink(entry);
            _entries.Remove(entry.Player);
            Evictions++;
            entry.Player = player;
            entry.Version = attributesVersion;
            entry.Membership.Reset(attributes);
        }
        else
        {
            var membership = new AudienceMembership(Evaluator);
            membership.Reset(attributes);
            entry = new Entry(player, attributesVersion, membership);
        }
        _entries.Add(player, entry);
        LinkAsNewest(entry);
        return entry.Membership;
    }

    /// <summary>Forgets one player (for example when its attributes change outside versioned actions).</summary>
    public bool Invalidate(string player)
    {
        if (!_entries.Remove(player, out var entry))
        {
            return false;
        }
        Unlink(entry);
        return true;
    }

    public void Clear()
    {
        _entries.Clear();
        _newest = _oldest = null;
    }

    private void MoveToNewest(Entry entry)
    {
        if (entry != _newest)
        {
            Unlink(entry);
            LinkAsNewest(entry);
        }
    }

    private void LinkAsNewest(Entry entry)
    {
        entry.Older = _newest;
        entry.Newer = null;
        if (_newest is not null)
        {
            _newest.Newer = entry;
        }
        _newest = entry;
        _oldest ??= entry;
    }

    private void Unlink(Entry entry)
    {
        if (entry.Newer is not null)
        {
            entry.Newer.Older = entry.Older;
        }
        else
        {
            _newest = entry.Older;
        }
        if (entry.Older is not null)
        {
            entry.Older.Newer = entry.Newer;
        }
        else
        {
            _oldest = entry.Newer;
        }
        entry.Newer = entry.Older = null;
    }

    private sealed class Entry(string player, long version, AudienceMembership membership)
    {
        public string Player = player;
        public long Version = version;
        public readonly AudienceMembership Membership = membership;
        public Entry? Newer;
        public Entry? Older;
    }
}
