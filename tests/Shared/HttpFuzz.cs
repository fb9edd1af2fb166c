using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;

namespace Showrunner.Testing;

/// <summary>
/// A grammar-aware HTTP fuzzer for the Showrunner API (docs/testing.md, "The HTTP fuzzer"): FsCheck
/// generators over each endpoint's request schema (action batches, keys, flags, grants and
/// corrections, releases activate and rollback, rollout start/advance/rollback, player tokens,
/// approvals, outbox redelivery, run operations, list queries), then structural and byte-level
/// mutations (lone surrogates, NULs, huge numbers, deep nesting, duplicate members, truncation,
/// invalid UTF-8, trailing data, comments, wrong content types and charsets, chunked framing, a
/// body that ends before its Content-Length). Shared by the end-to-end test (fixed seed, small
/// budget) and <c>bench fuzz</c> (random seed, long run).
/// </summary>
/// <remarks>
/// The oracle (<see cref="HttpFuzzer"/>): no 5xx; every request answered within the bound; every
/// error a problem document (Kestrel's own empty 400 only for a request line it refuses); nothing
/// stored by a refused request (the log's accepted actions and the audit head are unchanged, and a
/// 200 batch adds exactly its accepted actions); <c>/readyz</c> still 200 at the end.
/// </remarks>
internal static class HttpFuzz
{
    /// <summary>What the generators know about the server: the active release's events, action schemas and currencies.</summary>
    internal sealed record Context(string ReleaseId, string[] Events, (string Type, (string Name, string Kind)[] Fields)[] Actions, string[] Currencies);

    /// <summary>Reads the active release of a running server through its API.</summary>
    public static async Task<Context> ReadContextAsync(HttpClient client)
    {
        var active = JsonNode.Parse(await client.GetStringAsync(new Uri("/v1/releases/active", UriKind.Relative)))!;
        string releaseId = (string?)active["release"]?["id"] ?? new string('0', 64);
        if (active["release"] is null)
        {
            return new Context(releaseId, ["manual"], [("combat.kill", [("target", "string")])], ["gems"]);
        }
        var release = JsonNode.Parse(await client.GetStringAsync(new Uri("/v1/releases/" + releaseId, UriKind.Relative)))!;
        string[] events = [.. release["events"]!.AsArray().Select(e => (string)e!["id"]!)];
        var actions = release["actions"]!.AsObject().Select(a => (a.Key,
            a.Value!.AsObject().Select(f => (f.Key, (string?)f.Value ?? "string")).ToArray())).ToArray();
        string[] currencies = [.. release["currencies"]!.AsArray().Select(c => (string)c!)];
        return new Context(releaseId, events.Length > 0 ? events : ["none"], actions.Length > 0 ? actions : [("combat.kill", [("target", "string")])],
            currencies.Length > 0 ? currencies : ["gems"]);
    }

    /// <summary><paramref name="count"/> requests, the same for the same seed and context.</summary>
    public static FuzzRequest[] Generate(Context context, ulong seed, int count) =>
        Request(context).Sample(count, new Rnd(seed), 30); // (number of samples, seed, size)

    // ---- The JSON model: values as trees, so that mutations can aim at a member or a string. ----

    /// <summary>A JSON value. <see cref="JRaw"/> is a token as text; <see cref="JNow"/> is a timestamp taken when the request is sent.</summary>
    internal abstract record JNode;
    internal sealed record JObject(List<(string Name, JNode Value)> Members) : JNode;
    internal sealed record JArray(List<JNode> Items) : JNode;
    internal sealed record JRaw(string Text) : JNode;
    internal sealed record JNow(int OffsetSeconds) : JNode;

    private static JRaw S(string value) => new(JsonSerializer.Serialize(value));

