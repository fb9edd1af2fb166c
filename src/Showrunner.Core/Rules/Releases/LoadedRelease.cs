using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Evaluation;
using Showrunner.Core.Rules.Model;
using Showrunner.Core.Rules.Syntax;

namespace Showrunner.Core.Rules.Releases;

/// <summary>
/// A release ready to run: its bundle, its compiled <see cref="ReleaseEvaluator"/>, a schema
/// decoder per declared action type (and for <c>player.profile</c>, always) filling the
/// evaluator's slots, and the compiled audiences of events that override configs. Built once per
/// release, before it is activated, and shared by every partition; immutable, so safe across threads.
/// </summary>
public sealed class LoadedRelease
{
    private readonly Dictionary<string, ActionDecoder> _decoders = new(StringComparer.Ordinal);
    private readonly (EventDefinition Event, CompiledExpression<bool>? Audience)[] _overriding;

    private LoadedRelease(ReleaseBundle bundle)
    {
        Bundle = bundle;
        var release = bundle.Release;
        Evaluator = ReleaseEvaluator.Build(release);
        PlayerDecoder = new ActionDecoder(Evaluator.PlayerLayout);
        _decoders[ReleaseChecker.PlayerProfileAction] = PlayerDecoder;
        foreach (var action in release.Actions.Where(a => a.Type != ReleaseChecker.PlayerProfileAction))
        {
            _decoders[action.Type] = new ActionDecoder(Evaluator.FindAction(action.Type)!.Layout);
        }
        _overriding = [.. release.Events
            .Where(e => e.ConfigOverrides.Count > 0)
            .OrderBy(e => e.Id, StringComparer.Ordinal)
            .Select(e => (e, e.Audience is null ? null : ExpressionCompiler.Compile<bool>(e.Audience, "audience of " + e.Id)))];
    }

    private LiveEvents.LiveRules? _live;

    public ReleaseBundle Bundle { get; }

    /// <summary>The release's progress rules, built on first use and shared by every partition.</summary>
    public LiveEvents.LiveRules Live => LazyInitializer.EnsureInitialized(ref _live, () => new LiveEvents.LiveRules(this));

    /// <summary>Every audience and objective, compiled (issue 4 evaluates actions with it).</summary>
    public ReleaseEvaluator Evaluator { get; }
    public string Id => Bundle.Id;
    public string Name => Bundle.Release.Name;

    /// <summary>The decoder of player attributes (<c>player.profile</c> actions and stored profiles).</summary>
    public ActionDecoder PlayerDecoder { get; }

    /// <summary>Checks and loads a stored bundle (canonical text).</summary>
    public static (LoadedRelease? Release, List<Diagnostic> Diagnostics) Load(string canonicalText)
    {
        var (bundle, diagnostics) = ReleaseBundle.Load(canonicalText);
        return (bundle is null ? null : new LoadedRelease(bundle), diagnostics);
    }

    public static LoadedRelease From(ReleaseBundle bundle) => new(bundle);

    /// <summary>The schema decoder for actions of <paramref name="type"/>, or null if the release does not declare the type (such actions are not checked).</summary>
    public ActionDecoder? DecoderFor(string type) => _decoders.GetValueOrDefault(type);

    /// <summary>
    /// The remote config that applies at <paramref name="now"/> to a player with the attributes
    /// <paramref name="player"/> (decoded by <see cref="PlayerDecoder"/>), or to nobody in
    /// particular when null: then only overrides of events without an audience apply.
    /// </summary>
    /// <remarks>
    /// Each config starts from its declared values. Every event that is running at
    /// <paramref name="now"/> (inside a run, grace excluded) and whose audience contains the player
    /// applies its <c>config_override</c> blocks, in event id order: when two running events set
    /// the same key, the event whose id sorts last wins. An audience that fails to evaluate (an
    /// int overflow) does not contain the player.
    /// </remarks>
    /// <param name="killed">Kill switches: configs (by name) served with their declared values only, and events (by id) whose overrides do not apply.</param>
    public ResolvedConfig ResolveConfig(DateTimeOffset now, RecordValues? player, ISet<string>? killedConfigs = null, ISet<string>? killedEvents = null)
    {
        var configs = new SortedDictionary<string, SortedDictionary<string, ConfigValue>>(StringComparer.Ordinal);
        foreach (var config in Bundle.Release.Configs)
        {
            configs[config.Name] = new SortedDictionary<string, ConfigValue>(config.Values.ToDictionary(), StringComparer.Ordinal);
        }
        var applied = new List<AppliedOverride>();
        EvaluationInput? input = player is null ? null : new EvaluationInput([], player.ToBoxed());
        foreach (var (definition, audience) in _overriding)
        {
            if (definition.Schedule.RunAt(now) is not { } run || killedEvents?.Contains(definition.Id) == true)
            {
                continue;
            }
            if (audience is not null && (input is null || !audience.TryEvaluate(input, out bool member) || !member))
            {
                continue;
            }
            foreach (var @override in definition.ConfigOverrides)
            {
                if (!configs.TryGetValue(@override.Config, out var values) || killedConfigs?.Contains(@override.Config) == true)
                {
                    continue;
                }
                foreach (var (key, value) in @override.Values)
                {
                    values[key] = value;
                }
                applied.Add(new AppliedOverride(definition.Id, run.Index, @override.Config,
                    [.. @override.Values.Keys.Order(StringComparer.Ordinal)], run.End));
            }
        }
        return new ResolvedConfig(configs.ToDictionary(c => c.Key, c => (IReadOnlyDictionary<string, ConfigValue>)c.Value, StringComparer.Ordinal), applied);
    }
}

/// <summary>The remote config for one player: every config by name (keys sorted), and the event overrides that shaped it.</summary>
public sealed record ResolvedConfig(IReadOnlyDictionary<string, IReadOnlyDictionary<string, ConfigValue>> Configs, IReadOnlyList<AppliedOverride> Overrides);

/// <summary>An event's <c>config_override</c> in force: which run, which keys, and until when.</summary>
public sealed record AppliedOverride(string Event, long Run, string Config, IReadOnlyList<string> Keys, DateTimeOffset Until);
