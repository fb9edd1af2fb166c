using System.Globalization;
using System.Text.Json;
using Showrunner.Core.Actions;
using Showrunner.Core.Audit;
using Showrunner.Storage;

namespace Showrunner.Cli;

/// <summary>
/// <c>audit verify</c>: recomputes the audit log's hash chain — from a data directory (read-only;
/// the server may be running) or from a server's <c>GET /v1/audit</c> pages — and reports the first
/// bad entry, or <c>ok: N entries, head HASH</c>. With <c>--expect-head</c>, a head recorded earlier
/// must still be in the chain (a log cut back to before it, or rewritten, fails). docs/cli.md.
/// </summary>
internal sealed class AuditVerifyCommand(TextWriter output, TextWriter errors, HttpMessageHandler? handler = null)
{
    public const string EntriesWithheld = "server.entries_withheld";
    public const string HeadMismatch = "server.head_mismatch";
    public const int PageSize = 500;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    public int Run(string? dataDirectory, string? server, string? expectHead, bool json, string? key = null)
    {
        if ((dataDirectory is null) == (server is null))
        {
            errors.WriteLine("error: give exactly one of --data DIR (a data directory) and --server URL (a running server).");
            return ExitCodes.Usage;
        }
        byte[]? expected = null;
        if (expectHead is not null)
        {
            if (expectHead.Length != 64 || !expectHead.All(char.IsAsciiHexDigit))
            {
                errors.WriteLine($"error: --expect-head '{expectHead}' is not a head hash (64 hexadecimal characters, as 'audit verify' or GET /v1/audit/head print it).");
                return ExitCodes.Usage;
            }
            expected = Convert.FromHexString(expectHead);
        }
        return dataDirectory is not null ? RunOnDirectory(dataDirectory, expected, json) : RunOnServer(server!, expected, json, key);
    }

    private int RunOnDirectory(string dataDirectory, byte[]? expected, bool json)
    {
        if (!Directory.Exists(dataDirectory))
        {
            errors.WriteLine($"error: data_directory_missing: '{dataDirectory}' does not exist.");
            return ExitCodes.Usage;
        }
        IDataDirectoryReader reader;
        try
        {
            reader = DataDirectoryStores.Open(dataDirectory);
        }
        catch (StoreConfigurationException exception)
        {
            errors.WriteLine($"error: {exception.Code}: {exception.Message}");
            return ExitCodes.Problems;
        }
        using (reader)
        {
            try
            {
                var entries = reader.AuditEntries().Select(e =>
                    new AuditEntry(e.Seq, e.AtTicks, e.Actor, e.Action, e.Target, e.Before, e.After, e.Reason, e.Details, e.PrevHash, e.Hash));
                return Report(AuditChain.Verify(entries, expected), "data", null, json);
            }
            catch (Exception exception) when (exception is StoreDataException or InvalidCastException or FormatException)
            {
                errors.WriteLine($"error: store_damaged: reading {reader.Location} failed: {exception.Message}");
                return ExitCodes.Problems;
            }
        }
    }

    private int RunOnServer(string server, byte[]? expected, bool json, string? key)
    {
        if (!Uri.TryCreate(server.EndsWith('/') ? server : server + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            errors.WriteLine($"error: --server '{server}' is not an http:// or https:// URL.");
            return ExitCodes.Usage;
        }
        using var client = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        client.BaseAddress = uri;
        client.Timeout = RequestTimeout;
        if (key is not null)
        {
            if (!ServerCommands.IsSendableKey(key))
            {
                errors.WriteLine("error: --api-key is not a key that can be sent (printable ASCII without spaces, at most 4,096 characters).");
                return ExitCodes.Usage;
            }
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }
        client.MaxResponseContentBufferSize = 64L * 1024 * 1024;
        var source = new ServerAuditSource(client);
        try
        {
            var verification = AuditChain.Verify(source.Entries(), expected);
            // The log only grows, so a walk that read fewer entries than the head the server
            // reported first was served a shorter log than the server admits to.
            (string Code, string Detail)? extra = null;
            if (verification.IsValid && source.FirstHeadSeq is { } headSeq)
            {
                if (verification.Entries < headSeq)
                {
                    extra = (EntriesWithheld, $"the server reports its head at entry {headSeq}, but its pages held {verification.Entries} entries");
                }
                else if (verification.Entries == headSeq && !verification.HeadHash.AsSpan().SequenceEqual(source.FirstHeadHash))
                {
                    extra = (HeadMismatch, $"the server reports head hash {Convert.ToHexStringLower(source.FirstHeadHash!)} for entry {headSeq}, its entries hash to {Convert.ToHexStringLower(verification.HeadHash)}");
                }
            }
            return Report(verification, "server", extra, json);
        }
        catch (LedgerSourceException exception)
        {
            errors.WriteLine($"error: {exception.Code}: {exception.Message}");
            return ExitCodes.Problems;
        }
    }

    private int Report(AuditVerification verification, string source, (string Code, string Detail)? serverProblem, bool json)
    {
        bool ok = verification.IsValid && serverProblem is null;
        string head = verification.HeadSeq == 0 ? "none" : Convert.ToHexStringLower(verification.HeadHash);
        string? code = !verification.IsValid ? verification.Code : serverProblem?.Code;
        string? detail = !verification.IsValid ? verification.Detail : serverProblem?.Detail;
        if (json)
        {
            CliJson.WriteObject(output, w =>
            {
                w.WriteBoolean("ok", ok);
                w.WriteString("source", source);
                w.WriteNumber("entries", verification.Entries);
                w.WriteNumber("head_seq", verification.HeadSeq);
                if (verification.HeadSeq == 0)
                {
                    w.WriteNull("head_hash");
                }
                else
                {
                    w.WriteString("head_hash", head);
                }
                if (ok)
                {
                    w.WriteNull("problem");
                    return;
                }
                w.WriteStartObject("problem");
                w.WriteString("code", code);
                LedgerVerifyCommand.WriteNumberOrNull(w, "seq", verification.FirstBadSeq);
                w.WriteString("detail", detail);
                w.WriteEndObject();
            });
        }
        else if (ok)
        {
            output.WriteLine($"ok: {verification.Entries} entries, head {head}");
        }
        else
        {
            string where = verification.FirstBadSeq is { } seq ? $"entry {seq}: " : "";
            errors.WriteLine($"error: {code}: {where}{detail}");
            output.WriteLine(verification.FirstBadSeq is { } bad
                ? $"failed: entry {bad} is the first bad entry ({code}); {verification.Entries} entries before it verify"
                : $"failed: {code}; {verification.Entries} entries verify, head {head}");
        }
        return ok ? ExitCodes.Ok : ExitCodes.Problems;
    }
}

/// <summary>
/// The audit log as a server serves it: <c>GET /v1/audit?after=N&amp;limit=500</c>, oldest first,
/// page by page. Every answer is checked against the documented shape; the entries' fields are
/// taken as served and hashed here, never the server's word for a hash.
/// </summary>
internal sealed class ServerAuditSource(HttpClient client)
{
    /// <summary>The head the first page reported (seq and hash), for the withheld-entries check.</summary>
    public long? FirstHeadSeq { get; private set; }
    public byte[]? FirstHeadHash { get; private set; }