    public static void Write(StringBuilder output, JNode node, DateTimeOffset now)
    {
        switch (node)
        {
            case JObject o:
                output.Append('{');
                for (int i = 0; i < o.Members.Count; i++)
                {
                    output.Append(i > 0 ? "," : "").Append(o.Members[i].Name).Append(':');
                    Write(output, o.Members[i].Value, now);
                }
                output.Append('}');
                break;
            case JArray a:
                output.Append('[');
                for (int i = 0; i < a.Items.Count; i++)
                {
                    output.Append(i > 0 ? "," : "");
                    Write(output, a.Items[i], now);
                }
                output.Append(']');
                break;
            case JNow t:
                output.Append('"').Append(now.AddSeconds(t.OffsetSeconds).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)).Append('"');
                break;
            case JRaw r:
                output.Append(r.Text);
                break;
        }
    }

    // ---- Values ----

    private static readonly string[] NastyStrings =
    [
        "", " ", "x", "p-1", "ops-1", "../../x", "a/b", "..", "%00", "\u0000", "\u0001", "\t", "é", "😀", "\u202e", "null",
        new string('a', 129), new string('z', 300), "DROP TABLE keys", "{\"a\":1}", "\\", "\"",
    ];

    /// <summary>String tokens as JSON text, including escapes System.Text.Json would never write.</summary>
    private static readonly string[] RawStringTokens =
    [
        "\"\\ud800\"", "\"\\udc00\"", "\"a\\ud83d\"", "\"\\ude00\\ud83d\"", "\"\\ud83d\\ude00\"", "\"\\u0000\"", "\"\\u0061\"", "\"\\/\"",
    ];

    private static readonly string[] NumberTokens =
    [
        "0", "-0", "1", "-1", "5", "100", "1.5", "1e3", "1E+2", "-1e-7", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "1e999999", "123456789012345678901234567890123456789", "0.0000000000000000000000000001", "79228162514264337593543950336",
    ];

    private static Gen<JNode> AnyString() => Gen.Frequency(
        (6, Gen.Elements(NastyStrings).Select(s => (JNode)S(s))),
        (2, Gen.Elements(RawStringTokens).Select(t => (JNode)new JRaw(t))),
        (2, Gen.Choose(0, 99999).Select(n => (JNode)S("s" + n.ToString(CultureInfo.InvariantCulture)))));

    private static Gen<JNode> AnyNumber() => Gen.Elements(NumberTokens).Select(t => (JNode)new JRaw(t));

    private static Gen<JNode> AnyScalar() => Gen.Frequency(
        (3, AnyString()), (3, AnyNumber()), (1, Gen.Elements("true", "false", "null").Select(t => (JNode)new JRaw(t))));

    /// <summary>Any JSON value (bounded by FsCheck's size), for members the schema does not name and for type swaps.</summary>
    private static Gen<JNode> AnyValue() => Gen.Sized(size => AnyValue(Math.Min(size, 12) / 4));

    private static Gen<JNode> AnyValue(int depth) => depth <= 0 ? AnyScalar() : Gen.Frequency(
        (4, AnyScalar()),
        (1, AnyValue(depth - 1).ListOf(4).Select(items => (JNode)new JArray([.. items]))),
        (1, Gen.Zip(Gen.Elements("a", "b", "x", "data", "id"), AnyValue(depth - 1)).ListOf(4)
            .Select(members => (JNode)new JObject([.. members.Select(m => (JsonSerializer.Serialize(m.Item1), m.Item2))]))));

    /// <summary>Mostly a good value, sometimes anything at all.</summary>
    private static Gen<JNode> Mostly(Gen<JNode> good) => Gen.Frequency((5, good), (1, AnyValue()));

    private static Gen<JNode> Str(params string[] good) => Mostly(Gen.Elements(good).Select(s => (JNode)S(s)));

    private static Gen<JNode> Int(int low, int high) => Mostly(Gen.Choose(low, high).Select(n => (JNode)new JRaw(n.ToString(CultureInfo.InvariantCulture))));

    private static Gen<JNode> Bool() => Mostly(Gen.Elements("true", "false").Select(t => (JNode)new JRaw(t)));

    /// <summary>An object of the given members, each present 4 times in 5, sometimes with an unknown member added.</summary>
    private static Gen<JNode> Obj(params (string Name, Gen<JNode> Value)[] members)
    {
        var present = members.Select(m => Gen.Frequency(
            (4, m.Value.Select(v => ((string, JNode)?)(JsonSerializer.Serialize(m.Name), v))),
            (1, Gen.Constant(((string, JNode)?)null))));
        return from chosen in Gen.CollectToList(present)
               from extra in Gen.Frequency((6, Gen.Constant(((string, JNode)?)null)), (1, AnyValue().Select(v => ((string, JNode)?)("\"unknown_member\"", v))))
               select (JNode)new JObject([.. chosen.Append(extra).Where(m => m is not null).Select(m => m!.Value)]);
    }

    /// <summary>An object exactly as the schema wants it (the generators mix these with fuzzier ones, so requests also get past the first check).</summary>
    private static Gen<JNode> Exact(params (string Name, Gen<JNode> Value)[] members) =>
        Gen.CollectToList(members.Select(m => m.Value.Select(v => (JsonSerializer.Serialize(m.Name), v))))
            .Select(list => (JNode)new JObject([.. list]));

    private static Gen<JNode> Text(Gen<string> value) => value.Select(v => (JNode)S(v));

    private static Gen<JNode> Number(int low, int high) => Gen.Choose(low, high).Select(n => (JNode)new JRaw(n.ToString(CultureInfo.InvariantCulture)));

    private static Gen<string> Hex(int length) => Gen.Choose(0, int.MaxValue).Select(n => Convert.ToHexStringLower(
        System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(n)))[..length]);

    /// <summary>A path segment, percent-encoded: a plausible one, a nasty one, or a NUL (which Kestrel refuses by itself).</summary>
    private static Gen<string> Segment(params string[] good) => Gen.Frequency(
        (6, Gen.Elements(good).Select(Uri.EscapeDataString)),
        (2, Gen.Elements(NastyStrings).Select(s => s.Length == 0 ? "x" : Uri.EscapeDataString(s))),
        (1, Gen.Constant("a%00b")));

    // ---- Endpoints ----

    private static Gen<JNode> Action(Context context) =>
        from type in Gen.Elements(context.Actions)
        from id in Gen.Frequency((8, Gen.Choose(0, 1_000_000).Select(n => (JNode)S("f-" + n.ToString(CultureInfo.InvariantCulture)))), (1, AnyValue()))
        from player in Str("p-1", "p-2", "p-3", "player é", "p-" + new string('9', 120))
        from at in Gen.Frequency((6, Gen.Choose(-120, 60).Select(s => (JNode)new JNow(s))), (1, Gen.Elements(-700_000, 400).Select(s => (JNode)new JNow(s))),
            (1, Str("2026-02-30T00:00:00Z", "yesterday", "2026-11-22T12:00:00+01:00")))
        from data in Obj([.. type.Fields.Select(f => (f.Name, Field(f.Kind)))])
        from body in Obj(("id", Gen.Constant(id)), ("player", Gen.Constant(player)), ("type", Mostly(Gen.Constant((JNode)S(type.Type)))),
            ("at", Gen.Constant(at)), ("data", Mostly(Gen.Constant(data))))
        select body;

    private static Gen<JNode> ExactAction(Context context) =>
        from type in Gen.Elements(context.Actions)
        from id in Gen.Choose(0, 1_000_000)
        from player in Gen.Elements("p-1", "p-2", "p-3")
        from at in Gen.Choose(-120, 0)
        from data in Exact([.. type.Fields.Where(f => !f.Kind.StartsWith("optional", StringComparison.Ordinal)).Select(f => (f.Name, ExactField(f.Kind)))])
        select (JNode)new JObject([("\"id\"", S("e-" + id.ToString(CultureInfo.InvariantCulture))), ("\"player\"", S(player)), ("\"type\"", S(type.Type)),
            ("\"at\"", new JNow(at)), ("\"data\"", data)]);

    private static Gen<JNode> ExactField(string kind) => kind.ToLowerInvariant() switch
    {
        "int" => Number(0, 10),
        "decimal" => Gen.Constant((JNode)new JRaw("1.5")),
        "bool" => Gen.Constant((JNode)new JRaw("true")),
        _ => Text(Gen.Elements("dragon", "goblin")),
    };

    private static Gen<JNode> Field(string kind) => kind.Replace("optional(", "", StringComparison.Ordinal).TrimEnd(')').ToLowerInvariant() switch
    {
        "int" => Mostly(Gen.Choose(-5, 1000).Select(n => (JNode)new JRaw(n.ToString(CultureInfo.InvariantCulture)))),
        "decimal" => Mostly(Gen.Elements("0.5", "12.25", "1e2", "-3").Select(t => (JNode)new JRaw(t))),
        "bool" => Bool(),
        _ => Str("dragon", "goblin", "slime", "crystal_caves"),
    };

    private static Gen<FuzzRequest> Post(string target, Gen<JNode> body, string label) =>
        body.Select(b => new FuzzRequest(label, "POST", target, b));

    private static Gen<FuzzRequest> Request(Context context)
    {
        var reason = Str("outage #12", "checked", new string('r', 501));
        var grantBody = Obj(("request_id", Str("ops-1", "ops-2", "../../x", "ops 3")), ("player", Str("p-1", "p-2")),
            ("rewards", Mostly(Obj([.. context.Currencies.Select(c => (c, Int(-5, 2_000_000)))]))), ("reason", reason),
            ("event", Str([.. context.Events, "manual", "../../x"])), ("run", Int(-1, 3)), ("author", Str("key:someone")));
        var steps = Obj(("mode", Str("shadow", "live", "dark")), ("percent", Int(-1, 101)), ("min_soak_seconds", Int(0, 1000))).ListOf(3)
            .Select(items => (JNode)new JArray([.. items]));
        var plan = Obj(("steps", Mostly(steps)), ("auto_advance", Bool()), ("on_rollback", Str("keep", "reverse", "x")),
            ("audience", Obj(("min_level", Int(0, 50)))), ("gates", Obj(("min_actions", Int(0, 5000)), ("max_reward_ratio_percent", Int(0, 1000)))));
        var reasonOnly = Obj(("reason", reason));
        var actions = Gen.Frequency((1, ExactAction(context)), (1, Action(context))).ListOf(6).Select(items => (JNode)new JArray([.. items]));
        var exactGrant = Exact(("request_id", Text(Gen.Choose(0, 100_000).Select(n => "ops-" + n.ToString(CultureInfo.InvariantCulture)))),
            ("player", Text(Gen.Elements("p-1", "p-2", "p-3"))), ("rewards", Exact((context.Currencies[0], Number(1, 100)))), ("reason", Text(Gen.Constant("fuzz"))),
            ("event", Text(Gen.Elements([.. context.Events, "manual"]))), ("run", Number(0, 2)));
        var exactKey = Gen.OneOf(
            Exact(("name", Text(Gen.Constant("fuzz"))), ("kind", Text(Gen.Constant("operator"))), ("role", Text(Gen.Elements("viewer", "operator", "approver", "admin")))),
            Exact(("name", Text(Gen.Constant("fuzz"))), ("kind", Text(Gen.Constant("game_server"))), ("title", Text(Gen.Elements("default", "t-1")))));
        var endpoints = new (int Weight, Gen<FuzzRequest> Gen)[]
        {
            (8, Post("/v1/actions", Obj(("actions", Mostly(actions))), "actions")),
            (2, Post("/v1/keys", Gen.Frequency((1, exactKey), (2, Obj(("name", Str("fuzz", "")), ("kind", Str("operator", "game_server", "player")),
                ("role", Str("viewer", "operator", "approver", "admin", "root")), ("title", Str("default", "other title", "t.1"))))), "keys")),
            (1, Gen.Frequency((3, Hex(12)), (1, Segment("x"))).Select(id => new FuzzRequest("keys.revoke", "DELETE", "/v1/keys/" + id, null))),
            (2, from kind in Gen.Elements("events", "configs")
                from target in Segment([.. context.Events, "shop", "nope"])
                from body in Gen.Frequency((1, Exact(("enabled", Text(Gen.Constant("")).Select(_ => (JNode)new JRaw("true"))))), (2, Obj(("enabled", Bool()), ("reason", reason))))
                select new FuzzRequest("flags", "PUT", $"/v1/flags/{kind}/{target}", body)),
            (3, Post("/v1/grants", Gen.Frequency((1, exactGrant), (2, grantBody)), "grants")),
            (1, from id in Gen.Frequency((3, Hex(64)), (1, Gen.Constant("xyz")))
                from body in grantBody
                select new FuzzRequest("corrections", "POST", $"/v1/rewards/{id}/corrections", body)),
            (1, from id in Gen.Frequency((2, Gen.Constant(context.ReleaseId)), (1, Hex(64)), (1, Gen.Constant("nope")))
                from body in Obj(("expected_version", Int(-1, 5)), ("reason", reason))
                select new FuzzRequest("releases.activate", "POST", $"/v1/releases/{id}/activate", body)),
            (1, Post("/v1/releases/rollback", Obj(("expected_version", Int(-1, 5)), ("reason", reason)), "releases.rollback")),
            (2, Post("/v1/rollout", Obj(("candidate", Mostly(Gen.Frequency((1, Gen.Constant((JNode)S(context.ReleaseId))), (1, Hex(64).Select(h => (JNode)S(h)))))),
                ("plan", Mostly(plan)), ("salt", Str("s1", "")), ("expected_version", Int(-1, 5)), ("reason", reason)), "rollout.start")),
            (1, from step in Gen.Elements("advance", "rollback") from body in reasonOnly select new FuzzRequest("rollout." + step, "POST", "/v1/rollout/" + step, body)),
            (1, Segment("p-1", "p 2", "é").Select(p => new FuzzRequest("tokens", "POST", $"/v1/players/{p}/tokens", null))),
            (1, from id in Segment("1", "2", "0", "-1", "99999999999") from verb in Gen.Elements("approve", "reject") from body in reasonOnly
                select new FuzzRequest("approvals." + verb, "POST", $"/v1/approvals/{id}/{verb}", body)),
            (1, Post("/v1/outbox/redeliver", Obj(("scope", Str("dead_lettered", "all_failed", "everything")),
                ("grant_ids", Mostly(Hex(64).ListOf(3).Select(ids => (JNode)new JArray([.. ids.Select(i => (JNode)S(i))]))))), "outbox.redeliver")),
            (1, from id in Segment([.. context.Events, "nope"]) from run in Segment("0", "1", "-1", "99999999999999999999") from op in Gen.Elements("pause", "resume")
                select new FuzzRequest("events." + op, "POST", $"/v1/events/{id}/runs/{run}/{op}", null)),
            (2, from path in Gen.Elements("/v1/releases", "/v1/audit", "/v1/approvals", "/v1/keys", "/v1/outbox/dead-letters", "/v1/ledger/checkpoints")
                from parameter in Gen.Elements("limit", "before", "after", "status", "action")
                from value in Segment("1", "0", "-1", "500", "501", "abc", "9999999999999999999999")
                select new FuzzRequest("query", "GET", $"{path}?{parameter}={value}", null)),
        };
        return from request in Gen.Frequency(endpoints)
               from mutated in Mutate(request)
               select mutated;
    }

    // ---- Mutations ----

    private static Gen<FuzzRequest> Mutate(FuzzRequest request)
    {
        if (request.Body is null)
        {
            return Gen.Frequency((6, Gen.Constant(request)),
                (1, Gen.Elements("{}", "x", "\u0000").Select(b => request with { Label = request.Label + "+unread_body", Raw = [(BytePosition.End, Encoding.UTF8.GetBytes(b))] })));
        }
        var tree = Gen.Frequency(
            (8, Gen.Constant(request)),
            (2, Retarget(request, "lone_surrogate", _ => Gen.Elements(RawStringTokens[..4]).Select(t => (JNode)new JRaw(t)), n => n is JRaw r && r.Text.StartsWith('"'), violates: true)),
            (1, Retarget(request, "nul", _ => Gen.Elements("\"a\\u0000b\"", "\"\u0000\"").Select(t => (JNode)new JRaw(t)), n => n is JRaw r && r.Text.StartsWith('"'))),
            (2, Retarget(request, "number", _ => AnyNumber(), n => n is JRaw)),
            (2, Retarget(request, "type_swap", _ => AnyValue(), _ => true)),
            (1, Retarget(request, "deep", n => Gen.Choose(65, 200).Select(d => Deep(n, d)), _ => true, violates: true)),
            (2, DuplicateMember(request)));
        return from mutated in tree
               from bytes in Gen.Frequency(
                   (10, Gen.Constant(mutated)),
                   (1, Gen.Choose(0, 999).Select(p => mutated with { Label = mutated.Label + "+truncated", TruncateAt = p, Violates = mutated.Violates || mutated.Body is JObject or JArray })),
                   (1, Gen.Zip(Gen.Choose(0, 1000), Gen.Elements(new byte[][] { [0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0x00], [0xEF, 0xBB, 0xBF] }))
                       .Select(x => mutated with { Label = mutated.Label + "+bytes", Raw = [(new BytePosition(x.Item1), x.Item2)], Violates = mutated.Violates || x.Item2[0] != 0xEF })),
                   (1, Gen.Elements(" {}", "x", ",", "\n// c", " /* c */", "]", "\u0000")
                       .Select(t => mutated with { Label = mutated.Label + "+trailing", Raw = [(BytePosition.End, Encoding.UTF8.GetBytes(t))], Violates = true })),
                   (1, Gen.Elements("/* c */", "\uFEFF", " ").Select(t => mutated with { Label = mutated.Label + "+prefix", Raw = [(BytePosition.Start, Encoding.UTF8.GetBytes(t))] })))
               from headers in Gen.Frequency(
                   (12, Gen.Constant(bytes)),
                   (2, Gen.Elements("text/plain", "application/json; charset=latin1", "application/json; charset=utf-16", "application/json;;",
                           "application/x-www-form-urlencoded", "application/merge-patch+json", "APPLICATION/JSON; CHARSET=UTF-8", "", "json")
                       .Select(t => bytes with { Label = bytes.Label + "+content_type", ContentType = t.Length == 0 ? null : t })),
                   (1, Gen.Constant(bytes with { Label = bytes.Label + "+chunked", Framing = Framing.Chunked })),
                   (1, Gen.Constant(bytes with { Label = bytes.Label + "+ends_early", Framing = Framing.EndsEarly })))
               select headers;
    }

    private static JNode Deep(JNode inner, int depth)
    {
        for (int i = 0; i < depth; i++)
        {
            inner = i % 2 == 0 ? new JArray([inner]) : new JObject([("\"d\"", inner)]);
        }
        return inner;
    }

    /// <summary>Replaces one node (chosen among those <paramref name="where"/> accepts) by what <paramref name="replacement"/> makes of it.</summary>
    private static Gen<FuzzRequest> Retarget(FuzzRequest request, string label, Func<JNode, Gen<JNode>> replacement, Func<JNode, bool> where, bool violates = false)
    {
        var nodes = new List<JNode>();
        Collect(request.Body!, nodes);
        var candidates = nodes.Where(where).ToList();
        if (candidates.Count == 0)
        {
            return Gen.Constant(request);
        }
        return from index in Gen.Choose(0, candidates.Count - 1)
               from node in replacement(candidates[index])
               select request with { Label = request.Label + "+" + label, Body = Replace(request.Body!, candidates[index], node), Violates = request.Violates || violates };
    }

    /// <summary>Repeats one member of one object, with another value or the same, sometimes spelled with an escape.</summary>
    private static Gen<FuzzRequest> DuplicateMember(FuzzRequest request)
    {
        var nodes = new List<JNode>();
        Collect(request.Body!, nodes);
        var objects = nodes.OfType<JObject>().Where(o => o.Members.Count > 0).ToList();
        if (objects.Count == 0)
        {
            return Gen.Constant(request);
        }
        return from index in Gen.Choose(0, objects.Count - 1)
               from member in Gen.Choose(0, objects[index].Members.Count - 1)
               from value in Gen.Frequency((1, Gen.Constant(objects[index].Members[member].Value)), (2, AnyValue()))
               from escaped in Gen.Elements(false, false, true)
               let target = objects[index]
               let name = target.Members[member].Name
               let spelled = escaped && name.Length > 2 && char.IsAsciiLetter(name[1]) ? "\"\\u00" + ((int)name[1]).ToString("x2", CultureInfo.InvariantCulture) + name[2..] : name
               select request with
               {
                   Label = request.Label + "+duplicate_member",
                   // The batch parser rejects the one action with duplicate_field instead (documented).
                   // The batch parser rejects the one action with duplicate_field instead, and ignores
                   // members it does not read (documented); only a second "actions" refuses a batch.
                   Violates = request.Violates || request.Target != "/v1/actions" || (ReferenceEquals(target, request.Body) && name == "\"actions\""),
                   Body = Replace(request.Body!, target, new JObject([.. target.Members, (spelled, value)])),
               };
    }

    private static void Collect(JNode node, List<JNode> into)
    {
        into.Add(node);
        switch (node)
        {
            case JObject o:
                foreach (var (_, value) in o.Members)
                {
                    Collect(value, into);
                }
                break;
            case JArray a:
                foreach (var item in a.Items)
                {
                    Collect(item, into);
                }
                break;
        }
    }

    private static JNode Replace(JNode node, JNode target, JNode with) => ReferenceEquals(node, target) ? with : node switch
    {
        JObject o => new JObject([.. o.Members.Select(m => (m.Name, Replace(m.Value, target, with)))]),
        JArray a => new JArray([.. a.Items.Select(i => Replace(i, target, with))]),
        _ => node,
    };
}

