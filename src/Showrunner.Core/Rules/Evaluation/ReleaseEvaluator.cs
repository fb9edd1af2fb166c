using System.Collections.Frozen;
using System.Linq.Expressions;
using System.Numerics;
using System.Reflection;
using Showrunner.Core.Rules.Binding;
using Showrunner.Core.Rules.Model;

namespace Showrunner.Core.Rules.Evaluation;

/// <summary>Why an objective's (or an audience's) expressions could not be evaluated for one action.</summary>
public enum EvaluationFailure : byte
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
public readonly record struct ObjectiveOutcome(int Event, int Objective, long Points, EvaluationFailure Failure)
{
    public bool Failed => Failure != EvaluationFailure.None;
}

/// <summary>An event whose audience could not be evaluated for the player: the player is treated as outside it.</summary>
public readonly record struct AudienceFailure(int Event, EvaluationFailure Failure);

/// <summary>
/// What compiled objective code reads and writes: the action and player values, the player's
/// audience membership (already learned for the chunk's events), the outcomes so far, and which
/// objective runs (so that a failure is charged to the right one). One per <see cref="EvaluationResults"/>; never shared between threads.
/// </summary>
/// <remarks>Public fields, not properties: compiled expression trees read and write them directly.</remarks>
internal sealed class EvaluationFrame
{
#pragma warning disable CA1051 // Fields on purpose: see the remarks.
    public RecordValues Action = null!;
    public RecordValues Player = null!;
    public AudienceMembership Membership = null!;
    public readonly ObjectiveOutcome[] Outcomes;
    public int OutcomeCount;
    public readonly AudienceFailure[] AudienceFailures;
    public int AudienceFailureCount;
    /// <summary>The ordinal (in its <see cref="ActionChunk"/>) of the objective being evaluated.</summary>
    public int Current;
#pragma warning restore CA1051

    public EvaluationFrame(int outcomes, int events)
    {
        Outcomes = new ObjectiveOutcome[outcomes];
        AudienceFailures = new AudienceFailure[events];
    }
}

/// <summary>
/// The result of one <see cref="ReleaseEvaluator.Evaluate(ActionPlan, RecordValues, AudienceMembership, EvaluationResults)"/>,
/// and the scratch space it needs. Reused from call to call (one per partition or thread): after
/// construction, evaluation allocates nothing. Its capacity is fixed by the release, so it never grows.
/// </summary>
public sealed class EvaluationResults
{
    internal EvaluationResults(ReleaseEvaluator evaluator)
    {
        Evaluator = evaluator;
        Frame = new EvaluationFrame(evaluator.MaxOutcomesPerAction, evaluator.MaxEventsPerAction);
        Uncached = new AudienceMembership(evaluator);
    }

    public ReleaseEvaluator Evaluator { get; }

    /// <summary>Matched and failed objectives, ordered by event index, then objective index.</summary>
    public ReadOnlySpan<ObjectiveOutcome> Outcomes => Frame.Outcomes.AsSpan(0, Frame.OutcomeCount);

    /// <summary>Events counting this action type whose audience failed to evaluate for the player, by event index.</summary>
    public ReadOnlySpan<AudienceFailure> AudienceFailures => Frame.AudienceFailures.AsSpan(0, Frame.AudienceFailureCount);

    internal EvaluationFrame Frame { get; }

    /// <summary>The membership used by the uncached overload, reset on every call.</summary>
    internal AudienceMembership Uncached { get; }
}

/// <summary>
/// Everything about one action type that evaluation needs: its field layout (for the decoder) and
/// the events with objectives on it, compiled in event order into a few delegates.
/// </summary>
public sealed class ActionPlan
{
    internal ActionPlan(ReleaseEvaluator evaluator, string type, RecordLayout layout, int eventCount, int objectiveCount, ActionChunk[] chunks)
    {
        Evaluator = evaluator;
        Type = type;
        Layout = layout;
        EventCount = eventCount;
        ObjectiveCount = objectiveCount;
        Chunks = chunks;
    }

    public ReleaseEvaluator Evaluator { get; }
    public string Type { get; }
    public RecordLayout Layout { get; }

    /// <summary>How many events count this action type: the events one action of it is checked against.</summary>
    public int EventCount { get; }

    /// <summary>How many objectives, over all events, count this action type.</summary>
    public int ObjectiveCount { get; }

    internal ActionChunk[] Chunks { get; }
}

