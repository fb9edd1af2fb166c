using System.Collections.Frozen;
using System.Linq.Expressions;
using System.Numerics;
using System.Reflection;
using Showrunner.Core.Rules.Binding;
using Showrunner.Core.Rules.Model;

namespace Showrunner.Core.Rules.Evaluation;

/// <summary>Why an objective's (or an audience's) expressions could not be evaluated for one action.</summary>
internal enum EvaluationFailure : byte
{
    None,
    /// <summary>Int arithmetic overflowed 64 bits (or a decimal left its range).</summary>
    Overflow,
    /// <summary>Division or remainder by zero.</summary>
    DivisionByZero,
}

/// <summary>
/// One objective an action counts for: it matched (<see cref="Failure"/> is None and
/// <see cref="Points"/> is what its <c>points</c> gave), or its <c>when</c> or <c>points</c>
/// failed to evaluate (<see cref="Points"/> is 0).
/// </summary>
/// <param name="Event">Index in <see cref="ReleaseDefinition.Events"/>.</param>
/// <param name="Objective">Index in that event's <see cref="EventDefinition.Objectives"/>.</param>
internal readonly record struct ObjectiveOutcome(int Event, int Objective, long Points, EvaluationFailure Failure)
{
    public bool Failed => Failure != EvaluationFailure.None;
}

/// <summary>An event whose audience could not be evaluated for the player: the player is treated as outside it.</summary>
internal readonly record struct AudienceFailure(int Event, EvaluationFailure Failure);

/// <summary>
/// What compiled objective code reads and writes: the action and player values, the points of
/// matched objectives, and which objective runs (so that a failure is charged to the right one).
/// One per <see cref="EvaluationResults"/>; never shared between threads.
/// </summary>
/// <remarks>Public fields, not properties: compiled expression trees read and write them directly.</remarks>
internal sealed class EvaluationFrame
{
#pragma warning disable CA1051 // Fields on purpose: see the remarks.
    public RecordValues Action = null!;
    public RecordValues Player = null!;
    public readonly long[] Points = new long[ReleaseChecker.MaxObjectivesPerEvent];
    public ulong Matched;
    public int Current;
#pragma warning restore CA1051
}

/// <summary>
/// The result of one <see cref="ReleaseEvaluator.Evaluate(ActionPlan, RecordValues, AudienceMembership, EvaluationResults)"/>,
/// and the scratch space it needs. Reused from call to call (one per partition or thread): after
/// construction, evaluation allocates nothing. Its capacity is fixed by the release, so it never grows.
/// </summary>
internal sealed class EvaluationResults
{
    private readonly ObjectiveOutcome[] _outcomes;
    private readonly AudienceFailure[] _audienceFailures;
    private int _outcomeCount;
    private int _audienceFailureCount;

    internal EvaluationResults(ReleaseEvaluator evaluator)
    {
        Evaluator = evaluator;
        _outcomes = new ObjectiveOutcome[evaluator.MaxOutcomesPerAction];
        _audienceFailures = new AudienceFailure[evaluator.MaxEventsPerAction];
        Uncached = new AudienceMembership(evaluator);
    }

    public ReleaseEvaluator Evaluator { get; }

    /// <summary>Matched and failed objectives, ordered by event index, then objective index.</summary>
    public ReadOnlySpan<ObjectiveOutcome> Outcomes => _outcomes.AsSpan(0, _outcomeCount);

    /// <summary>Events counting this action type whose audience failed to evaluate for the player, by event index.</summary>
    public ReadOnlySpan<AudienceFailure> AudienceFailures => _audienceFailures.AsSpan(0, _audienceFailureCount);

    internal EvaluationFrame Frame { get; } = new();

    /// <summary>The membership used by the uncached overload, reset on every call.</summary>
    internal AudienceMembership Uncached { get; }

    internal void Clear()
    {
        _outcomeCount = 0;
        _audienceFailureCount = 0;
    }