/// <summary>How the body travels: with its Content-Length, chunked, or cut off (Content-Length larger than what is sent, then the client half-closes).</summary>
internal enum Framing
{
    ContentLength,
    Chunked,
    EndsEarly,
}

/// <summary>Where raw bytes go into the serialized body: per mille of its length, or at the start or the end.</summary>
internal readonly record struct BytePosition(int PerMille)
{
    public static BytePosition Start => new(0);
    public static BytePosition End => new(1000);
}

/// <summary>One generated request; its bytes are made when it is sent (timestamps are relative to then).</summary>
internal sealed record FuzzRequest(string Label, string Method, string Target, HttpFuzz.JNode? Body)
{
    public string? ContentType { get; init; } = "application/json";
    public Framing Framing { get; init; } = Framing.ContentLength;
    /// <summary>Cut the serialized body to this per mille of its length (null: whole).</summary>
    public int? TruncateAt { get; init; }
    public (BytePosition At, byte[] Bytes)[] Raw { get; init; } = [];

    /// <summary>The body breaks the JSON policy (a mutation made sure of it): it must be refused, never applied.</summary>
    public bool Violates { get; init; }

    /// <summary>A request that can change something (and so must change nothing when refused).</summary>
    public bool Mutating => Method is not "GET";

    /// <summary>A NUL in the path: Kestrel refuses the request line itself (400 without a body, before any middleware).</summary>
    public bool RefusedByKestrel => Target.Contains("%00", StringComparison.Ordinal);