/// <summary>
/// Consecutive events' objectives on one action type, compiled into one delegate. Before it runs,
/// the caller makes sure the membership knows the audiences of <see cref="AudienceWords"/> /
/// <see cref="AudienceMasks"/>. <see cref="Run"/> then goes through the events in order; for each
/// whose member bit is set (or that has no audience) it evaluates the objectives with ordinal
/// <c>start</c> or more, setting <see cref="EvaluationFrame.Current"/> before each and appending an
/// outcome for each that matches. An overflow or division by zero escapes the delegate; the caller
/// appends a failed outcome for <see cref="EvaluationFrame.Current"/> and runs it again from the
/// next ordinal.
/// </summary>
/// <param name="EventOf">The event index of each ordinal.</param>
/// <param name="ObjectiveOf">The objective index (in its event) of each ordinal.</param>
/// <param name="AudienceWords">The membership words holding the chunk's events that have an audience, ascending.</param>
/// <param name="AudienceMasks">For each of those words, the bits of those events.</param>
internal sealed record ActionChunk(int[] EventOf, int[] ObjectiveOf, int[] AudienceWords, ulong[] AudienceMasks, Action<EvaluationFrame, int> Run);

/// <summary>
/// Some of the audiences of the events of one membership word, compiled into one delegate:
/// <c>Run(membership, needed, start)</c> evaluates, in bit order from <c>start</c>, each audience
/// whose bit is in <c>needed</c>, and sets its <see cref="AudienceMembership.Known"/> and
/// <see cref="AudienceMembership.Member"/> bits. An overflow or division by zero escapes; the
/// membership marks <see cref="AudienceMembership.Current"/> failed and resumes after it.
/// </summary>
/// <param name="Covers">The bits (events) this learner evaluates.</param>
internal sealed record AudienceLearner(ulong Covers, Action<AudienceMembership, ulong, int> Run);

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
/// indexed by action type). The events that do are compiled, per action type, into one delegate
/// per chunk of up to <see cref="MaxObjectivesPerChunk"/> objectives (one chunk for 20 events of a
/// few objectives each). Before a chunk runs, the audiences of its events the player's membership
/// does not know yet are evaluated, a word of 64 events per call (<see cref="AudienceLearner"/>);
/// with a warm <see cref="AudienceCache"/> that is one test per word. Inside the chunk each event
/// costs a member-bit test and its objectives, which read typed slots (<see cref="RecordValues"/>)
/// without boxing and append their outcomes directly. Overflow and division by zero are caught
/// around the compiled delegates, not around every expression.
/// </para>
/// <para>
/// Semantics are those of <see cref="ExpressionCompiler"/> (the same expression trees, built by
/// <see cref="ExpressionCompiler.Build"/>): <c>when</c> short-circuits, <c>points</c> is evaluated
/// only when <c>when</c> holds, and a failure fails only its own objective — deterministically, the
/// same on every replay. Results come in a stable order: event index, then objective index.
/// </para>
/// </remarks>
public sealed class ReleaseEvaluator
{
    /// <summary>
    /// A chunk closes before it would hold more objectives or expression nodes than this, so that
    /// every compiled method stays far below the size at which the JIT stops optimizing
    /// (60,000 bytes of IL or 2,000 basic blocks). An event is never split.
    /// </summary>
    public const int MaxObjectivesPerChunk = 64;

    /// <inheritdoc cref="MaxObjectivesPerChunk"/>
    public const int MaxNodesPerChunk = 1_000;

    private static readonly FieldInfo FrameAction = typeof(EvaluationFrame).GetField(nameof(EvaluationFrame.Action))!;
    private static readonly FieldInfo FramePlayer = typeof(EvaluationFrame).GetField(nameof(EvaluationFrame.Player))!;
    private static readonly FieldInfo FrameMembership = typeof(EvaluationFrame).GetField(nameof(EvaluationFrame.Membership))!;
    private static readonly FieldInfo FrameOutcomes = typeof(EvaluationFrame).GetField(nameof(EvaluationFrame.Outcomes))!;
    private static readonly FieldInfo FrameOutcomeCount = typeof(EvaluationFrame).GetField(nameof(EvaluationFrame.OutcomeCount))!;
    private static readonly FieldInfo FrameCurrent = typeof(EvaluationFrame).GetField(nameof(EvaluationFrame.Current))!;
    private static readonly FieldInfo MembershipKnown = typeof(AudienceMembership).GetField(nameof(AudienceMembership.Known))!;
    private static readonly FieldInfo MembershipMember = typeof(AudienceMembership).GetField(nameof(AudienceMembership.Member))!;
    private static readonly FieldInfo MembershipCurrent = typeof(AudienceMembership).GetField(nameof(AudienceMembership.Current))!;
    private static readonly ConstructorInfo NewOutcome = typeof(ObjectiveOutcome).GetConstructor([typeof(int), typeof(int), typeof(long), typeof(EvaluationFailure)])!;

