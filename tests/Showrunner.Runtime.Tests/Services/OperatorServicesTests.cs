using Microsoft.Extensions.Logging.Abstractions;
using Showrunner.Core.Rollouts;
using Showrunner.Runtime.Approvals;
using Showrunner.Runtime.Audit;
using Showrunner.Runtime.Flags;
using Showrunner.Runtime.Releases;
using Showrunner.Runtime.Rollouts;
using Showrunner.Runtime.Tests.LiveEvents;
using Showrunner.Storage.Audit;

namespace Showrunner.Runtime.Tests.Services;

/// <summary>
/// The release, rollout and flag use cases without HTTP: typed commands in, typed results out,
/// the audit entries they record, and the two-person rule storing typed commands (the approval's
/// stored text is the command as its contract writes it) that an approval executes as the same command.
/// </summary>
[Trait("Category", "Component")]
public sealed class OperatorServicesTests
{
    private static string Source(int gems, string title = "Hunt") => $$"""
        release "services" {}
        currency "gems" {}
        action "combat.kill" { target = string }
        config "shop" {
          discount = 0
        }
        safety_bounds { max_currency_per_grant = { gems = 5000 } }
        event "hunt" {
          title = "{{title}}"
          schedule {
            start    = "2026-11-22T00:00:00Z"
            duration = "1d"
          }
          objective "kills" {
            on     = "combat.kill"
            points = 5
          }
          tier "first" {
            at     = 5
            reward = { gems = {{gems}} }
          }
        }
        """;

    private sealed class Services(LiveHarness harness, ApprovalOptions options)
    {
        public AuditTrail Audit => harness.Audit;
        public ApprovalService Approvals => _approvals ??= new ApprovalService(harness.StoreUsed.Approvals, Audit, options, harness.Clock, NullLogger<ApprovalService>.Instance);
        private ApprovalService? _approvals;

        public IReadOnlyList<StoredAuditEntry> Entries(string action) => harness.StoreUsed.Audit.Query(new AuditQuery(100, Action: action));
    }

    private static async Task<string> PublishAsync(LiveHarness harness, ReleaseService releases, string source)
    {
        var bundle = LiveHarness.Build(source);
        var published = await releases.PublishAsync(new PublishRelease(bundle.CanonicalBytes, bundle.Id), "key:alice");
        Assert.True(published.Status is PublishStatus.Created or PublishStatus.Existing, published.Status.ToString());
        return bundle.Id;
    }

    [Fact]
    public async Task Activation_and_rollback_change_the_register_and_record_who_did_it()
    {
        await using var harness = await LiveHarness.StartAsync(Source(10));
        var services = new Services(harness, new ApprovalOptions { Enabled = false });
        var releases = new ReleaseService(harness.Register, harness.StoreUsed, services.Audit, services.Approvals);
        string candidate = await PublishAsync(harness, releases, Source(10, "Hunt v2"));
        Assert.Single(services.Entries("release.publish"));

        var stale = await releases.ActivateAsync(new ActivateRelease(candidate, 0, "late"), new OperatorAct("key:alice"), "/v1/releases/x/activate");
        Assert.Equal(ChangeStatus.VersionConflict, stale.Change!.Status);
        var activated = await releases.ActivateAsync(new ActivateRelease(candidate, 1, "ship"), new OperatorAct("key:alice"), "/v1/releases/x/activate");
        Assert.False(activated.WaitsForApproval);
        Assert.Equal((ChangeStatus.Changed, 2L, candidate), (activated.Change!.Status, activated.Change.Entry!.Version, activated.Change.Entry.Release.Id));
        var entry = Assert.Single(services.Entries("release.activate"));
        Assert.Equal(("key:alice", harness.ReleaseId, candidate, "ship", """{"version_before":1,"version_after":2}"""),
            (entry.Actor, entry.Before, entry.After, entry.Reason, entry.Details));

        var back = await releases.RollbackAsync(new RollBackRelease(2, "numbers"), new OperatorAct("key:bob"));
        Assert.Equal((ChangeStatus.Changed, harness.ReleaseId), (back.Status, back.Entry!.Release.Id));
        var rollback = Assert.Single(services.Entries("release.rollback"));
        Assert.Equal(("key:bob", candidate, candidate, harness.ReleaseId), (rollback.Actor, rollback.Target, rollback.Before, rollback.After));
    }