    public byte[] BodyBytes(DateTimeOffset now)
    {
        if (Body is null && Raw.Length == 0)
        {
            return [];
        }
        var text = new StringBuilder();
        if (Body is not null)
        {
            HttpFuzz.Write(text, Body, now);
        }
        byte[] bytes = Encoding.UTF8.GetBytes(text.ToString());
        if (TruncateAt is { } cut)
        {
            bytes = bytes[..(int)((long)bytes.Length * cut / 1000)];
        }
        foreach (var (at, raw) in Raw)
        {
            int position = (int)((long)bytes.Length * at.PerMille / 1000);
            bytes = [.. bytes[..position], .. raw, .. bytes[position..]];
        }
        return bytes;
    }

    /// <summary>The request for a report: method, target, content type, framing and the body as a C# string literal.</summary>
    public string Describe(byte[] body) =>
        $"{Method} {Target} [{Label}] Content-Type: {ContentType ?? "(none)"}, {Framing}, body {body.Length} bytes: {Literal(body)}";

    private static string Literal(byte[] body)
    {
        var builder = new StringBuilder("\"");
        foreach (byte b in body.Length > 600 ? body[..600] : body)
        {
            builder.Append(b is >= 0x20 and < 0x7F and not (byte)'"' and not (byte)'\\' ? ((char)b).ToString() : $"\\x{b:x2}");
        }
        return builder.Append(body.Length > 600 ? "\"…" : "\"").ToString();
    }
}

