namespace Showrunner.Storage.Memory;

/// <summary>Releases and the active-release register in memory (see <see cref="IReleaseStore"/>).</summary>
internal sealed class InMemoryReleaseStore : IReleaseStore
{
    private readonly Lock _lock = new();
    private readonly List<(StoredRelease Release, byte[] Bundle)> _releases = [];
    private readonly Dictionary<string, int> _byId = new(StringComparer.Ordinal);
    private readonly List<RegisterEntry> _register = [];

    public (StoredRelease Release, bool Created) Publish(string id, string name, string merkleRoot, byte[] bundle, long atTicks)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentNullException.ThrowIfNull(bundle);
        lock (_lock)
        {
            if (_byId.TryGetValue(id, out int at))
            {
                return (_releases[at].Release, false);
            }
            var release = new StoredRelease(_releases.Count + 1, id, name, merkleRoot, bundle.Length, atTicks);
            _byId.Add(id, _releases.Count);
            _releases.Add((release, bundle));
            return (release, true);
        }
    }

    public StoredRelease? Find(string id)
    {
        lock (_lock)
        {
            return _byId.TryGetValue(id, out int at) ? _releases[at].Release : null;
        }
    }

    public StoredRelease? Find(long releaseRef)
    {
        lock (_lock)
        {
            return releaseRef >= 1 && releaseRef <= _releases.Count ? _releases[(int)releaseRef - 1].Release : null;
        }
    }

    public byte[]? ReadBundle(long releaseRef)
    {
        lock (_lock)
        {
            return releaseRef >= 1 && releaseRef <= _releases.Count ? _releases[(int)releaseRef - 1].Bundle : null;
        }
    }

    public IReadOnlyList<StoredRelease> List(int limit, long? beforeRef)
    {
        lock (_lock)
        {
            long before = beforeRef ?? long.MaxValue;
            return [.. _releases.Select(r => r.Release).Where(r => r.Ref < before).Reverse().Take(limit)];
        }
    }

    public RegisterEntry? Current()
    {
        lock (_lock)
        {
            return _register.Count == 0 ? null : _register[^1];
        }
    }

    public RegisterEntry? ReadVersion(long version)
    {
        lock (_lock)
        {
            return version >= 1 && version <= _register.Count ? _register[(int)version - 1] : null;
        }
    }

    public IReadOnlyList<RegisterEntry> History(int limit)
    {
        lock (_lock)
        {
            return [.. Enumerable.Reverse(_register).Take(limit)];
        }
    }

    /// <summary>Whether a release with this ref is stored: rows elsewhere that name a release refer to a stored one (the SQLite store's foreign keys).</summary>
    internal bool Exists(long releaseRef)
    {
        lock (_lock)
        {
            return releaseRef >= 1 && releaseRef <= _releases.Count;
        }
    }

    /// <exception cref="InvalidOperationException">The release is not stored (nothing changes).</exception>
    internal void CheckExists(long releaseRef)
    {
        if (!Exists(releaseRef))
        {
            throw new InvalidOperationException($"Release {releaseRef} is not stored: a row that names a release must name a stored one.");
        }
    }

    public RegisterEntry? TryAdvance(long expectedVersion, long releaseRef, long restores, string kind, string? reason, long atTicks)
    {
        lock (_lock)
        {
            if (_register.Count != expectedVersion)
            {
                return null;
            }
            if (releaseRef < 1 || releaseRef > _releases.Count)
            {
                throw new ArgumentException($"Release {releaseRef} is not stored.", nameof(releaseRef));
            }
            var entry = new RegisterEntry(expectedVersion + 1, _releases[(int)releaseRef - 1].Release, restores, kind, reason, atTicks);
            _register.Add(entry);
            return entry;
        }
    }
}

/// <summary>The lifecycle of event runs in memory (see <see cref="IRunStore"/>).</summary>
internal sealed class InMemoryRunStore(InMemoryReleaseStore releases) : IRunStore
{
    private readonly Lock _lock = new();
    private readonly SortedDictionary<(string EventId, long Run, int Sequence), StoredTransition> _transitions = new(TransitionOrder.Instance);

    public IReadOnlyList<StoredTransition> Load()
    {
        lock (_lock)
        {
            return [.. _transitions.Values];
        }
    }