    public IEnumerable<AuditEntry> Entries()
    {
        long after = 0;
        while (true)
        {
            string path = string.Create(CultureInfo.InvariantCulture, $"v1/audit?after={after}&limit={AuditVerifyCommand.PageSize}");
            var page = new List<AuditEntry>();
            bool more;
            using (var document = Get(path))
            {
                var root = document.RootElement;
                if (FirstHeadSeq is null)
                {
                    var head = Member(root, "head", path);
                    FirstHeadSeq = Int(head, "seq", path);
                    FirstHeadHash = Hex(head, "hash", path);
                }
                foreach (var item in Array(root, "entries", path))
                {
                    var entry = Entry(item, path);
                    if (entry.Seq <= after)
                    {
                        throw Invalid(path, $"entry {entry.Seq} is not after {after}: the pages are not in ascending order");
                    }
                    after = entry.Seq;
                    page.Add(entry);
                }
                var next = Member(root, "next", path);
                more = next.ValueKind != JsonValueKind.Null;
            }
            foreach (var entry in page)
            {
                yield return entry;
            }
            if (!more)
            {
                yield break;
            }
            if (page.Count == 0)
            {
                throw Invalid(path, "the page is empty but names a next one");
            }
        }
    }

    private static AuditEntry Entry(JsonElement item, string path)
    {
        string at = Text(item, "at", path);
        // A time that is not the exact RFC 3339 form the server writes cannot be what was hashed.
        long ticks = Rfc3339.TryParseUtc(at, out long parsed, out _) && Rfc3339.Format(parsed) == at ? parsed : long.MinValue;
        return new AuditEntry(Int(item, "seq", path), ticks, Text(item, "actor", path), Text(item, "action", path), Text(item, "target", path),
            TextOrNull(item, "before", path), TextOrNull(item, "after", path), TextOrNull(item, "reason", path), TextOrNull(item, "details", path),
            Hex(item, "prev_hash", path), Hex(item, "hash", path));
    }

    private JsonDocument Get(string path)
    {
        HttpResponseMessage response;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
            response = client.Send(request, HttpCompletionOption.ResponseContentRead);
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
                throw new LedgerSourceException(LedgerSourceException.ServerRefused, $"GET /{path} answered {(int)response.StatusCode} {response.ReasonPhrase}");
            }
            try
            {
                return JsonDocument.Parse(body);
            }
            catch (JsonException exception)
            {
                throw Invalid(path, "the answer is not JSON: " + exception.Message);
            }
        }
    }

    private static LedgerSourceException Invalid(string path, string detail) => new(LedgerSourceException.ServerAnswerInvalid, $"GET /{path}: {detail}");

    private static JsonElement Member(JsonElement element, string name, string path) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : throw Invalid(path, $"'{name}' is missing");

    private static long Int(JsonElement element, string name, string path) =>
        Member(element, name, path) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt64(out long number)
            ? number
            : throw Invalid(path, $"'{name}' is not an integer");

    private static string Text(JsonElement element, string name, string path) =>
        Member(element, name, path) is { ValueKind: JsonValueKind.String } value ? value.GetString()! : throw Invalid(path, $"'{name}' is not a string");

    private static string? TextOrNull(JsonElement element, string name, string path) =>
        Member(element, name, path).ValueKind == JsonValueKind.Null ? null : Text(element, name, path);

    private static JsonElement.ArrayEnumerator Array(JsonElement element, string name, string path) =>
        Member(element, name, path) is { ValueKind: JsonValueKind.Array } value ? value.EnumerateArray() : throw Invalid(path, $"'{name}' is not an array");

    private static byte[] Hex(JsonElement element, string name, string path)
    {
        string text = Text(element, name, path);
        return text.Length == 64 && text.All(char.IsAsciiHexDigitLower) ? Convert.FromHexString(text) : throw Invalid(path, $"'{name}' is not 64 lower-case hex digits");
    }
}