/// <summary>Sends fuzz requests one at a time over raw loopback sockets and checks the oracle after each.</summary>
internal sealed class HttpFuzzer(int port, string adminKey, HttpClient client, TimeSpan bound)
{
    private readonly Dictionary<string, int> _statuses = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _byEndpoint = new(StringComparer.Ordinal);
    private readonly List<string> _violations = [];

    public IReadOnlyList<string> Violations => _violations;
    public int Sent { get; private set; }

    /// <summary>Counts of answers by status class and endpoint, for the log.</summary>
    public string Summary => string.Join(", ", _statuses.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}: {s.Value}"));

    /// <summary>Counts of answers by endpoint and status, to see that the grammar reaches past the first checks.</summary>
    public string EndpointSummary => string.Join(", ", _byEndpoint.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}: {s.Value}"));

    /// <summary>Sends every request (stops at <paramref name="deadline"/> or after 20 violations) and checks the oracle.</summary>
    public async Task RunAsync(IEnumerable<FuzzRequest> requests, DateTime deadline, Action<string>? progress = null, Action<string>? trace = null)
    {
        var fingerprint = await FingerprintAsync();
        foreach (var request in requests)
        {
            if (DateTime.UtcNow > deadline || _violations.Count >= 20)
            {
                break;
            }
            byte[] body = request.BodyBytes(DateTimeOffset.UtcNow);
            var response = await SendAsync(request, body);
            Sent++;
            string key = $"{(response.Status == 0 ? "none" : response.Status.ToString(CultureInfo.InvariantCulture))}";
            _statuses[key] = _statuses.GetValueOrDefault(key) + 1;
            string endpoint = request.Label.Split('+')[0] + " " + key;
            _byEndpoint[endpoint] = _byEndpoint.GetValueOrDefault(endpoint) + 1;
            // A body truncated to nothing is no body, which several endpoints take.
            string? fault = Judge(request with { Violates = request.Violates && body.Length > 0 }, response);
            trace?.Invoke($"{request.Describe(body)}\n  → {response.Status} {Shorten(response.Text)}");
            if (request.Mutating)
            {
                var after = await FingerprintAsync();
                fault ??= Stored(request, response, fingerprint, after);
                fingerprint = after;
            }
            if (fault is not null)
            {
                _violations.Add($"{fault}\n    request: {request.Describe(body)}\n    answer: {response.Status} {Shorten(response.Text)}");
            }
            if (progress is not null && Sent % 500 == 0)
            {
                progress($"{Sent} requests; {Summary}");
            }
        }
    }