    [Fact]
    public async Task An_activation_under_the_two_person_rule_is_stored_as_its_command_and_runs_on_approval_for_the_requester()
    {
        await using var harness = await LiveHarness.StartAsync(Source(10));
        var services = new Services(harness, new ApprovalOptions { Enabled = true, ActivationPercent = 50 });
        var releases = new ReleaseService(harness.Register, harness.StoreUsed, services.Audit, services.Approvals);
        var answers = new List<(ChangeResult Result, string Id)>();
        releases.RegisterApprovals((result, id) =>
        {
            answers.Add((result, id));
            return new ApprovalOutcome(200, "{}");
        });
        string candidate = await PublishAsync(harness, releases, Source(10, "Hunt «v2»"));

        var unknown = await releases.ActivateAsync(new ActivateRelease(new string('f', 64), null, null), new OperatorAct("key:alice"), "/p");
        Assert.Equal(ChangeStatus.ReleaseNotFound, unknown.Change!.Status);
        var same = await releases.ActivateAsync(new ActivateRelease(harness.ReleaseId, null, null), new OperatorAct("key:alice"), "/p");
        Assert.Equal(ChangeStatus.Unchanged, same.Change!.Status);

        var outcome = await releases.ActivateAsync(new ActivateRelease(candidate, null, "go «now»"), new OperatorAct("key:alice"), "/v1/releases/" + candidate + "/activate");
        Assert.True(outcome.WaitsForApproval);
        Assert.Equal(ApprovalRequestStatus.Created, outcome.ApprovalStatus);
        // The register version it was asked at is pinned in the stored command.
        Assert.Equal("""{"expected_version":1,"reason":"go «now»","percent":100}""", outcome.Approval!.Body);
        Assert.Equal(harness.ReleaseId, harness.Register.Current!.Release.Id);

        var decision = await services.Approvals.ApproveAsync(outcome.Approval.Id, "key:bob", null);
        Assert.Equal(DecisionStatus.Executed, decision.Status);
        var (result, id) = Assert.Single(answers);
        Assert.Equal((ChangeStatus.Changed, candidate, candidate), (result.Status, result.Entry!.Release.Id, id));
        var entry = Assert.Single(services.Entries("release.activate"));
        Assert.Equal("key:alice", entry.Actor);
        Assert.Equal($$"""{"version_before":1,"version_after":2,"approval":{{outcome.Approval.Id}},"requested_by":"key:alice","approved_by":"key:bob"}""", entry.Details);
    }