    public bool Append(IReadOnlyList<StoredTransition> transitions)
    {
        ArgumentNullException.ThrowIfNull(transitions);
        lock (_lock)
        {
            var keys = new HashSet<(string, long, int)>();
            foreach (var t in transitions)
            {
                releases.CheckExists(t.ReleaseRef);
                if (_transitions.ContainsKey((t.EventId, t.Run, t.Sequence)) || !keys.Add((t.EventId, t.Run, t.Sequence)))
                {
                    return false;
                }
            }
            foreach (var t in transitions)
            {
                _transitions.Add((t.EventId, t.Run, t.Sequence), t);
            }
            return true;
        }
    }

    private sealed class TransitionOrder : IComparer<(string EventId, long Run, int Sequence)>
    {
        public static readonly TransitionOrder Instance = new();

        public int Compare((string EventId, long Run, int Sequence) x, (string EventId, long Run, int Sequence) y)
        {
            int order = string.CompareOrdinal(x.EventId, y.EventId);
            if (order == 0)
            {
                order = x.Run.CompareTo(y.Run);
            }
            return order != 0 ? order : x.Sequence.CompareTo(y.Sequence);
        }
    }
}

/// <summary>Rollouts, their changes and assignments, and flags in memory (see <see cref="IRolloutStore"/>).</summary>
internal sealed class InMemoryRolloutStore(InMemoryReleaseStore releases) : IRolloutStore
{
    private readonly Lock _lock = new();
    private readonly List<StoredRollout> _rollouts = [];
    private readonly Dictionary<long, SortedDictionary<int, StoredRolloutChange>> _changes = [];
    private readonly Dictionary<long, SortedDictionary<string, RolloutAssignmentRow>> _assignments = [];
    private readonly List<StoredFlag> _flags = [];

    public StoredRollout Start(long candidateRef, long baselineRef, long registerVersion, string plan, string salt, long atTicks, string actor,
        long[] ledgerFrontier, string? reason)
    {
        ArgumentNullException.ThrowIfNull(ledgerFrontier);
        lock (_lock)
        {
            return StartLocked(candidateRef, baselineRef, registerVersion, plan, salt, atTicks, actor, ledgerFrontier, reason);
        }
    }

    public ValueTask<StoredRollout?> TryStartAsync(long expectedLatestId, long candidateRef, long baselineRef, long registerVersion, string plan, string salt,
        long atTicks, string actor, long[] ledgerFrontier, string? reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ledgerFrontier);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            return ValueTask.FromResult(_rollouts.Count == expectedLatestId
                ? StartLocked(candidateRef, baselineRef, registerVersion, plan, salt, atTicks, actor, ledgerFrontier, reason)
                : null);
        }
    }

    private StoredRollout StartLocked(long candidateRef, long baselineRef, long registerVersion, string plan, string salt, long atTicks, string actor,
        long[] ledgerFrontier, string? reason)
    {
        releases.CheckExists(candidateRef);
        releases.CheckExists(baselineRef);
        var rollout = new StoredRollout(_rollouts.Count + 1, candidateRef, baselineRef, registerVersion, plan, salt, atTicks, actor, [.. ledgerFrontier]);
        _rollouts.Add(rollout);
        _changes[rollout.Id] = new() { [0] = new StoredRolloutChange(rollout.Id, 0, "start", 0, atTicks, actor, reason) };
        return rollout;
    }

    public bool Append(StoredRolloutChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        lock (_lock)
        {
            if (!_changes.TryGetValue(change.RolloutId, out var changes))
            {
                throw new InvalidOperationException($"Rollout {change.RolloutId} is not stored: a change belongs to a stored rollout.");
            }
            return changes.TryAdd(change.Sequence, change);
        }
    }

    public StoredRollout? Find(long id)
    {
        lock (_lock)
        {
            return id >= 1 && id <= _rollouts.Count ? _rollouts[(int)id - 1] : null;
        }
    }

    public IReadOnlyList<StoredRollout> List(int limit)
    {
        lock (_lock)
        {
            return [.. Enumerable.Reverse(_rollouts).Take(limit)];
        }
    }

    public IReadOnlyList<StoredRolloutChange> Changes(long rolloutId)
    {
        lock (_lock)
        {
            return _changes.TryGetValue(rolloutId, out var changes) ? [.. changes.Values] : [];
        }
    }

    public IReadOnlyList<RolloutAssignmentRow> Assignments(long rolloutId)
    {
        lock (_lock)
        {
            return _assignments.TryGetValue(rolloutId, out var rows) ? [.. rows.Values] : [];
        }
    }

    public long CountAssignments(long rolloutId)
    {
        lock (_lock)
        {
            return _assignments.TryGetValue(rolloutId, out var rows) ? rows.Count : 0;
        }
    }

    /// <summary>The group commit's assignments: the first one of a player in a rollout stays.</summary>
    internal void WriteAssignments(IReadOnlyList<RolloutAssignmentRow> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }
        lock (_lock)
        {
            foreach (var row in rows)
            {
                if (!_assignments.TryGetValue(row.RolloutId, out var players))
                {
                    _assignments[row.RolloutId] = players = new SortedDictionary<string, RolloutAssignmentRow>(StringComparer.Ordinal);
                }
                players.TryAdd(row.Player, row);
            }
        }
    }

    public IReadOnlyList<StoredFlag> Flags()
    {
        lock (_lock)
        {
            return [.. _flags];
        }
    }

    public StoredFlag AppendFlag(string kind, string target, bool enabled, long atTicks, string actor, string? reason)
    {
        lock (_lock)
        {
            var flag = new StoredFlag(_flags.Count + 1, kind, target, enabled, atTicks, actor, reason);
            _flags.Add(flag);
            return flag;
        }
    }

    public ValueTask<StoredFlag?> TryAppendFlagAsync(long expectedSequence, string kind, string target, bool enabled, long atTicks, string actor,
        string? reason, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(kind);
        ArgumentNullException.ThrowIfNull(target);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            long latest = _flags.LastOrDefault(f => f.Kind == kind && f.Target == target)?.Sequence ?? 0;
            return ValueTask.FromResult(latest == expectedSequence ? AppendFlag(kind, target, enabled, atTicks, actor, reason) : null);
        }
    }
}

