using System.Globalization;
using Showrunner.Core.Actions;
using Showrunner.Core.Rules.Binding;
using Showrunner.Core.Rules.Syntax;

namespace Showrunner.Core.Rules.Model;

/// <summary>
/// Checks the syntax of all source files of a release and builds the <see cref="ReleaseDefinition"/>.
/// Reports every problem (never throws); returns a definition only when there are no errors.
/// </summary>
public sealed class ReleaseChecker
{
    public const int MaxEvents = 1_000;
    public const int MaxObjectivesPerEvent = 64;
    public const int MaxTiersPerEvent = 100;
    public const int MaxPrizesPerEvent = 100;
    public const int MaxRank = 10_000;
    public const string PlayerProfileAction = "player.profile";

    /// <summary>
    /// Player attributes every release knows (set by <c>player.profile</c> actions; defaults until
    /// one arrives). A release adds its own by declaring <c>action "player.profile" { ... }</c>.
    /// </summary>
    public static readonly IReadOnlyList<(string Name, RuleType Type, object Default)> BuiltinPlayerAttributes =
    [
        ("level", RuleType.Int, 0L),
        ("region", RuleType.String, ""),
        ("country", RuleType.String, ""),
        ("platform", RuleType.String, ""),
        ("language", RuleType.String, ""),
        ("app_version", RuleType.String, ""),
    ];

    private readonly List<(BlockSyntax Block, DiagnosticBag Bag)> _blocks = [];
    private readonly List<string> _currencies = [];
    private readonly List<string> _items = [];
    private readonly Dictionary<string, ActionDefinition> _actions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ConfigDefinition> _configs = new(StringComparer.Ordinal);
    private readonly List<RetiredEvent> _retired = [];
    private SafetyBounds _bounds = SafetyBounds.None;
    private string? _releaseName;
    private string? _description;

    /// <summary>Parses and checks <paramref name="files"/>; diagnostics are sorted by file, line and column.</summary>
    public static (ReleaseDefinition? Release, List<Diagnostic> Diagnostics) Check(IReadOnlyList<SourceText> files) =>
        Check(files, out _);

    /// <summary>As <see cref="Check(IReadOnlyList{SourceText})"/>, also handing back the top-level blocks it parsed.</summary>
    internal static (ReleaseDefinition? Release, List<Diagnostic> Diagnostics) Check(IReadOnlyList<SourceText> files, out List<BlockSyntax> blocks)
    {
        var diagnostics = new List<Diagnostic>();
        var checker = new ReleaseChecker();
        foreach (var file in files.OrderBy(f => f.File, StringComparer.Ordinal))
        {
            var bag = new DiagnosticBag(file, diagnostics);
            var body = Parser.ParseFile(file, bag);
            foreach (var attribute in body.Attributes)
            {
                bag.Error("decl.unexpected_attribute", $"'{attribute.Name}' must be inside a block; top-level items are blocks such as release, action and event.", attribute.NameSpan);
            }
            checker._blocks.AddRange(body.Blocks.Select(b => (b, bag)));
        }
        var release = checker.Run(files.Count > 0 ? new DiagnosticBag(files[0], diagnostics) : null);
        blocks = checker._blocks.ConvertAll(b => b.Block);
        diagnostics.Sort((a, b) => (a.Span.File, a.Span.Line, a.Span.Column).CompareTo((b.Span.File, b.Span.Line, b.Span.Column)));
        return (diagnostics.Exists(d => d.Severity == Severity.Error) ? null : release, diagnostics);
    }

