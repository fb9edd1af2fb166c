using System.Text.Json.Serialization;

namespace Showrunner.Contracts.Ledger;

/// <summary>The answer of <c>GET /v1/ledger/key</c> (JSON form).</summary>
public sealed record LedgerKeyResponse(string KeyId, string Algorithm, string PublicKeyPem);

/// <summary>
/// The answer of <c>GET /v1/ledger</c>. <c>latest_checkpoint</c> is null before the first checkpoint,
/// and then <c>checkpoint_age_ms</c> is left out.
/// </summary>
public sealed record LedgerSummaryResponse(
    int Partitions,
    long Entries,
    string KeyId,
    CheckpointResponse? LatestCheckpoint,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? CheckpointAgeMs,
    long UncheckpointedEntries);

/// <summary>
/// A signed checkpoint: its canonical bytes and signature in base64. <c>partitions</c> (each
/// partition's size and root) where one checkpoint is shown, left out of lists and summaries.
/// </summary>
public sealed record CheckpointResponse(
    long Sequence,
    string Time,
    string KeyId,
    long Entries,
    string Checkpoint,
    string Signature,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<PartitionHeadResponse>? Partitions = null);

/// <summary>One partition's Merkle log head in a checkpoint (root in hex).</summary>
public sealed record PartitionHeadResponse(long Size, string Root);

/// <summary>The answer of <c>GET /v1/ledger/checkpoints</c>: ascending; <c>next_after</c> null on the last page.</summary>
public sealed record CheckpointListResponse(IReadOnlyList<CheckpointResponse> Checkpoints, long? NextAfter);

/// <summary>The answer of <c>GET /v1/ledger/consistency</c>: one consistency proof per partition (hex nodes).</summary>
public sealed record ConsistencyResponse(CheckpointResponse From, CheckpointResponse To, IReadOnlyList<ConsistencyProofResponse> Proofs);

/// <summary>A partition's consistency proof between two sizes.</summary>
public sealed record ConsistencyProofResponse(int Partition, long FromSize, long ToSize, IReadOnlyList<string> Proof);

/// <summary>The answer of <c>GET /v1/ledger/partitions/{partition}/entries</c>: canonical entry bytes in base64, hashes in hex.</summary>
public sealed record LedgerEntriesResponse(int Partition, IReadOnlyList<LedgerEntryResponse> Entries, long? NextFrom);

/// <summary>One ledger entry of a partition.</summary>
public sealed record LedgerEntryResponse(long Index, string Entry, string PrevHash, string Hash);