    internal void Add(ObjectiveOutcome outcome) => _outcomes[_outcomeCount++] = outcome;

    internal void Add(AudienceFailure failure) => _audienceFailures[_audienceFailureCount++] = failure;
}

/// <summary>
/// Everything about one action type that evaluation needs: its field layout (for the decoder) and,
/// in event order, the events with objectives on it, each compiled to one delegate.
/// </summary>
internal sealed class ActionPlan
{
    internal ActionPlan(ReleaseEvaluator evaluator, string type, RecordLayout layout, EventPlan[] events)
    {
        Evaluator = evaluator;
        Type = type;
        Layout = layout;
        Events = events;
    }

    public ReleaseEvaluator Evaluator { get; }
    public string Type { get; }
    public RecordLayout Layout { get; }

    /// <summary>How many events count this action type: the events one action of it is checked against.</summary>
    public int EventCount => Events.Length;

    internal EventPlan[] Events { get; }
}

/// <summary>
/// One event's objectives on one action type, compiled into a single delegate. <see cref="Run"/>
/// evaluates objectives <c>start</c>, <c>start + 1</c>, … in declaration order: it sets
/// <see cref="EvaluationFrame.Current"/> before each, and for each that matches stores its points in
/// <see cref="EvaluationFrame.Points"/> and its bit in <see cref="EvaluationFrame.Matched"/>. An
/// overflow or division by zero escapes the delegate; the caller charges it to
/// <see cref="EvaluationFrame.Current"/> and resumes at the next objective.
/// </summary>
/// <param name="Objectives">Bit k of the masks is the objective at index Objectives[k] of the event.</param>
internal sealed record EventPlan(int Event, int[] Objectives, Action<EvaluationFrame, int> Run);

/// <summary>
/// A release compiled for evaluation: given an action (its type's <see cref="ActionPlan"/> and its
/// decoded values) and a player (attributes and audience membership), it finds, for every event
/// that counts the action type and whose audience holds the player, the objectives the action
/// matches and their points.
/// </summary>
/// <remarks>
/// <para>
/// Built once per release (<see cref="Build"/>), immutable, and safe to share between threads;
/// the mutable parts (<see cref="EvaluationResults"/>, <see cref="AudienceMembership"/>,
/// <see cref="AudienceCache"/>) belong to one caller each.
/// </para>
/// <para>
/// Cost model: an action costs nothing for events that do not count its type (objectives are
/// indexed by action type). For each event that does, one audience check (a bit test when the
/// membership is known, else the compiled audience) and one delegate call that evaluates all of the
/// event's objectives on that type, reading typed slots (<see cref="RecordValues"/>) without boxing.
/// Overflow and division by zero are caught around the event's delegate, not around every expression.
/// </para>
/// <para>
/// Semantics are those of <see cref="ExpressionCompiler"/> (the same expression trees, built by
/// <see cref="ExpressionCompiler.Build"/>): <c>when</c> short-circuits, <c>points</c> is evaluated
/// only when <c>when</c> holds, and a failure fails only its own objective — deterministically, the
/// same on every replay. Results come in a stable order: event index, then objective index.
/// </para>
/// </remarks>
internal sealed class ReleaseEvaluator
{
    private static readonly FieldInfo FrameAction = typeof(EvaluationFrame).GetField(nameof(EvaluationFrame.Action))!;
    private static readonly FieldInfo FramePlayer = typeof(EvaluationFrame).GetField(nameof(EvaluationFrame.Player))!;
    private static readonly FieldInfo FramePoints = typeof(EvaluationFrame).GetField(nameof(EvaluationFrame.Points))!;
    private static readonly FieldInfo FrameMatched = typeof(EvaluationFrame).GetField(nameof(EvaluationFrame.Matched))!;
    private static readonly FieldInfo FrameCurrent = typeof(EvaluationFrame).GetField(nameof(EvaluationFrame.Current))!;

