using System.Text.Json.Serialization;
using Showrunner.Contracts.Flags;

namespace Showrunner.Contracts;

[JsonSerializable(typeof(FlagListResponse))]
public sealed partial class ContractsJson;
