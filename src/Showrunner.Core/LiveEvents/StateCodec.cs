using System.Text;

namespace Showrunner.Core.LiveEvents;

/// <summary>
/// The binary form of partition snapshots (docs/internals/live-events.md, "Snapshots"). Derived
/// state, so the format is versioned and a reader refuses what it does not know (the state is then
/// rebuilt from the action log). Integers little-endian; strings as a 7-bit-encoded UTF-8 length
/// and the bytes (BinaryWriter's format). Deterministic: the same state gives the same bytes.
/// </summary>
public static class StateCodec
{
    public const byte PlayerFormat = 1;
    public const byte PartitionFormat = 1;

    public static byte[] EncodePlayer(PlayerState player)
    {
        using var stream = new MemoryStream(64 + (player.RunCount * 96));
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(PlayerFormat);
            if (player.Profile is { } profile)
            {
                writer.Write(true);
                writer.Write(profile.Length);
                writer.Write(profile);
            }
            else
            {
                writer.Write(false);
            }
            writer.Write(player.RunCount);
            foreach (var progress in player.Runs)
            {
                writer.Write(progress.Run.EventId);
                writer.Write(progress.Run.Run);
                writer.Write(progress.Total);
                writer.Write(progress.AchievedAt.HasValue);
                if (progress.AchievedAt is { } achieved)
                {
                    writer.Write(achieved.IngestTicks);
                    writer.Write(achieved.Partition);
                    writer.Write(achieved.Seq);
                }
                writer.Write(progress.CommunityGoalGranted);
                var points = progress.ObjectivePoints;
                var buckets = progress.HourBuckets;
                var hourPoints = progress.HourPoints;
                writer.Write(points.Count);
                var names = progress.ObjectiveNames;
                for (int i = 0; i < points.Count; i++)
                {
                    writer.Write(names is not null && i < names.Count ? names[i] : "");
                    writer.Write(points[i]);
                    writer.Write(buckets[i]);
                    writer.Write(hourPoints[i]);
                }
                writer.Write(progress.TiersReached.Count);
                foreach (string tier in progress.TiersReached)
                {
                    writer.Write(tier);
                }
            }
        }
        return stream.ToArray();
    }

    /// <summary>
    /// Shares the strings and objective-name arrays of decoded states: a restart decodes millions
    /// of player-runs, and one array per run (until its first action realigns it) would be a
    /// memory spike at start. One pool per loading thread; not thread-safe.
    /// </summary>
    public sealed class Pool
    {
        private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string[]> _names = new(StringComparer.Ordinal);

        public string Share(string value)
        {
            if (_strings.TryGetValue(value, out string? shared))
            {
                return shared;
            }
            _strings.Add(value, value);
            return value;
        }

        public string[] Share(string[] names)
        {
            string key = string.Join('\u0001', names);
            if (_names.TryGetValue(key, out var shared))
            {
                return shared;
            }
            _names.Add(key, names);
            return names;
        }
    }

    /// <summary>Reads a player's state; throws <see cref="InvalidDataException"/> on anything but a well-formed state.</summary>
    public static PlayerState DecodePlayer(string player, byte[] data) => DecodePlayer(player, data, new Pool());

    /// <inheritdoc cref="DecodePlayer(string, byte[])"/>
    public static PlayerState DecodePlayer(string player, byte[] data, Pool pool)
    {
        try
        {
            using var reader = new BinaryReader(new MemoryStream(data, writable: false), Encoding.UTF8);
            byte format = reader.ReadByte();
            if (format != PlayerFormat)
            {
                throw new InvalidDataException($"Player state format {format} is not known (expected {PlayerFormat}).");
            }
            var state = new PlayerState(player);
            if (reader.ReadBoolean())
            {
                state.RestoreProfile(reader.ReadBytes(reader.ReadInt32()));
            }
            int runs = reader.ReadInt32();
            for (int r = 0; r < runs; r++)
            {
                var key = new RunKey(pool.Share(reader.ReadString()), reader.ReadInt64());
                long total = reader.ReadInt64();
                AchievedAt? achieved = reader.ReadBoolean() ? new AchievedAt(reader.ReadInt64(), reader.ReadInt32(), reader.ReadInt64()) : null;
                bool communityGranted = reader.ReadBoolean();
                int count = reader.ReadInt32();
                var names = new string[count];
                var points = new long[count];
                var buckets = new long[count];
                var hourPoints = new long[count];
                for (int i = 0; i < count; i++)
                {
                    names[i] = pool.Share(reader.ReadString());
                    points[i] = reader.ReadInt64();
                    buckets[i] = reader.ReadInt64();
                    hourPoints[i] = reader.ReadInt64();
                }
                int tierCount = reader.ReadInt32();
                var tiers = new string[tierCount];
                for (int i = 0; i < tierCount; i++)
                {
                    tiers[i] = pool.Share(reader.ReadString());
                }
                var progress = PlayerRunProgress.Restore(player, key, points, total, achieved, buckets, hourPoints, tiers);
                if (names.All(n => n.Length > 0))
                {
                    progress.RestoreObjectiveNames(pool.Share(names));
                }
                progress.CommunityGoalGranted = communityGranted;
                state.Add(progress);
            }
            if (reader.BaseStream.Position != data.Length)
            {
                throw new InvalidDataException("Player state has trailing bytes.");
            }
            return state;
        }
        catch (Exception exception) when (exception is EndOfStreamException or IOException or ArgumentException or InvalidOperationException)
        {
            throw new InvalidDataException($"The stored state of player '{player}' is damaged: {exception.Message}", exception);
        }
    }

    public static byte[] EncodePartition(IReadOnlyDictionary<RunKey, long> slots)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(PartitionFormat);
            writer.Write(slots.Count);
            foreach (var (run, slot) in slots.OrderBy(s => s.Key.EventId, StringComparer.Ordinal).ThenBy(s => s.Key.Run))
            {
                writer.Write(run.EventId);
                writer.Write(run.Run);
                writer.Write(slot);
            }
        }
        return stream.ToArray();
    }

    public static IReadOnlyList<(RunKey Run, long Slot)> DecodePartition(byte[] data)
    {
        try
        {
            using var reader = new BinaryReader(new MemoryStream(data, writable: false), Encoding.UTF8);
            byte format = reader.ReadByte();
            if (format != PartitionFormat)
            {
                throw new InvalidDataException($"Partition state format {format} is not known (expected {PartitionFormat}).");
            }
            int count = reader.ReadInt32();
            var slots = new List<(RunKey, long)>(count);
            for (int i = 0; i < count; i++)
            {
                slots.Add((new RunKey(reader.ReadString(), reader.ReadInt64()), reader.ReadInt64()));
            }
            return slots;
        }
        catch (Exception exception) when (exception is EndOfStreamException or IOException or ArgumentException)
        {
            throw new InvalidDataException($"A stored partition state is damaged: {exception.Message}", exception);
        }
    }
}