/// <summary>API keys in memory (see <see cref="IKeyStore"/>).</summary>
internal sealed class InMemoryKeyStore : IKeyStore
{
    private readonly Lock _lock = new();
    private readonly List<StoredKey> _keys = [];

    public bool Insert(StoredKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        // The SQLite table's checks, so that a test on memory refuses what the real store refuses.
        bool shape = key.Kind switch
        {
            StoredKey.OperatorKind => key.Role is "viewer" or "operator" or "approver" or StoredKey.AdminRole && key.Title is null,
            StoredKey.GameServerKind => key.Role is null && key.Title is not null,
            _ => false,
        };
        if (!shape || key.SecretSha256.Length != 32 || key.RevokedAtTicks is not null || key.RevokedBy is not null)
        {
            throw new ArgumentException($"Key '{key.Id}' does not have the stored shape (kind and role or title, a 32-byte hash, not revoked).", nameof(key));
        }
        lock (_lock)
        {
            if (_keys.Any(k => k.Id == key.Id))
            {
                return false;
            }
            _keys.Add(key);
            return true;
        }
    }

    public StoredKey? Find(string id)
    {
        lock (_lock)
        {
            return _keys.Find(k => k.Id == id);
        }
    }

    public IReadOnlyList<StoredKey> ListActive()
    {
        lock (_lock)
        {
            return [.. _keys.Where(k => k.RevokedAtTicks is null)];
        }
    }

    public IReadOnlyList<StoredKey> List(int limit, string? afterId)
    {
        lock (_lock)
        {
            int start = afterId is null ? 0 : _keys.FindIndex(k => k.Id == afterId) + 1;
            return [.. _keys.Skip(start).Take(limit)];
        }
    }

    public long Count()
    {
        lock (_lock)
        {
            return _keys.Count;
        }
    }

    public (RevokeOutcome Outcome, StoredKey? Key) Revoke(string id, long atTicks, string revokedBy)
    {
        lock (_lock)
        {
            int at = _keys.FindIndex(k => k.Id == id);
            if (at < 0)
            {
                return (RevokeOutcome.NotFound, null);
            }
            var key = _keys[at];
            if (key.RevokedAtTicks is not null)
            {
                return (RevokeOutcome.AlreadyRevoked, key);
            }
            if (key.IsActiveAdmin && _keys.Count(k => k.IsActiveAdmin) <= 1)
            {
                return (RevokeOutcome.LastAdmin, key);
            }
            var revoked = key with { RevokedAtTicks = atTicks, RevokedBy = revokedBy };
            _keys[at] = revoked;
            return (RevokeOutcome.Revoked, revoked);
        }
    }
}