    private async Task<RawHttp.Response> SendAsync(FuzzRequest request, byte[] body)
    {
        var headers = new List<string> { "Authorization: Bearer " + adminKey };
        if (request.ContentType is not null && (body.Length > 0 || request.Method != "GET"))
        {
            headers.Add("Content-Type: " + request.ContentType);
        }
        byte[] bytes;
        switch (request.Framing)
        {
            case Framing.Chunked:
                headers.Add("Transfer-Encoding: chunked");
                int half = body.Length / 2;
                bytes = [.. RawHttp.Request(request.Method, request.Target, headers, null), .. Chunk(body[..half]), .. Chunk(body[half..]), .. "0\r\n\r\n"u8];
                break;
            case Framing.EndsEarly:
                headers.Add("Content-Length: " + (body.Length + 10).ToString(CultureInfo.InvariantCulture));
                bytes = RawHttp.Request(request.Method, request.Target, headers, body, contentLength: false);
                return await RawHttp.SendAsync(port, bytes, bound, endAfterSending: true);
            default:
                bytes = RawHttp.Request(request.Method, request.Target, headers, body.Length == 0 && request.Method == "GET" ? null : body);
                break;
        }
        return await RawHttp.SendAsync(port, bytes, bound);
    }

    private static byte[] Chunk(byte[] data) => data.Length == 0 ? [] : [.. Encoding.ASCII.GetBytes(data.Length.ToString("x", CultureInfo.InvariantCulture) + "\r\n"), .. data, .. "\r\n"u8];