    private readonly FrozenDictionary<string, ActionPlan> _actions;
    /// <summary>Per membership word, the compiled learners of its events' audiences.</summary>
    private readonly AudienceLearner[][] _learners;
    private readonly ulong[] _everyone;

    private ReleaseEvaluator(ReleaseDefinition release)
    {
        Release = release;
        PlayerLayout = new RecordLayout(PlayerSchema(release));
        _learners = CompileAudiences(release, PlayerLayout);
        _everyone = new ulong[(release.Events.Count + 63) / 64];
        for (int e = 0; e < release.Events.Count; e++)
        {
            if (release.Events[e].Audience is null)
            {
                _everyone[e >> 6] |= 1UL << e;
            }
        }
        var actions = new Dictionary<string, ActionPlan>(StringComparer.Ordinal);
        foreach (var action in release.Actions)
        {
            var layout = action.Type == ReleaseChecker.PlayerProfileAction ? PlayerLayout : new RecordLayout(action.Schema);
            var counting = new List<(int Event, int[] Objectives, int Nodes)>();
            for (int e = 0; e < release.Events.Count; e++)
            {
                var objectives = release.Events[e].Objectives;
                int[] indexes = Enumerable.Range(0, objectives.Count).Where(o => objectives[o].On == action.Type).ToArray();
                if (indexes.Length > 0)
                {
                    int nodes = indexes.Sum(o => Nodes(objectives[o].When) + Nodes(objectives[o].Points));
                    counting.Add((e, indexes, nodes));
                }
            }
            var chunks = new List<ActionChunk>();
            for (int first = 0; first < counting.Count;)
            {
                int next = first + 1, objectiveTotal = counting[first].Objectives.Length, nodeTotal = counting[first].Nodes;
                while (next < counting.Count
                    && objectiveTotal + counting[next].Objectives.Length <= MaxObjectivesPerChunk
                    && nodeTotal + counting[next].Nodes <= MaxNodesPerChunk)
                {
                    objectiveTotal += counting[next].Objectives.Length;
                    nodeTotal += counting[next].Nodes;
                    next++;
                }
                chunks.Add(CompileChunk(counting[first..next].Select(c => (c.Event, c.Objectives)).ToList(), layout));
                first = next;
            }
            int objectiveCount = counting.Sum(c => c.Objectives.Length);
            actions[action.Type] = new ActionPlan(this, action.Type, layout, counting.Count, objectiveCount, chunks.ToArray());
            MaxEventsPerAction = Math.Max(MaxEventsPerAction, counting.Count);
            MaxOutcomesPerAction = Math.Max(MaxOutcomesPerAction, objectiveCount);
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
        var frame = results.Frame;
        frame.OutcomeCount = 0;
        frame.AudienceFailureCount = 0;
        frame.Action = action;
        frame.Player = membership.Player;
        frame.Membership = membership;
        foreach (var chunk in plan.Chunks)
        {
            Run(chunk, frame);
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

    /// <summary>The compiled audience learners of the events of membership word <paramref name="word"/>.</summary>
    internal AudienceLearner[] LearnersOf(int word) => _learners[word];

    /// <summary>
    /// Learns the chunk's unknown audiences, reports the failed ones, then runs the chunk; each
    /// objective failure is appended in place (outcomes stay in ordinal order) and the rest of the
    /// chunk still runs.
    /// </summary>
    private static void Run(ActionChunk chunk, EvaluationFrame frame)
    {
        var membership = frame.Membership;
        var words = chunk.AudienceWords;
        for (int i = 0; i < words.Length; i++)
        {
            int word = words[i];
            ulong unknown = chunk.AudienceMasks[i] & ~membership.Known[word];
            if (unknown != 0)
            {
                membership.Learn(word, unknown);
            }
            if (membership.AnyFailed && (membership.FailedIn(word) & chunk.AudienceMasks[i]) is var failed and not 0)
            {
                ReportAudienceFailures(frame, word, failed);
            }
        }
        int start = 0;
        while (true)
        {
            EvaluationFailure failure;
            try
            {
                chunk.Run(frame, start);
                return;
            }
            catch (OverflowException)
            {
                failure = EvaluationFailure.Overflow;
            }
            catch (DivideByZeroException)
            {
                failure = EvaluationFailure.DivisionByZero;
            }
            int failed = frame.Current;
            frame.Outcomes[frame.OutcomeCount++] = new ObjectiveOutcome(chunk.EventOf[failed], chunk.ObjectiveOf[failed], 0, failure);
            start = failed + 1;
        }
    }

    private static void ReportAudienceFailures(EvaluationFrame frame, int word, ulong failed)
    {
        for (; failed != 0; failed &= failed - 1)
        {
            int eventIndex = word * 64 + BitOperations.TrailingZeroCount(failed);
            frame.AudienceFailures[frame.AudienceFailureCount++] = new AudienceFailure(eventIndex, frame.Membership.FailureOf(eventIndex));
        }
    }

    /// <summary>The size of a bound expression, to bound the size of compiled methods.</summary>
    private static int Nodes(BoundExpression? bound) => bound switch
    {
        null => 0,
        BoundUnary unary => 1 + Nodes(unary.Operand),
        BoundWiden widen => 1 + Nodes(widen.Operand),
        BoundBinary binary => 1 + Nodes(binary.Left) + Nodes(binary.Right),
        BoundIn @in => 1 + Nodes(@in.Value) + @in.Items.Sum(i => 1 + Nodes(i)),
        BoundConditional conditional => 1 + Nodes(conditional.Condition) + Nodes(conditional.WhenTrue) + Nodes(conditional.WhenFalse),
        BoundCall call => 1 + call.Arguments.Sum(Nodes),
        _ => 1,
    };

    /// <summary>The player attributes schema the checker bound audiences and objectives against.</summary>
    private static RecordSchema PlayerSchema(ReleaseDefinition release) =>
        release.Actions.FirstOrDefault(a => a.Type == ReleaseChecker.PlayerProfileAction)?.Schema ?? ReleaseChecker.DefaultPlayerSchema();

    /// <summary>
    /// Compiles the audiences into learners, per membership word (64 events), split where a learner
    /// would exceed <see cref="MaxNodesPerChunk"/>: a thousand events make about 16 compiled
    /// methods, not a thousand. A learner's body, per event with bit b of word w:
    /// <c>if ((needed &amp; 1 &lt;&lt; b) != 0 &amp;&amp; start &lt;= b) { m.Current = b; if (audience) member[w] |= 1 &lt;&lt; b; known[w] |= 1 &lt;&lt; b; }</c>.
    /// </summary>
    private static AudienceLearner[][] CompileAudiences(ReleaseDefinition release, RecordLayout playerLayout)
    {
        int words = (release.Events.Count + 63) / 64;
        var learners = new AudienceLearner[words][];
        for (int word = 0; word < words; word++)
        {
            var compiled = new List<AudienceLearner>();
            var pending = new List<int>();
            int nodes = 0;
            for (int e = word * 64; e < Math.Min(release.Events.Count, word * 64 + 64); e++)
            {
                if (release.Events[e].Audience is not { } audience)
                {
                    continue;
                }
                int size = Nodes(audience);
                if (pending.Count > 0 && nodes + size > MaxNodesPerChunk)
                {
                    compiled.Add(CompileLearner(release, playerLayout, word, pending));
                    pending.Clear();
                    nodes = 0;
                }
                pending.Add(e);
                nodes += size;
            }
            if (pending.Count > 0)
            {
                compiled.Add(CompileLearner(release, playerLayout, word, pending));
            }
            learners[word] = compiled.ToArray();
        }
        return learners;
    }

    private static AudienceLearner CompileLearner(ReleaseDefinition release, RecordLayout playerLayout, int word, List<int> events)
    {
        var membership = Expression.Parameter(typeof(AudienceMembership), "membership");
        var needed = Expression.Parameter(typeof(ulong), "needed");
        var start = Expression.Parameter(typeof(int), "start");
        var known = Expression.Variable(typeof(ulong[]), "known");
        var member = Expression.Variable(typeof(ulong[]), "member");
        var slots = new SlotReader(null, null, Expression.Property(membership, nameof(AudienceMembership.Player)), playerLayout);
        var wordIndex = Expression.Constant(word);
        var body = new List<Expression>
        {
            Expression.Assign(known, Expression.Field(membership, MembershipKnown)),
            Expression.Assign(member, Expression.Field(membership, MembershipMember)),
        };
        ulong covers = 0;
        foreach (int e in events)
        {
            int b = e & 63;
            var bit = Expression.Constant(1UL << b);
            covers |= 1UL << b;
            body.Add(Expression.IfThen(
                Expression.AndAlso(
                    Expression.NotEqual(Expression.And(needed, bit), Expression.Constant(0UL)),
                    Expression.LessThanOrEqual(start, Expression.Constant(b))),
                Expression.Block(
                    Expression.Assign(Expression.Field(membership, MembershipCurrent), Expression.Constant(b)),
                    Expression.IfThen(
                        ExpressionCompiler.Build(release.Events[e].Audience!, slots.Read),
                        Expression.OrAssign(Expression.ArrayAccess(member, wordIndex), bit)),
                    Expression.OrAssign(Expression.ArrayAccess(known, wordIndex), bit))));
        }
        body.Add(Expression.Empty());
        var block = Expression.Block([known, member], body);
        var run = Expression.Lambda<Action<AudienceMembership, ulong, int>>(slots.Wrap(block), membership, needed, start).Compile();
        return new AudienceLearner(covers, run);
    }

    /// <summary>
    /// For each event, in order (objective ordinals a..b):
    /// <c>if (start &lt;= b &amp;&amp; (member[w] &amp; bit) != 0) { if (start &lt;= a) { frame.Current = a; if (when) outcomes[count++] = (e, o, points); } … }</c>,
    /// the member test left out for events without an audience. The typed arrays are read once into locals.
    /// </summary>
    private ActionChunk CompileChunk(List<(int Event, int[] Objectives)> events, RecordLayout actionLayout)
    {
        var frame = Expression.Parameter(typeof(EvaluationFrame), "frame");
        var start = Expression.Parameter(typeof(int), "start");
        var slots = new SlotReader(Expression.Field(frame, FrameAction), actionLayout, Expression.Field(frame, FramePlayer), PlayerLayout);
        var outcomes = Expression.Variable(typeof(ObjectiveOutcome[]), "outcomes");
        var member = Expression.Variable(typeof(ulong[]), "member");
        var count = Expression.Field(frame, FrameOutcomeCount);
        var membership = Expression.Field(frame, FrameMembership);
        var body = new List<Expression>
        {
            Expression.Assign(outcomes, Expression.Field(frame, FrameOutcomes)),
            Expression.Assign(member, Expression.Field(membership, MembershipMember)),
        };
        var eventOf = new List<int>();
        var objectiveOf = new List<int>();
        var audienceMasks = new SortedDictionary<int, ulong>();
        foreach (var (e, indexes) in events)
        {
            var definition = Release.Events[e];
            var steps = new List<Expression>();
            foreach (int o in indexes)
            {
                int k = eventOf.Count;
                eventOf.Add(e);
                objectiveOf.Add(o);
                var objective = definition.Objectives[o];
                Expression record = Expression.Block(
                    Expression.Assign(
                        Expression.ArrayAccess(outcomes, count),
                        Expression.New(NewOutcome, Expression.Constant(e), Expression.Constant(o), ExpressionCompiler.Build(objective.Points, slots.Read), Expression.Constant(EvaluationFailure.None))),
                    Expression.AddAssign(count, Expression.Constant(1)));
                if (objective.When is not null)
                {
                    record = Expression.IfThen(ExpressionCompiler.Build(objective.When, slots.Read), record);
                }
                steps.Add(Expression.IfThen(
                    Expression.LessThanOrEqual(start, Expression.Constant(k)),
                    Expression.Block(Expression.Assign(Expression.Field(frame, FrameCurrent), Expression.Constant(k)), record)));
            }
            Expression eventBody = Expression.Block(steps);
            if (definition.Audience is not null)
            {
                var bit = Expression.Constant(1UL << e);
                var isMember = Expression.NotEqual(Expression.And(Expression.ArrayIndex(member, Expression.Constant(e >> 6)), bit), Expression.Constant(0UL));
                eventBody = Expression.IfThen(isMember, eventBody);
                audienceMasks[e >> 6] = audienceMasks.GetValueOrDefault(e >> 6) | (1UL << e);
            }
            body.Add(Expression.IfThen(Expression.LessThanOrEqual(start, Expression.Constant(eventOf.Count - 1)), eventBody));
        }
        body.Add(Expression.Empty());
        var block = Expression.Block([outcomes, member], body);
        var run = Expression.Lambda<Action<EvaluationFrame, int>>(slots.Wrap(block), frame, start).Compile();
        return new ActionChunk(eventOf.ToArray(), objectiveOf.ToArray(), audienceMasks.Keys.ToArray(), audienceMasks.Values.ToArray(), run);
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