    private ReleaseDefinition? Run(DiagnosticBag? first)
    {
        // Pass 1: everything events refer to.
        foreach (var (block, bag) in _blocks)
        {
            switch (block.Type)
            {
                case "release":
                    Release(block, bag);
                    break;
                case "currency" or "item":
                    Catalog(block, bag);
                    break;
                case "action":
                    Action(block, bag);
                    break;
                case "safety_bounds":
                    Bounds(block, bag);
                    break;
                case "config":
                    Config(block, bag);
                    break;
                case "event":
                    break;
                case "retire":
                    Retire(block, bag);
                    break;
                default:
                    bag.Error("decl.unknown_block", $"Unknown block '{block.Type}': a release has release, currency, item, action, safety_bounds, config, event and retire blocks.", block.TypeSpan);
                    break;
            }
        }
        if (_releaseName is null && first is not null)
        {
            first.Error("decl.missing_release", "A release needs one release \"name\" { } block.", first.Source.Span(0, 0));
        }
        // Pass 2: events.
        var events = new List<EventDefinition>();
        var eventIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (block, bag) in _blocks.Where(b => b.Block.Type == "event"))
        {
            if (Label(block, bag, "an event id") is not { } id)
            {
                continue;
            }
            if (!eventIds.Add(id))
            {
                bag.Error("decl.duplicate", $"Event \"{id}\" is declared twice.", block.Labels[0].Span);
                continue;
            }
            if (events.Count == MaxEvents)
            {
                bag.Error("limit.events", $"A release has at most {MaxEvents} events.", block.TypeSpan);
                break;
            }
            if (Event(id, block, bag) is { } definition)
            {
                events.Add(definition);
            }
        }
        foreach (var retired in _retired.Where(r => eventIds.Contains(r.Id)))
        {
            var (block, bag) = _blocks.First(b => b.Block.Type == "retire" && b.Block.Labels.Count == 1 && b.Block.Labels[0].Value == retired.Id);
            bag.Error("decl.duplicate", $"Event \"{retired.Id}\" is both defined and retired.", block.Labels[0].Span);
        }
        return new ReleaseDefinition(_releaseName ?? "", _description, _currencies, _items, [.. _actions.Values], _bounds, [.. _configs.Values], events, _retired);
    }

    // ---- top-level declarations ----

    private void Release(BlockSyntax block, DiagnosticBag bag)
    {
        if (Label(block, bag, "a release name") is not { } name)
        {
            return;
        }
        if (_releaseName is not null)
        {
            bag.Error("decl.duplicate", "A release has exactly one release block.", block.TypeSpan);
            return;
        }
        _releaseName = name;
        var attributes = Attributes(block, bag, ["description"]);
        NoBlocks(block, bag);
        if (attributes.TryGetValue("description", out var description))
        {
            _description = String(description, bag, "description");
        }
    }

    private void Retire(BlockSyntax block, DiagnosticBag bag)
    {
        if (Label(block, bag, "the id of the event retired") is not { } id)
        {
            return;
        }
        if (_retired.Exists(r => r.Id == id))
        {
            bag.Error("decl.duplicate", $"Event \"{id}\" is retired twice.", block.Labels[0].Span);
            return;
        }
        NoBlocks(block, bag);
        var attributes = Attributes(block, bag, ["reason"]);
        _retired.Add(new RetiredEvent(id, attributes.TryGetValue("reason", out var reason) ? String(reason, bag, "reason") : null));
    }

    private void Catalog(BlockSyntax block, DiagnosticBag bag)
    {
        if (Label(block, bag, $"a {block.Type} name") is not { } name)
        {
            return;
        }
        if (!IsName(name))
        {
            bag.Error("decl.invalid_name", $"\"{name}\" is not a valid {block.Type} name: use lower-case letters, digits and _ (starting with a letter).", block.Labels[0].Span);
            return;
        }
        if (_currencies.Contains(name) || _items.Contains(name))
        {
            bag.Error("decl.duplicate", $"\"{name}\" is already declared as a currency or item.", block.Labels[0].Span);
            return;
        }
        Attributes(block, bag, []);
        NoBlocks(block, bag);
        (block.Type == "currency" ? _currencies : _items).Add(name);
    }

    private void Action(BlockSyntax block, DiagnosticBag bag)
    {
        if (Label(block, bag, "an action type") is not { } type)
        {
            return;
        }
        if (!ActionBatchParser.IsValidType(type, 64))
        {
            bag.Error("action.invalid_type", $"\"{type}\" is not an action type: use a lower-case dotted name such as \"combat.kill\".", block.Labels[0].Span);
            return;
        }
        if (_actions.ContainsKey(type))
        {
            bag.Error("decl.duplicate", $"Action \"{type}\" is declared twice.", block.Labels[0].Span);
            return;
        }
        NoBlocks(block, bag);
        var fields = new List<FieldSchema>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var attribute in block.Body.Attributes)
        {
            if (!seen.Add(attribute.Name))
            {
                bag.Error("decl.duplicate_attribute", $"Field '{attribute.Name}' is declared twice.", attribute.NameSpan);
                continue;
            }
            if (FieldType(attribute, bag, fields.Count) is { } field)
            {
                fields.Add(field);
            }
        }
        if (type == PlayerProfileAction)
        {
            fields = PlayerFields(fields, bag, block);
        }
        _actions[type] = new ActionDefinition(type, new RecordSchema(type == PlayerProfileAction ? "player attributes" : $"action \"{type}\"", fields), block.Span);
    }

    /// <summary>The player attributes of a release that does not declare <c>action "player.profile"</c>: the built-in ones.</summary>
    public static RecordSchema DefaultPlayerSchema() => new("player attributes", PlayerFields([], null, null));

    /// <summary>The built-in player attributes followed by the release's own; a redeclared built-in must keep its type.</summary>
    private static List<FieldSchema> PlayerFields(List<FieldSchema> declared, DiagnosticBag? bag, BlockSyntax? block)
    {
        var fields = BuiltinPlayerAttributes.Select((a, i) => new FieldSchema(a.Name, a.Type, i, false, a.Default)).ToList();
        foreach (var field in declared)
        {
            int builtin = fields.FindIndex(f => f.Name == field.Name);
            if (builtin >= 0)
            {
                if (fields[builtin].Type != field.Type)
                {
                    var attribute = block!.Body.Attributes.First(a => a.Name == field.Name);
                    bag!.Error("action.builtin_conflict", $"Player attribute '{field.Name}' is built in as {fields[builtin].Type}; it cannot be redeclared as {field.Type}.", attribute.Value.Span);
                }
                continue;
            }
            // Attributes from profiles are optional: a player may not have sent one yet.
            fields.Add(field with { Index = fields.Count, Required = false, Default = field.Default ?? DefaultOf(field.Type) });
        }
        return fields;
    }

    private static object DefaultOf(RuleType type) => type.Kind switch
    {
        ValueKind.Int => 0L,
        ValueKind.Decimal => 0m,
        ValueKind.Bool => false,
        _ => "",
    };

    /// <summary><c>name = string|int|decimal|bool</c> (required) or <c>name = optional(type, default)</c>.</summary>
    private static FieldSchema? FieldType(AttributeSyntax attribute, DiagnosticBag bag, int index)
    {
        switch (attribute.Value)
        {
            case TraversalSyntax { Parts.Count: 1 } keyword when RuleType.FromKeyword(keyword.Path) is { } type:
                return new FieldSchema(attribute.Name, type, index, true, null);
            case CallSyntax { Function: "optional", Arguments.Count: 2 } call
                when call.Arguments[0] is TraversalSyntax { Parts.Count: 1 } keyword && RuleType.FromKeyword(keyword.Path) is { } type:
                if (Literal(call.Arguments[1], bag, type, $"The default of '{attribute.Name}'") is { } fallback)
                {
                    return new FieldSchema(attribute.Name, type, index, false, fallback.Value);
                }
                return null;
            default:
                bag.Error("action.invalid_field_type",
                    $"Field '{attribute.Name}' must be one of string, int, decimal, bool, or optional(type, default).", attribute.Value.Span);
                return null;
        }
    }

    private void Bounds(BlockSyntax block, DiagnosticBag bag)
    {
        if (_bounds != SafetyBounds.None)
        {
            bag.Error("decl.duplicate", "A release has at most one safety_bounds block.", block.TypeSpan);
            return;
        }
        NoLabels(block, bag);
        NoBlocks(block, bag);
        var attributes = Attributes(block, bag, ["max_points_per_action", "max_currency_per_grant"]);
        long? maxPoints = attributes.TryGetValue("max_points_per_action", out var points) ? Positive(points, bag, "max_points_per_action") : null;
        var perGrant = new Dictionary<string, long>(StringComparer.Ordinal);
        if (attributes.TryGetValue("max_currency_per_grant", out var grant))
        {
            if (grant is not ObjectSyntax entries)
            {
                bag.Error("decl.wrong_type", "max_currency_per_grant must be an object such as { gems = 5000 }.", grant.Span);
            }
            else
            {
                foreach (var entry in entries.Entries)
                {
                    if (Positive(entry.Value, bag, entry.Key) is { } limit)
                    {
                        perGrant[entry.Key] = limit;
                    }
                }
            }
        }
        _bounds = new SafetyBounds(maxPoints, perGrant);
    }

    private void Config(BlockSyntax block, DiagnosticBag bag)
    {
        if (Label(block, bag, "a config name") is not { } name)
        {
            return;
        }
        if (_configs.ContainsKey(name))
        {
            bag.Error("decl.duplicate", $"Config \"{name}\" is declared twice.", block.Labels[0].Span);
            return;
        }
        NoBlocks(block, bag);
        _configs[name] = new ConfigDefinition(name, ConfigValues(block, bag), block.Span);
    }

    private static Dictionary<string, ConfigValue> ConfigValues(BlockSyntax block, DiagnosticBag bag)
    {
        var values = new Dictionary<string, ConfigValue>(StringComparer.Ordinal);
        foreach (var attribute in block.Body.Attributes)
        {
            if (values.ContainsKey(attribute.Name))
            {
                bag.Error("decl.duplicate_attribute", $"'{attribute.Name}' is set twice.", attribute.NameSpan);
                continue;
            }
            if (Literal(attribute.Value, bag, null, $"Config value '{attribute.Name}'") is { } value)
            {
                values[attribute.Name] = value;
            }
        }
        return values;
    }

    // ---- events ----

    private EventDefinition? Event(string id, BlockSyntax block, DiagnosticBag bag)
    {
        var attributes = Attributes(block, bag, ["title", "migration"]);
        string title = attributes.TryGetValue("title", out var titleSyntax) ? String(titleSyntax, bag, "title") ?? id : id;
        string? migration = null;
        if (attributes.TryGetValue("migration", out var migrationSyntax) && String(migrationSyntax, bag, "migration") is { } policy)
        {
            if (policy == EventDefinition.KeepEarned)
            {
                migration = policy;
            }
            else
            {
                bag.Error("event.unknown_migration", $"Unknown migration policy \"{policy}\": the policy is \"{EventDefinition.KeepEarned}\".", migrationSyntax.Span);
            }
        }
        ScheduleDefinition? schedule = null;
        BoundExpression? audience = null;
        var objectives = new List<ObjectiveDefinition>();
        var tiers = new List<TierDefinition>();
        var prizes = new List<PrizeDefinition>();
        CommunityGoalDefinition? goal = null;
        var overrides = new List<ConfigOverride>();
        bool failed = false;
        var player = _actions.TryGetValue(PlayerProfileAction, out var profile) ? profile.Schema : DefaultPlayerSchema();
        foreach (var child in block.Body.Blocks)
        {
            switch (child.Type)
            {
                case "schedule" when schedule is null:
                    schedule = Schedule(child, bag);
                    failed |= schedule is null;
                    break;
                case "audience" when audience is null:
                    {
                        NoLabels(child, bag);
                        NoBlocks(child, bag);
                        var when = Attributes(child, bag, ["when"], required: ["when"]);
                        if (when.TryGetValue("when", out var condition))
                        {
                            audience = new ExpressionBinder(new BindingScope(null, player, "an audience"), bag).BindAs(condition, RuleType.Bool, "An audience's when");
                        }
                        break;
                    }
                case "objective":
                    if (objectives.Count == MaxObjectivesPerEvent)
                    {
                        bag.Error("limit.objectives", $"An event has at most {MaxObjectivesPerEvent} objectives.", child.TypeSpan);
                        break;
                    }
                    if (Objective(child, bag, player, objectives) is { } objective)
                    {
                        objectives.Add(objective);
                    }
                    break;
                case "tier":
                    if (tiers.Count == MaxTiersPerEvent)
                    {
                        bag.Error("limit.tiers", $"An event has at most {MaxTiersPerEvent} tiers.", child.TypeSpan);
                        break;
                    }
                    if (Tier(child, bag, tiers) is { } tier)
                    {
                        tiers.Add(tier);
                    }
                    break;
                case "leaderboard" when prizes.Count == 0:
                    prizes.AddRange(Leaderboard(child, bag));
                    break;
                case "community_goal" when goal is null:
                    {
                        NoLabels(child, bag);
                        NoBlocks(child, bag);
                        var goalAttributes = Attributes(child, bag, ["target", "reward"], required: ["target", "reward"]);
                        long? target = goalAttributes.TryGetValue("target", out var t) ? Positive(t, bag, "target") : null;
                        var reward = goalAttributes.TryGetValue("reward", out var r) ? Reward(r, bag) : null;
                        if (target is { } targetValue && reward is not null)
                        {
                            goal = new CommunityGoalDefinition(targetValue, reward);
                        }
                        break;
                    }
                case "config_override":
                    if (Override(child, bag) is { } configOverride)
                    {
                        overrides.Add(configOverride);
                    }
                    break;
                case "schedule" or "audience" or "leaderboard" or "community_goal":
                    bag.Error("decl.duplicate", $"An event has at most one {child.Type} block.", child.TypeSpan);
                    break;
                default:
                    bag.Error("decl.unknown_block",
                        $"Unknown block '{child.Type}' in an event: use schedule, audience, objective, tier, leaderboard, community_goal or config_override.", child.TypeSpan);
                    break;
            }
        }
        if (schedule is null && !failed)
        {
            bag.Error("event.missing_schedule", $"Event \"{id}\" needs a schedule {{ start = ..., end or duration = ... }} block.", block.Labels[0].Span);
        }
        if (objectives.Count == 0)
        {
            bag.Error("event.no_objective", $"Event \"{id}\" needs at least one objective: without one, nothing earns points.", block.Labels[0].Span);
        }
        return schedule is null ? null : new EventDefinition(id, title, schedule, audience, objectives, tiers, prizes, goal, overrides, migration, block.Span);
    }

    private static ScheduleDefinition? Schedule(BlockSyntax block, DiagnosticBag bag)
    {
        NoLabels(block, bag);
        NoBlocks(block, bag);
        var attributes = Attributes(block, bag, ["start", "end", "duration", "every", "grace"], required: ["start"]);
        DateTimeOffset? start = attributes.TryGetValue("start", out var s) ? Time(s, bag, "start") : null;
        DateTimeOffset? end = attributes.TryGetValue("end", out var e) ? Time(e, bag, "end") : null;
        TimeSpan? duration = attributes.TryGetValue("duration", out var d) ? Duration(d, bag, "duration", allowZero: false) : null;
        TimeSpan? every = attributes.TryGetValue("every", out var ev) ? Duration(ev, bag, "every", allowZero: false) : null;
        TimeSpan grace = attributes.TryGetValue("grace", out var g) ? Duration(g, bag, "grace", allowZero: true) ?? TimeSpan.Zero : TimeSpan.Zero;
        if (e is not null && d is not null)
        {
            bag.Error("schedule.end_and_duration", "Give either end or duration, not both.", d.Span);
            return null;
        }
        if (e is null && d is null)
        {
            bag.Error("schedule.missing_end", "A schedule needs end (a time) or duration (such as \"7d\").", block.TypeSpan);
            return null;
        }
        if (start is null || (e is not null && end is null) || (d is not null && duration is null))
        {
            return null;
        }
        var length = end is { } endTime ? endTime - start.Value : duration!.Value;
        if (length <= TimeSpan.Zero)
        {
            bag.Error("schedule.end_before_start", "The schedule ends before it starts.", e!.Span);
            return null;
        }
        if (every is { } interval && interval < length)
        {
            bag.Error("schedule.overlapping_runs", $"every ({interval}) is shorter than a run ({length}): runs would overlap.", ev!.Span);
            return null;
        }
        return new ScheduleDefinition(start.Value, length, every, grace);
    }

    private ObjectiveDefinition? Objective(BlockSyntax block, DiagnosticBag bag, RecordSchema player, List<ObjectiveDefinition> previous)
    {
        if (Label(block, bag, "an objective name") is not { } name)
        {
            return null;
        }
        if (previous.Exists(o => o.Name == name))
        {
            bag.Error("decl.duplicate", $"Objective \"{name}\" is declared twice in this event.", block.Labels[0].Span);
            return null;
        }
        NoBlocks(block, bag);
        var attributes = Attributes(block, bag, ["on", "when", "points", "max_per_hour"], required: ["on", "points"]);
        if (!attributes.TryGetValue("on", out var onSyntax) || String(onSyntax, bag, "on") is not { } on)
        {
            return null;
        }
        if (!_actions.TryGetValue(on, out var action))
        {
            bag.Error("objective.unknown_action", $"No action \"{on}\" is declared: declare action \"{on}\" {{ ... }} with its fields.", onSyntax.Span);
            return null;
        }
        var binder = new ExpressionBinder(new BindingScope(action.Schema, player, $"objective \"{name}\""), bag);
        var when = attributes.TryGetValue("when", out var whenSyntax) ? binder.BindAs(whenSyntax, RuleType.Bool, "An objective's when") : null;
        if (!attributes.TryGetValue("points", out var pointsSyntax))
        {
            return null;
        }
        var points = binder.BindAs(pointsSyntax, RuleType.Int, "points");
        if (points is BoundLiteral { Value: long constant })
        {
            if (constant <= 0)
            {
                bag.Error("objective.points_not_positive", "points must be positive.", pointsSyntax.Span);
            }
            else if (_bounds.MaxPointsPerAction is { } max && constant > max)
            {
                bag.Error("bounds.exceeded", $"points = {constant} exceeds safety_bounds max_points_per_action = {max}.", pointsSyntax.Span);
            }
        }
        long? maxPerHour = attributes.TryGetValue("max_per_hour", out var cap) ? Positive(cap, bag, "max_per_hour") : null;
        return new ObjectiveDefinition(name, on, when, points, maxPerHour, block.Span);
    }

    private TierDefinition? Tier(BlockSyntax block, DiagnosticBag bag, List<TierDefinition> previous)
    {
        if (Label(block, bag, "a tier name") is not { } name)
        {
            return null;
        }
        NoBlocks(block, bag);
        var attributes = Attributes(block, bag, ["at", "reward"], required: ["at", "reward"]);
        long? at = attributes.TryGetValue("at", out var atSyntax) ? Positive(atSyntax, bag, "at") : null;
        var reward = attributes.TryGetValue("reward", out var r) ? Reward(r, bag) : null;
        if (previous.Exists(t => t.Name == name))
        {
            bag.Error("decl.duplicate", $"Tier \"{name}\" is declared twice in this event.", block.Labels[0].Span);
            return null;
        }
        if (at is { } value && previous.Count > 0 && value <= previous[^1].At)
        {
            bag.Error("tier.not_increasing", $"Tiers must be in increasing order of at: {value} is not above {previous[^1].At} (tier \"{previous[^1].Name}\").", atSyntax!.Span);
            return null;
        }
        return at is null || reward is null ? null : new TierDefinition(name, at.Value, reward);
    }

    private List<PrizeDefinition> Leaderboard(BlockSyntax block, DiagnosticBag bag)
    {
        NoLabels(block, bag);
        Attributes(block, bag, []);
        var prizes = new List<PrizeDefinition>();
        foreach (var prize in block.Body.Blocks)
        {
            if (prize.Type != "prize")
            {
                bag.Error("decl.unknown_block", $"Unknown block '{prize.Type}' in a leaderboard: use prize \"1\" {{ reward = ... }}.", prize.TypeSpan);
                continue;
            }
            if (prizes.Count == MaxPrizesPerEvent)
            {
                bag.Error("limit.prizes", $"A leaderboard has at most {MaxPrizesPerEvent} prizes.", prize.TypeSpan);
                break;
            }
            if (Label(prize, bag, "a rank range such as \"1\" or \"2-10\"") is not { } range)
            {
                continue;
            }
            NoBlocks(prize, bag);
            var attributes = Attributes(prize, bag, ["reward"], required: ["reward"]);
            var reward = attributes.TryGetValue("reward", out var r) ? Reward(r, bag) : null;
            if (!TryRankRange(range, out int from, out int to))
            {
                bag.Error("leaderboard.invalid_range", $"\"{range}\" is not a rank range: write \"1\" or \"2-10\" with ranks from 1 to {MaxRank}.", prize.Labels[0].Span);
                continue;
            }
            if (prizes.Count > 0 && from <= prizes[^1].ToRank)
            {
                bag.Error("leaderboard.overlapping_ranges", $"Prize ranges must be in increasing order without overlap: \"{range}\" starts at or before rank {prizes[^1].ToRank}.", prize.Labels[0].Span);
                continue;
            }
            if (reward is not null)
            {
                prizes.Add(new PrizeDefinition(from, to, reward));
            }
        }
        if (prizes.Count == 0 && !block.Body.Blocks.Any())
        {
            bag.Error("leaderboard.no_prizes", "A leaderboard needs at least one prize block.", block.TypeSpan);
        }
        return prizes;
    }

    private static bool TryRankRange(string text, out int from, out int to)
    {
        from = to = 0;
        string[] parts = text.Split('-');
        if (parts.Length is < 1 or > 2 || !parts.All(p => p.Length is > 0 and <= 5 && p.All(char.IsAsciiDigit)))
        {
            return false;
        }
        from = int.Parse(parts[0], CultureInfo.InvariantCulture);
        to = parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : from;
        return from >= 1 && to >= from && to <= MaxRank;
    }

    private ConfigOverride? Override(BlockSyntax block, DiagnosticBag bag)
    {
        if (Label(block, bag, "the name of a config") is not { } name)
        {
            return null;
        }
        if (!_configs.TryGetValue(name, out var config))
        {
            bag.Error("config.unknown", $"There is no config \"{name}\" to override.", block.Labels[0].Span);
            return null;
        }
        NoBlocks(block, bag);
        var values = ConfigValues(block, bag);
        bool ok = true;
        foreach (var attribute in block.Body.Attributes)
        {
            if (!values.TryGetValue(attribute.Name, out var value))
            {
                continue;
            }
            if (!config.Values.TryGetValue(attribute.Name, out var original))
            {
                bag.Error("config.unknown_key", $"Config \"{name}\" has no value '{attribute.Name}' to override.", attribute.NameSpan);
                ok = false;
            }
            else if (original.Type != value.Type)
            {
                bag.Error("type.mismatch", $"'{attribute.Name}' is {original.Type} in config \"{name}\"; the override must be too, not {value.Type}.", attribute.Value.Span);
                ok = false;
            }
        }
        return ok ? new ConfigOverride(name, values) : null;
    }

    private Reward? Reward(ExpressionSyntax syntax, DiagnosticBag bag)
    {
        if (syntax is not ObjectSyntax entries || entries.Entries.Count == 0)
        {
            bag.Error("reward.invalid", "A reward is an object of declared currencies and items with amounts, such as { gems = 50 }.", syntax.Span);
            return null;
        }
        var lines = new List<RewardLine>();
        bool ok = true;
        foreach (var entry in entries.Entries)
        {
            if (!_currencies.Contains(entry.Key) && !_items.Contains(entry.Key))
            {
                bag.Error("reward.unknown", $"\"{entry.Key}\" is not a declared currency or item: declare currency \"{entry.Key}\" {{}} or item \"{entry.Key}\" {{}}.", entry.KeySpan);
                ok = false;
                continue;
            }
            if (lines.Exists(l => l.Name == entry.Key))
            {
                bag.Error("decl.duplicate", $"\"{entry.Key}\" appears twice in this reward.", entry.KeySpan);
                ok = false;
                continue;
            }
            if (Positive(entry.Value, bag, entry.Key) is not { } amount)
            {
                ok = false;
                continue;
            }
            if (_bounds.MaxPerGrant.TryGetValue(entry.Key, out long max) && amount > max)
            {
                bag.Error("bounds.exceeded", $"{entry.Key} = {amount} exceeds safety_bounds max_currency_per_grant {entry.Key} = {max}.", entry.Value.Span);
                ok = false;
                continue;
            }
            lines.Add(new RewardLine(entry.Key, amount));
        }
        return ok ? new Reward(lines) : null;
    }

    // ---- small helpers ----

    private static string? Label(BlockSyntax block, DiagnosticBag bag, string what)
    {
        if (block.Labels.Count != 1)
        {
            bag.Error("decl.label_count", $"{block.Type} takes one label: {what}.", block.Labels.Count > 1 ? block.Labels[1].Span : block.TypeSpan);
            return null;
        }
        return block.Labels[0].Value;
    }

    private static void NoLabels(BlockSyntax block, DiagnosticBag bag)
    {
        if (block.Labels.Count > 0)
        {
            bag.Error("decl.label_count", $"{block.Type} takes no label.", block.Labels[0].Span);
        }
    }

    private static void NoBlocks(BlockSyntax block, DiagnosticBag bag)
    {
        foreach (var child in block.Body.Blocks)
        {
            bag.Error("decl.unknown_block", $"{block.Type} has no nested blocks; '{child.Type}' is not allowed here.", child.TypeSpan);
        }
    }

    /// <summary>The block's attributes by name; reports unknown, duplicate and missing ones.</summary>
    private static Dictionary<string, ExpressionSyntax> Attributes(BlockSyntax block, DiagnosticBag bag, string[] allowed, string[]? required = null)
    {
        var result = new Dictionary<string, ExpressionSyntax>(StringComparer.Ordinal);
        foreach (var attribute in block.Body.Attributes)
        {
            if (!allowed.Contains(attribute.Name))
            {
                string known = allowed.Length == 0 ? "it takes none" : "known: " + string.Join(", ", allowed);
                bag.Error("decl.unknown_attribute", $"{block.Type} has no attribute '{attribute.Name}' ({known}).", attribute.NameSpan);
                continue;
            }
            if (!result.TryAdd(attribute.Name, attribute.Value))
            {
                bag.Error("decl.duplicate_attribute", $"'{attribute.Name}' is set twice.", attribute.NameSpan);
            }
        }
        foreach (string name in required ?? [])
        {
            if (!result.ContainsKey(name))
            {
                bag.Error("decl.missing_attribute", $"{block.Type} needs '{name}'.", block.TypeSpan);
            }
        }
        return result;
    }

    private static bool IsName(string name) =>
        name.Length is > 0 and <= 64 && char.IsAsciiLetterLower(name[0]) && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_');

    private static string? String(ExpressionSyntax syntax, DiagnosticBag bag, string what)
    {
        if (syntax is LiteralSyntax { Kind: LiteralKind.String, Value: string value })
        {
            return value;
        }
        bag.Error("decl.wrong_type", $"{what} must be a string.", syntax.Span);
        return null;
    }

    private static long? Positive(ExpressionSyntax syntax, DiagnosticBag bag, string what)
    {
        if (syntax is LiteralSyntax { Kind: LiteralKind.Integer, Value: long value } && value > 0)
        {
            return value;
        }
        bag.Error("decl.wrong_type", $"{what} must be a positive whole number.", syntax.Span);
        return null;
    }

    /// <summary>A literal value (with an optional leading minus on numbers), of <paramref name="expected"/> type if given.</summary>
    private static ConfigValue? Literal(ExpressionSyntax syntax, DiagnosticBag bag, RuleType? expected, string what)
    {
        ConfigValue? value = syntax switch
        {
            LiteralSyntax { Kind: LiteralKind.String, Value: string s } => new ConfigValue(RuleType.String, s),
            LiteralSyntax { Kind: LiteralKind.Integer, Value: long l } => new ConfigValue(RuleType.Int, l),
            LiteralSyntax { Kind: LiteralKind.Decimal, Value: decimal m } => new ConfigValue(RuleType.Decimal, m),
            LiteralSyntax { Kind: LiteralKind.Boolean, Value: bool b } => new ConfigValue(RuleType.Bool, b),
            UnarySyntax { Operator: TokenKind.Minus, Operand: LiteralSyntax { Kind: LiteralKind.Integer, Value: long l } } => new ConfigValue(RuleType.Int, -l),
            UnarySyntax { Operator: TokenKind.Minus, Operand: LiteralSyntax { Kind: LiteralKind.Decimal, Value: decimal m } } => new ConfigValue(RuleType.Decimal, -m),
            _ => null,
        };
        if (value is null)
        {
            bag.Error("decl.not_a_literal", $"{what} must be a literal string, number or bool.", syntax.Span);
            return null;
        }
        if (expected is not null && value.Type != expected)
        {
            if (expected == RuleType.Decimal && value.Type == RuleType.Int)
            {
                return new ConfigValue(RuleType.Decimal, (decimal)(long)value.Value);
            }
            bag.Error("type.mismatch", $"{what} must be {expected}, not {value.Type}.", syntax.Span);
            return null;
        }
        return value;
    }

    private static DateTimeOffset? Time(ExpressionSyntax syntax, DiagnosticBag bag, string what)
    {
        if (String(syntax, bag, what) is not { } text)
        {
            return null;
        }
        if (Rfc3339.TryParseUtc(text, out long ticks, out string? error))
        {
            return new DateTimeOffset(ticks, TimeSpan.Zero);
        }
        bag.Error("value.invalid_time", $"{what} must be an RFC 3339 UTC time such as \"2025-07-24T16:00:00Z\": it {error}.", syntax.Span);
        return null;
    }

    /// <summary>
    /// Durations like "48h", "7d", "1h30m", "90s": whole numbers of d, h, m, s, at most 10 years. The
    /// language's spelling of a duration; the CLI reads its duration options the same way.
    /// </summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (text.Length is 0 or > 32)
        {
            return false;
        }
        long totalSeconds = 0;
        int i = 0;
        while (i < text.Length)
        {
            int start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }
            if (i == start || i == text.Length || i - start > 9)
            {
                return false;
            }
            long amount = long.Parse(text.AsSpan(start, i - start), CultureInfo.InvariantCulture);
            long unit = text[i] switch { 'd' => 86_400, 'h' => 3_600, 'm' => 60, 's' => 1, _ => 0 };
            if (unit == 0)
            {
                return false;
            }
            totalSeconds += amount * unit;
            i++;
        }
        if (totalSeconds > 10L * 366 * 86_400)
        {
            return false;
        }
        duration = TimeSpan.FromSeconds(totalSeconds);
        return true;
    }

    private static TimeSpan? Duration(ExpressionSyntax syntax, DiagnosticBag bag, string what, bool allowZero)
    {
        if (String(syntax, bag, what) is not { } text)
        {
            return null;
        }
        if (TryParseDuration(text, out var duration) && (allowZero || duration > TimeSpan.Zero))
        {
            return duration;
        }
        bag.Error("value.invalid_duration", $"{what} must be a duration such as \"48h\", \"7d\" or \"1h30m\" (d, h, m, s; at most 10 years{(allowZero ? "" : "; more than zero")}).", syntax.Span);
        return null;
    }
}
