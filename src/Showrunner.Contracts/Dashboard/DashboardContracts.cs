namespace Showrunner.Contracts.Dashboard;

/// <summary>Placeholder until the snapshot's records land (the sampler still writes it by hand).</summary>
public sealed record DashboardSnapshotContract(long Sequence);
