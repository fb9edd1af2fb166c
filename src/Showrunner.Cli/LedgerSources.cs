using System.Globalization;
using System.Text.Json;
using Showrunner.Core.Ledger;
using Showrunner.Storage;

namespace Showrunner.Cli;

/// <summary>A ledger source could not be read (the server refused or answered something that is not the documented shape): a stable code and a message.</summary>
internal sealed class LedgerSourceException(string code, string message) : Exception(message)
{
    public const string ServerUnreachable = "server.unreachable";
    public const string ServerRefused = "server.refused";
    public const string ServerAnswerInvalid = "server.answer_invalid";

    public string Code { get; } = code;
}

/// <summary>
/// The ledger of a data directory, read through <see cref="IDataDirectoryReader"/> (one
/// read-only snapshot; the server may be running). Adds two checks only a store can make: the
/// columns that repeat an entry's fields for lookups hold the entry's values (a grant id column
/// changed behind the entry's back would make the server think a grant was never made), and
/// duplicate grant ids, found by SQL without holding every id in memory.
/// </summary>
internal sealed class DataDirectoryLedgerSource(IDataDirectoryReader reader) : ILedgerSource
{
    public const string ColumnsMismatch = "ledger.columns_mismatch";

    private LedgerRow? _current;

    public int PartitionCount => reader.PartitionCount;

    public IEnumerable<CheckpointRecord> Checkpoints() =>
        reader.Checkpoints().Select(c => new CheckpointRecord(c.Sequence, c.KeyId, c.Body, c.Signature));

    public IEnumerable<StoredEntry> Entries(int partition)
    {
        foreach (var row in reader.Entries(partition))
        {
            _current = row;
            yield return new StoredEntry(row.Index, row.Entry, row.PrevHash, row.Hash);
        }
        _current = null;
    }

    public EntryProblem? CheckEntry(GrantEntry entry)
    {
        var row = _current ?? throw new InvalidOperationException("CheckEntry is called for the entry just read.");
        string? field =
            Convert.ToHexStringLower(row.GrantId) != entry.GrantId ? "grant_id"
            : row.Player != entry.Player ? "player"
            : row.EventId != entry.EventId ? "event_id"
            : row.Run != entry.Run ? "run"
            : row.CauseKind != GrantEntry.KindName(entry.CauseKind) ? "cause_kind"
            : row.TimeTicks != entry.TimeTicks ? "time"
            : null;
        return field is null ? null : new EntryProblem(ColumnsMismatch, $"the row's {field} column differs from the entry's own field");
    }

    public IReadOnlyList<DuplicateGrant>? FindDuplicates(int limit)
    {
        var duplicates = new List<DuplicateGrant>();
        DuplicateGrantRow? first = null;
        foreach (var row in reader.DuplicateGrants(limit))
        {
            if (first is null || first.GrantId != row.GrantId)
            {
                first = row;
                continue;
            }
            duplicates.Add(new DuplicateGrant(row.GrantId, row.Partition, row.Index, first.Partition, first.Index));
        }
        return duplicates;
    }
}

/// <summary>
/// The ledger as a server serves it (the endpoints listed in docs/cli.md, "ledger verify"):
/// <c>GET /v1/ledger</c>, the key, the checkpoints and each partition's entries, page by page (at
/// most <see cref="PageSize"/> items asked for; a server may answer with fewer).
/// Every answer is checked against the documented shape before it is used; the server's word is
/// never taken for a hash, only its bytes.
/// </summary>
/// <remarks>
/// Requests are synchronous: the verifier pulls one page at a time as it walks, so memory is one
/// page, and a CLI has nothing else to do meanwhile. Checkpoints are read before the entries, so a
/// server that keeps appending while the walk runs only adds entries beyond every checkpoint read.
/// </remarks>
internal sealed class ServerLedgerSource(HttpClient client) : ILedgerSource
{
    public const int PageSize = 1000;

    /// <summary>Largest answer read (a page of 1,000 entries of at most 64 KiB each, in base64, fits).</summary>
    public const long MaxAnswerBytes = 128L * 1024 * 1024;

    private int? _partitionCount;

    public int PartitionCount => _partitionCount ?? throw new InvalidOperationException("Call ReadSummary first.");

    /// <summary>Reads <c>GET /v1/ledger</c>: the partition count (kept for the walk) and the server's own entry count.</summary>
    public (int Partitions, long Entries) ReadSummary()
    {
        using var document = Get("v1/ledger");
        var root = document.RootElement;
        int partitions = Int(root, "partitions", "v1/ledger") is var p and >= 1 and <= Checkpoint.PartitionCountMax
            ? (int)p
            : throw Invalid("v1/ledger", "'partitions' is not a partition count");
        long entries = Int(root, "entries", "v1/ledger");
        _partitionCount = partitions;
        return (partitions, entries);
    }

    /// <summary>The ledger's public key PEM as the server serves it.</summary>
    public string ReadKeyPem() => Send("v1/ledger/key?format=pem", body => System.Text.Encoding.UTF8.GetString(body));

    public IEnumerable<CheckpointRecord> Checkpoints()
    {
        long after = -1;
        while (true)
        {
            string path = string.Create(CultureInfo.InvariantCulture, $"v1/ledger/checkpoints?after={after}&limit={PageSize}");
            var page = new List<CheckpointRecord>();
            long? next;
            using (var document = Get(path))
            {
                var root = document.RootElement;
                foreach (var item in Array(root, "checkpoints", path))
                {
                    long sequence = Int(item, "sequence", path);
                    if (sequence <= after)
                    {
                        throw Invalid(path, $"checkpoint {sequence} is not after {after}: the pages are not in ascending order");
                    }
                    after = sequence;
                    page.Add(new CheckpointRecord(sequence, Text(item, "key_id", path), Base64(item, "checkpoint", path), Base64(item, "signature", path)));
                }
                next = IntOrNull(root, "next_after", path);
            }
            foreach (var checkpoint in page)
            {
                yield return checkpoint;
            }
            if (next is null)
            {
                yield break;
            }
            if (page.Count == 0 || next != after)
            {
                throw Invalid(path, $"next_after is {next}, but the page ends at checkpoint {after}");
            }
        }
    }

