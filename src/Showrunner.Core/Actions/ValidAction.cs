namespace Showrunner.Core.Actions;

/// <summary>
/// An action that passed validation: every field is in its canonical form, so two deliveries of
/// the same action compare equal with <see cref="SameContentAs"/> whatever whitespace or
/// timestamp precision the sender used.
/// </summary>
public sealed class ValidAction
{
    public ValidAction(string id, string player, string type, long atTicks, byte[] data)
    {
        Id = id;
        Player = player;
        Type = type;
        AtTicks = atTicks;
        Data = data;
    }

    /// <summary>The idempotency key: applied at most once, forever.</summary>
    public string Id { get; }
    public string Player { get; }
    public string Type { get; }
    /// <summary>The sender's time, as UTC ticks (100 ns) since 0001-01-01.</summary>
    public long AtTicks { get; }
    /// <summary>The data object as compact UTF-8 JSON (whitespace outside strings removed).</summary>
    public byte[] Data { get; }

    public bool SameContentAs(string player, string type, long atTicks, ReadOnlySpan<byte> data) =>
        Player == player && Type == type && AtTicks == atTicks && Data.AsSpan().SequenceEqual(data);

    public bool SameContentAs(ValidAction other) =>
        SameContentAs(other.Player, other.Type, other.AtTicks, other.Data);
}

/// <summary>One element of a parsed batch: either a valid action or a rejection (with the id if it had one).</summary>
public readonly record struct BatchItem(string? Id, ValidAction? Action, ActionRejection? Rejection)
{
    public static BatchItem Valid(ValidAction action) => new(action.Id, action, null);
    public static BatchItem Rejected(string? id, ActionRejection rejection) => new(id, null, rejection);
}