    private readonly FrozenDictionary<string, ActionPlan> _actions;
    private readonly Func<RecordValues, bool>?[] _audiences;
    private readonly ulong[] _everyone;

    private ReleaseEvaluator(ReleaseDefinition release)
    {
        Release = release;
        PlayerLayout = new RecordLayout(PlayerSchema(release));
        _audiences = release.Events
            .Select(e => e.Audience is null ? null : CompileAudience(e.Audience, PlayerLayout))
            .ToArray();
        _everyone = new ulong[(release.Events.Count + 63) / 64];
        for (int e = 0; e < _audiences.Length; e++)
        {
            if (_audiences[e] is null)
            {
                _everyone[e >> 6] |= 1UL << e;
            }
        }
        var actions = new Dictionary<string, ActionPlan>(StringComparer.Ordinal);
        foreach (var action in release.Actions)
        {
            var layout = action.Type == ReleaseChecker.PlayerProfileAction ? PlayerLayout : new RecordLayout(action.Schema);
            var events = new List<EventPlan>();
            for (int e = 0; e < release.Events.Count; e++)
            {
                var objectives = release.Events[e].Objectives;
                int[] indexes = Enumerable.Range(0, objectives.Count).Where(o => objectives[o].On == action.Type).ToArray();
                if (indexes.Length > 0)
                {
                    events.Add(new EventPlan(e, indexes, CompileObjectives(indexes.Select(o => objectives[o]).ToList(), layout, PlayerLayout)));
                }
            }
            actions[action.Type] = new ActionPlan(this, action.Type, layout, events.ToArray());
            MaxEventsPerAction = Math.Max(MaxEventsPerAction, events.Count);
            MaxOutcomesPerAction = Math.Max(MaxOutcomesPerAction, events.Sum(e => e.Objectives.Length));
        }
        _actions = actions.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public ReleaseDefinition Release { get; }

    /// <summary>The slots of the player attributes (built-in ones first, then those of <c>action "player.profile"</c>).</summary>
    public RecordLayout PlayerLayout { get; }

    public int EventCount => Release.Events.Count;

    /// <summary>One bit per event, set for events without an audience (they hold every player).</summary>
    internal ReadOnlySpan<ulong> EveryoneMask => _everyone;

    /// <summary>The most events one action type is counted by: the capacity of <see cref="EvaluationResults.AudienceFailures"/>.</summary>
    public int MaxEventsPerAction { get; }

    /// <summary>The most objectives one action type is counted by: the capacity of <see cref="EvaluationResults.Outcomes"/>.</summary>
    public int MaxOutcomesPerAction { get; }

    /// <summary>Compiles every audience and objective of <paramref name="release"/> (checked, so free of binding errors).</summary>
    public static ReleaseEvaluator Build(ReleaseDefinition release) => new(release);

    /// <summary>The plan of a declared action type, or null (an undeclared type counts for nothing).</summary>
    public ActionPlan? FindAction(string type) => _actions.GetValueOrDefault(type);

    public EvaluationResults CreateResults() => new(this);

    public AudienceMembership CreateMembership() => new(this);

    /// <summary>
    /// Evaluates one action for a player whose audience membership is cached in
    /// <paramref name="membership"/> (see <see cref="AudienceCache"/>), into <paramref name="results"/>
    /// (cleared first).
    /// </summary>
    public void Evaluate(ActionPlan plan, RecordValues action, AudienceMembership membership, EvaluationResults results)
    {
        if (plan.Evaluator != this || membership.Evaluator != this || results.Evaluator != this || action.Layout != plan.Layout)
        {
            throw new ArgumentException("The plan, values, membership and results must all come from this evaluator, and the values must have the plan's layout.");
        }
        results.Clear();
        var frame = results.Frame;
        frame.Action = action;
        frame.Player = membership.Player;
        foreach (var eventPlan in plan.Events)
        {
            int e = eventPlan.Event;
            if (!membership.Contains(e))
            {
                if (membership.HasFailed(e))
                {
                    results.Add(new AudienceFailure(e, EvaluateAudience(e, membership.Player)));
                }
                continue;
            }
            Run(eventPlan, frame, results);
        }
    }

    /// <summary>Evaluates one action without a membership cache: every audience involved is evaluated afresh.</summary>
    public void Evaluate(ActionPlan plan, RecordValues action, RecordValues player, EvaluationResults results)
    {
        if (results.Evaluator != this)
        {
            throw new ArgumentException("The results must come from this evaluator.", nameof(results));
        }
        results.Uncached.Reset(player);
        Evaluate(plan, action, results.Uncached, results);
    }

    /// <summary>Whether the player is in the event's audience (an event without an audience holds everyone); <paramref name="failure"/> says why not when it could not be evaluated.</summary>
    public bool IsInAudience(int eventIndex, RecordValues player, out EvaluationFailure failure)
    {
        failure = EvaluationFailure.None;
        if (_audiences[eventIndex] is not { } audience)
        {
            return true;
        }
        try
        {
            return audience(player);
        }
        catch (OverflowException)
        {
            failure = EvaluationFailure.Overflow;
        }
        catch (DivideByZeroException)
        {
            failure = EvaluationFailure.DivisionByZero;
        }
        return false;
    }

    private EvaluationFailure EvaluateAudience(int eventIndex, RecordValues player)
    {
        IsInAudience(eventIndex, player, out var failure);
        return failure;
    }

    private static void Run(EventPlan plan, EvaluationFrame frame, EvaluationResults results)
    {
        frame.Matched = 0;
        ulong overflowed = 0, dividedByZero = 0;
        int start = 0;
        while (true)
        {
            try
            {
                plan.Run(frame, start);
                break;
            }
            catch (OverflowException)
            {
                overflowed |= 1UL << frame.Current;
                start = frame.Current + 1;
            }
            catch (DivideByZeroException)
            {
                dividedByZero |= 1UL << frame.Current;
                start = frame.Current + 1;
            }
        }
        ulong matched = frame.Matched;
        ulong reported = matched | overflowed | dividedByZero;
        while (reported != 0)
        {
            int k = BitOperations.TrailingZeroCount(reported);
            ulong bit = 1UL << k;
            reported &= reported - 1;
            results.Add((matched & bit) != 0
                ? new ObjectiveOutcome(plan.Event, plan.Objectives[k], frame.Points[k], EvaluationFailure.None)
                : new ObjectiveOutcome(plan.Event, plan.Objectives[k], 0, (overflowed & bit) != 0 ? EvaluationFailure.Overflow : EvaluationFailure.DivisionByZero));
        }
    }

    /// <summary>The player attributes schema the checker bound audiences and objectives against.</summary>
    private static RecordSchema PlayerSchema(ReleaseDefinition release) =>
        release.Actions.FirstOrDefault(a => a.Type == ReleaseChecker.PlayerProfileAction)?.Schema
        ?? new RecordSchema("player attributes",
            ReleaseChecker.BuiltinPlayerAttributes.Select((a, i) => new FieldSchema(a.Name, a.Type, i, false, a.Default)).ToList());

    private static Func<RecordValues, bool> CompileAudience(BoundExpression audience, RecordLayout playerLayout)
    {
        var player = Expression.Parameter(typeof(RecordValues), "player");
        var slots = new SlotReader(null, null, player, playerLayout);
        var body = ExpressionCompiler.Build(audience, slots.Read);
        return Expression.Lambda<Func<RecordValues, bool>>(slots.Wrap(body), player).Compile();
    }

    /// <summary>
    /// <c>(frame, start) =&gt; { if (start &lt;= 0) { frame.Current = 0; if (when0) { points[0] = points0; frame.Matched |= 1; } } … }</c>
    /// with the typed arrays read once into locals.
    /// </summary>
    private static Action<EvaluationFrame, int> CompileObjectives(List<ObjectiveDefinition> objectives, RecordLayout actionLayout, RecordLayout playerLayout)
    {
        if (objectives.Count > ReleaseChecker.MaxObjectivesPerEvent)
        {
            throw new InvalidOperationException($"An event has at most {ReleaseChecker.MaxObjectivesPerEvent} objectives; the checker should have refused {objectives.Count}.");
        }
        var frame = Expression.Parameter(typeof(EvaluationFrame), "frame");
        var start = Expression.Parameter(typeof(int), "start");
        var action = Expression.Field(frame, FrameAction);
        var player = Expression.Field(frame, FramePlayer);
        var slots = new SlotReader(action, actionLayout, player, playerLayout);
        var points = Expression.Variable(typeof(long[]), "points");
        var steps = new List<Expression>();
        for (int k = 0; k < objectives.Count; k++)
        {
            var objective = objectives[k];
            Expression record = Expression.Block(
                Expression.Assign(Expression.ArrayAccess(points, Expression.Constant(k)), ExpressionCompiler.Build(objective.Points, slots.Read)),
                Expression.OrAssign(Expression.Field(frame, FrameMatched), Expression.Constant(1UL << k)));
            if (objective.When is not null)
            {
                record = Expression.IfThen(ExpressionCompiler.Build(objective.When, slots.Read), record);
            }
            steps.Add(Expression.IfThen(
                Expression.LessThanOrEqual(start, Expression.Constant(k)),
                Expression.Block(Expression.Assign(Expression.Field(frame, FrameCurrent), Expression.Constant(k)), record)));
        }
        var body = Expression.Block([points], [Expression.Assign(points, Expression.Field(frame, FramePoints)), .. steps, Expression.Empty()]);
        return Expression.Lambda<Action<EvaluationFrame, int>>(slots.Wrap(body), frame, start).Compile();
    }

    /// <summary>
    /// Turns field reads into typed array reads (<c>ints[3]</c>), loading each array the expression
    /// uses once into a local at the top of the delegate (<see cref="Wrap"/>).
    /// </summary>
    private sealed class SlotReader(Expression? action, RecordLayout? actionLayout, Expression player, RecordLayout playerLayout)
    {
        private readonly Dictionary<(FieldSource, ValueKind), ParameterExpression> _arrays = [];
        private readonly List<Expression> _loads = [];

        public Expression Read(BoundField field)
        {
            var (record, layout) = field.Source == FieldSource.Action
                ? (action ?? throw new InvalidOperationException("An audience read an action field: the binder should have refused it."), actionLayout!)
                : (player, playerLayout);
            var slot = layout.SlotOf(field.Field);
            if (slot.Name != field.Field.Name || slot.Kind != field.Field.Type.Kind)
            {
                throw new InvalidOperationException($"Field '{field.Field.Name}' was bound against another schema than {layout.Schema.Name}.");
            }
            if (!_arrays.TryGetValue((field.Source, slot.Kind), out var array))
            {
                var (name, type) = slot.Kind switch
                {
                    ValueKind.Int => (nameof(RecordValues.Ints), typeof(long[])),
                    ValueKind.Decimal => (nameof(RecordValues.Decimals), typeof(decimal[])),
                    ValueKind.String => (nameof(RecordValues.Strings), typeof(string[])),
                    _ => (nameof(RecordValues.Bools), typeof(bool[])),
                };
                array = Expression.Variable(type, $"{field.Source}{name}");
                _arrays.Add((field.Source, slot.Kind), array);
                _loads.Add(Expression.Assign(array, Expression.PropertyOrField(record, name)));
            }
            return Expression.ArrayIndex(array, Expression.Constant(slot.Index));
        }

        public Expression Wrap(Expression body) =>
            _arrays.Count == 0 ? body : Expression.Block(body.Type, _arrays.Values, [.. _loads, body]);
    }
}