    [Fact]
    public async Task A_rollout_start_and_a_step_above_the_rule_wait_for_approval_and_run_as_the_stored_commands()
    {
        await using var harness = await LiveHarness.StartAsync(Source(10));
        var services = new Services(harness, new ApprovalOptions { Enabled = true, ActivationPercent = 50 });
        var releases = new ReleaseService(harness.Register, harness.StoreUsed, services.Audit, services.Approvals);
        var rollouts = new RolloutService(harness.Rollouts, services.Approvals, harness.Register);
        var answers = new List<(RolloutStatus Status, string Kind)>();
        rollouts.RegisterApprovals((result, kind) =>
        {
            answers.Add((result.Status, kind));
            return new ApprovalOutcome(200, "{}");
        });
        string candidate = await PublishAsync(harness, releases, Source(10, "Hunt v2"));
        var wide = new RolloutPlan([new RolloutStep(StepMode.Live, 10_000, TimeSpan.Zero)], new GateThresholds(), AutoAdvance: false, RollbackPolicy.Keep,
            Audience: "player.level >= 3");

        var asked = await rollouts.StartAsync(new StartRollout(candidate, wide with { Audience = null }, "s", null, "all <in>"), new OperatorAct("key:alice"), "/v1/rollout");
        Assert.True(asked.WaitsForApproval);
        Assert.Equal($$$"""{"candidate":"{{{candidate}}}","plan":{"steps":[{"mode":"live","percent":100,"min_soak_seconds":0}],"audience":null,"auto_advance":false,"on_rollback":"keep","gates":{"min_actions":1000,"max_rejection_increase_bp":100,"max_p95_latency_ratio_percent":300,"p95_latency_slack_us":1000,"max_reward_ratio_percent":200,"false_positive_rate":0.001}},"salt":"s","expected_version":1,"reason":"all <in>","percent":100}""",
            asked.Approval!.Body);
        Assert.Null(rollouts.View());
        Assert.Equal(DecisionStatus.Executed, (await services.Approvals.ApproveAsync(asked.Approval.Id, "key:bob", null)).Status);
        Assert.Equal((RolloutStatus.Started, RolloutService.StartKind), Assert.Single(answers));
        Assert.Equal(("running", "key:alice"), (rollouts.View()!.State, rollouts.View()!.Rollout.CreatedBy));
        Assert.Equal(RolloutStatus.RolledBack, (await rollouts.RollbackAsync("done", new OperatorAct("key:alice"))).Status);

        // 10% first needs no approval; entering 100% does.
        var stepped = new RolloutPlan([new RolloutStep(StepMode.Live, 1_000, TimeSpan.Zero), new RolloutStep(StepMode.Live, 10_000, TimeSpan.FromHours(1))],
            new GateThresholds(), AutoAdvance: false, RollbackPolicy.Keep);
        var started = await rollouts.StartAsync(new StartRollout(candidate, stepped, "s2", null, null), new OperatorAct("key:alice"), "/v1/rollout");
        Assert.Equal(RolloutStatus.Started, started.Result!.Status);
        var step = await rollouts.AdvanceAsync("wider", new OperatorAct("key:alice"));
        Assert.True(step.WaitsForApproval);
        long rolloutId = rollouts.View()!.Rollout.Id;
        Assert.Equal($$"""{"rollout":{{rolloutId}},"step":1,"reason":"wider"}""", step.Approval!.Body);
        Assert.Equal((RolloutService.StepKind, $"{rolloutId}:1", RolloutService.AdvancePath), (step.Approval.Kind, step.Approval.Subject, step.Approval.Path));
        Assert.Equal(DecisionStatus.Executed, (await services.Approvals.ApproveAsync(step.Approval.Id, "key:bob", null)).Status);
        Assert.Equal((RolloutStatus.Advanced, RolloutService.StepKind), answers[^1]);
        Assert.Equal(1, rollouts.View()!.Step);
    }

    [Fact]
    public async Task A_flag_is_set_only_on_a_target_of_the_active_release()
    {
        await using var harness = await LiveHarness.StartAsync(Source(10));
        var audit = harness.Audit;
        var board = new FlagBoard(harness.StoreUsed, harness.Pipeline, harness.Coordinator, harness.Clock, audit);
        var flags = new FlagService(board, harness.Pipeline);

        var unknown = await flags.SetAsync(new SetFlag(FlagKind.Event, "nope", false, null), "key:alice");
        Assert.Equal((SetFlagStatus.UnknownTarget, null), (unknown.Status, unknown.Flag));
        Assert.Empty(flags.List().Flags);
        Assert.False(flags.IsKnown(FlagKind.Config, "hunt"));

        var killed = await flags.SetAsync(new SetFlag(FlagKind.Config, "shop", false, "bad prices"), "key:alice");
        Assert.Equal((SetFlagStatus.Set, "config", "shop", false, "key:alice", "bad prices"),
            (killed.Status, killed.Flag!.Kind, killed.Flag.Target, killed.Flag.Enabled, killed.Flag.Actor, killed.Flag.Reason));
        await flags.SetAsync(new SetFlag(FlagKind.Event, "hunt", false, null), "key:bob");
        var list = flags.List();
        Assert.Equal([("config", "shop"), ("event", "hunt")], list.Flags.Select(f => (f.Kind, f.Target)));
        Assert.Equal(["hunt"], list.KilledEvents);
        Assert.Equal(["shop"], list.KilledConfigs);
        Assert.Equal(2, harness.StoreUsed.Audit.Query(new AuditQuery(10, Action: "flag.set")).Count);
    }
}