    public IEnumerable<StoredEntry> Entries(int partition)
    {
        long from = 0;
        while (true)
        {
            string path = string.Create(CultureInfo.InvariantCulture, $"v1/ledger/partitions/{partition}/entries?from={from}&limit={PageSize}");
            var page = new List<StoredEntry>();
            long? next;
            using (var document = Get(path))
            {
                var root = document.RootElement;
                if (Int(root, "partition", path) != partition)
                {
                    throw Invalid(path, "the page is of another partition");
                }
                foreach (var item in Array(root, "entries", path))
                {
                    // The index as served, checked by the chain verifier like a stored one.
                    page.Add(new StoredEntry(Int(item, "index", path), Base64(item, "entry", path), Hex(item, "prev_hash", path), Hex(item, "hash", path)));
                }
                next = IntOrNull(root, "next_from", path);
            }
            foreach (var entry in page)
            {
                yield return entry;
            }
            if (next is null)
            {
                yield break;
            }
            // A page must make progress, or a broken server would keep the walk going forever.
            if (page.Count == 0 || next <= from)
            {
                throw Invalid(path, $"next_from is {next} after a page of {page.Count} entries from {from}");
            }
            from = next.Value;
        }
    }

    // The server's answers carry only the canonical bytes: there are no separate columns to compare.
    public EntryProblem? CheckEntry(GrantEntry entry) => null;

    // No endpoint finds duplicates: the verifier remembers the grant ids it reads.
    public IReadOnlyList<DuplicateGrant>? FindDuplicates(int limit) => null;

    private JsonDocument Get(string path) => Send(path, body =>
    {
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException exception)
        {
            throw Invalid(path, "the answer is not JSON: " + exception.Message);
        }
    });

    private T Send<T>(string path, Func<byte[], T> read)
    {
        HttpResponseMessage response;
        try
        {
            // A walk of a large ledger is many pages: when the server's rate limit answers 429,
            // wait as long as it says (up to a minute, a few times) instead of failing the walk.
            for (int attempt = 0; ; attempt++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
                response = client.Send(request, HttpCompletionOption.ResponseContentRead);
                if (response.StatusCode != System.Net.HttpStatusCode.TooManyRequests || attempt == ServerCommands.RateLimitRetries ||
                    response.Headers.RetryAfter?.Delta is not { } wait || wait > TimeSpan.FromSeconds(60))
                {
                    break;
                }
                response.Dispose();
                Thread.Sleep(wait);
            }
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or NotSupportedException)
        {
            throw new LedgerSourceException(LedgerSourceException.ServerUnreachable, $"cannot reach {client.BaseAddress}: {exception.Message}");
        }
        using (response)
        {
            byte[] body;
            using (var stream = response.Content.ReadAsStream())
            using (var buffer = new MemoryStream())
            {
                stream.CopyTo(buffer);
                body = buffer.ToArray();
            }
            if (!response.IsSuccessStatusCode)
            {
                string problem = "";
                try
                {
                    using var document = JsonDocument.Parse(body);
                    if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("code", out var code))
                    {
                        problem = $": {code} {(document.RootElement.TryGetProperty("detail", out var detail) ? detail.ToString() : "")}";
                    }
                }
                catch (JsonException)
                {
                    // Not a problem document (a proxy's page): the status says enough.
                }
                throw new LedgerSourceException(LedgerSourceException.ServerRefused,
                    $"GET /{path} answered {(int)response.StatusCode} {response.ReasonPhrase}{problem}");
            }
            return read(body);
        }
    }

    private static LedgerSourceException Invalid(string path, string detail) =>
        new(LedgerSourceException.ServerAnswerInvalid, $"GET /{path}: {detail}");

    private static JsonElement Member(JsonElement element, string name, string path) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : throw Invalid(path, $"'{name}' is missing");

    private static long Int(JsonElement element, string name, string path) =>
        Member(element, name, path) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt64(out long number)
            ? number
            : throw Invalid(path, $"'{name}' is not an integer");

    private static long? IntOrNull(JsonElement element, string name, string path) =>
        Member(element, name, path).ValueKind == JsonValueKind.Null ? null : Int(element, name, path);

    private static string Text(JsonElement element, string name, string path) =>
        Member(element, name, path) is { ValueKind: JsonValueKind.String } value ? value.GetString()! : throw Invalid(path, $"'{name}' is not a string");

    private static JsonElement.ArrayEnumerator Array(JsonElement element, string name, string path) =>
        Member(element, name, path) is { ValueKind: JsonValueKind.Array } value ? value.EnumerateArray() : throw Invalid(path, $"'{name}' is not an array");

    private static byte[] Base64(JsonElement element, string name, string path)
    {
        try
        {
            return Convert.FromBase64String(Text(element, name, path));
        }
        catch (FormatException)
        {
            throw Invalid(path, $"'{name}' is not base64");
        }
    }

    private static byte[] Hex(JsonElement element, string name, string path)
    {
        string text = Text(element, name, path);
        return text.Length == 64 && text.All(char.IsAsciiHexDigitLower) ? Convert.FromHexString(text) : throw Invalid(path, $"'{name}' is not 64 lower-case hex digits");
    }
}