    /// <summary>The answer alone: in time, below 500, and a problem document when it is an error.</summary>
    private static string? Judge(FuzzRequest request, RawHttp.Response response)
    {
        if (response.TimedOut)
        {
            return $"HANG: no complete answer within the bound ({response.Elapsed.TotalSeconds:F1} s)";
        }
        if (request.Framing == Framing.EndsEarly && response.Status is 0 or 400)
        {
            return null; // The client half-closed: Kestrel ends the connection; nothing to answer to.
        }
        if (response.Status == 0)
        {
            return "NO ANSWER: the connection closed without a response";
        }
        if (response.Status >= 500)
        {
            return $"5XX: {response.Status}";
        }
        if (request.Violates && response.Status < 400)
        {
            return $"ACCEPTED: a body that breaks the JSON policy was answered {response.Status}";
        }
        if (response.Status >= 400)
        {
            if (response.Body.Length == 0)
            {
                return request.RefusedByKestrel && response.Status == 400 ? null : "EMPTY ERROR: an error without a problem document";
            }
            if (response.Header("Content-Type") != "application/problem+json")
            {
                return $"NOT A PROBLEM: error answered as {response.Header("Content-Type")}";
            }
            try
            {
                if (JsonNode.Parse(response.Text)?["code"] is null)
                {
                    return "NOT A PROBLEM: no code";
                }
            }
            catch (JsonException)
            {
                return "NOT A PROBLEM: the body is not JSON";
            }
        }
        return null;
    }

