using System.Buffers;
using System.Text.Json;
using Showrunner.Core.Actions;
using Showrunner.Core.Ledger;

namespace Showrunner.Runtime.Ingest;

/// <summary>
/// The body the outbox POSTs for a grant (docs/webhooks.md, "Payload"): the grant's fields for the
/// receiver's inventory code, and the canonical ledger entry (base64) so that the receiver can
/// match it to a receipt. Built once when the grant is made and stored, so every attempt sends
/// byte-for-byte the same body.
/// </summary>
public static class GrantPayload
{
    public const string Format = "showrunner-grant/1";

    public static byte[] Build(GrantEntry entry) => Build(entry, new ArrayBufferWriter<byte>(1024), null);

    /// <summary>
    /// Builds the payload with the caller's scratch buffer and writer (an executor keeps one of
    /// each): the only allocation is the returned array.
    /// </summary>
    public static byte[] Build(GrantEntry entry, ArrayBufferWriter<byte> scratch, Utf8JsonWriter? reusable)
    {
        scratch.ResetWrittenCount();
        var writer = reusable ?? new Utf8JsonWriter(scratch);
        writer.Reset(scratch);
        {
            writer.WriteStartObject();
            writer.WriteString("format", Format);
            writer.WriteString("grant_id", entry.GrantId);
            writer.WriteString("player", entry.Player);
            writer.WriteString("event", entry.EventId);
            writer.WriteNumber("run", entry.Run);
            writer.WriteString("rule", entry.Rule);
            writer.WriteString("cause_kind", GrantEntry.KindName(entry.CauseKind));
            writer.WriteString("cause_id", entry.CauseId);
            if (entry.ActionId is null)
            {
                writer.WriteNull("action");
            }
            else
            {
                writer.WriteString("action", entry.ActionId);
            }
            writer.WriteStartArray("rewards");
            foreach (var line in entry.Rewards)
            {
                writer.WriteStartObject();
                writer.WriteString("name", line.Name);
                writer.WriteNumber("amount", line.Amount);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteString("release", entry.ReleaseId);
            writer.WriteString("time", Rfc3339.Format(entry.TimeTicks));
            if (entry.Author is null)
            {
                writer.WriteNull("author");
                writer.WriteNull("reason");
            }
            else
            {
                writer.WriteString("author", entry.Author);
                writer.WriteString("reason", entry.Reason);
            }
            writer.WriteNumber("partition", entry.Partition);
            writer.WriteNumber("index", entry.Index);
            writer.WriteBase64String("entry", entry.CanonicalBytes);
            writer.WriteEndObject();
        }
        writer.Flush();
        if (reusable is null)
        {
            writer.Dispose();
        }
        return scratch.WrittenSpan.ToArray();
    }
}