    /// <summary>Nothing stored by a refusal; a 200 batch stores exactly the actions it reports accepted.</summary>
    private static string? Stored(FuzzRequest request, RawHttp.Response response, (long Accepted, long AuditSeq) before, (long Accepted, long AuditSeq) after)
    {
        if (response.Status is 0 or >= 400)
        {
            return before == after ? null : $"STORED WHILE REFUSED: accepted actions {before.Accepted} → {after.Accepted}, audit head {before.AuditSeq} → {after.AuditSeq}";
        }
        if (request.Target == "/v1/actions" && response.Status == 200)
        {
            int accepted = JsonNode.Parse(response.Text)!["results"]!.AsArray().Count(r => (string?)r!["status"] == "accepted");
            if (after.Accepted - before.Accepted != accepted)
            {
                return $"BATCH MISCOUNT: {accepted} accepted results, but the log grew by {after.Accepted - before.Accepted}";
            }
        }
        return null;
    }

    private async Task<(long Accepted, long AuditSeq)> FingerprintAsync()
    {
        var stats = JsonNode.Parse(await client.GetStringAsync(new Uri("/v1/stats", UriKind.Relative)))!;
        var head = JsonNode.Parse(await client.GetStringAsync(new Uri("/v1/audit/head", UriKind.Relative)))!;
        return ((long)stats["accepted"]!, (long)head["seq"]!);
    }

    private static string Shorten(string text) => text.Length > 400 ? text[..400] + "…" : text;
}
