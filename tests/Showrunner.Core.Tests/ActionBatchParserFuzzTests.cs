using System.Text;
using Showrunner.Core.Actions;
using Xunit.Abstractions;

namespace Showrunner.Core.Tests;

/// <summary>
/// Seeded fuzzing of the batch parser: random bytes and mutations of valid bodies must never make
/// it throw, and every outcome must be well-formed (an error with a code, or one item per element
/// with either an action or a rejection). Set SHOWRUNNER_FUZZ_SEED to replay a failing seed.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class ActionBatchParserFuzzTests(ITestOutputHelper output)
{
    private static readonly long Now = new DateTime(2026, 11, 22, 12, 0, 0, DateTimeKind.Utc).Ticks;

    private static readonly string[] Corpus =
    [
        "{\"actions\":[{\"id\":\"a-1\",\"player\":\"p-1\",\"type\":\"combat.kill\",\"at\":\"2026-11-22T11:59:00Z\",\"data\":{\"target\":\"dragon\",\"n\":[1,2.5,-3e2,true,null]}}]}",
        "{\"actions\":[{\"id\":\"a\",\"player\":\"\\u00fc\",\"type\":\"loot.open\",\"at\":\"2026-11-22T11:59:00.123456789Z\"},5,{}]}",
        "{\"v\":1,\"actions\":[{\"id\":\"x\",\"id\":\"y\",\"data\":{\"a\":{\"b\":{\"c\":\"\\\"}\"}}}}]}",
    ];

    [Fact]
    public void Random_and_mutated_bodies_never_throw()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("SHOWRUNNER_FUZZ_SEED"), out int s) ? s : Environment.TickCount;
        output.WriteLine($"seed={seed} (replay with SHOWRUNNER_FUZZ_SEED={seed})");
        var random = new Random(seed);
        var limits = new ActionLimits { MaxDataBytes = 64, MaxDataDepth = 3, MaxActionsPerBatch = 8 };
        byte[] alphabet = Encoding.UTF8.GetBytes("{}[]\",:\\ 0123456789.eE+-truefalsnul\n\tabcdxyz_éu");
        int valid = 0, errors = 0;
        for (int iteration = 0; iteration < 20_000; iteration++)
        {
            byte[] body;
            switch (random.Next(3))
            {
                case 0:
                    body = new byte[random.Next(0, 200)];
                    random.NextBytes(body);
                    break;
                case 1:
                    body = new byte[random.Next(0, 200)];
                    for (int i = 0; i < body.Length; i++)
                    {
                        body[i] = alphabet[random.Next(alphabet.Length)];
                    }
                    break;
                default:
                    body = Mutate(Encoding.UTF8.GetBytes(Corpus[random.Next(Corpus.Length)]), random);
                    break;
            }
            ParsedBatch batch;
            try
            {
                batch = ActionBatchParser.Parse(body, limits, Now);
            }
            catch (Exception exception)
            {
                Assert.Fail($"seed={seed} iteration={iteration} body={Convert.ToBase64String(body)} threw {exception}");
                return;
            }
            if (batch.ErrorCode is not null)
            {
                errors++;
                Assert.Empty(batch.Items);
                Assert.NotNull(batch.ErrorMessage);
                continue;
            }
            Assert.NotEmpty(batch.Items);
            Assert.InRange(batch.Items.Length, 1, limits.MaxActionsPerBatch);
            foreach (var item in batch.Items)
            {
                Assert.True(item.Action is null ^ item.Rejection is null, $"seed={seed} iteration={iteration}: an item must be exactly one of action or rejection");
                if (item.Action is { } action)
                {
                    valid++;
                    Assert.InRange(action.Data.Length, 2, limits.MaxDataBytes);
                }
                else
                {
                    Assert.Contains(item.Rejection!.Code, RejectionCodes.All);
                }
            }
        }
        output.WriteLine($"valid actions={valid} refused bodies={errors}");
        Assert.True(errors > 0);
    }

    private static byte[] Mutate(byte[] source, Random random)
    {
        var bytes = new List<byte>(source);
        int mutations = random.Next(1, 4);
        for (int m = 0; m < mutations && bytes.Count > 0; m++)
        {
            int at = random.Next(bytes.Count);
            switch (random.Next(4))
            {
                case 0:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 1:
                    bytes.RemoveAt(at);
                    break;
                case 2:
                    bytes.Insert(at, (byte)"{}[]\",:\\"[random.Next(8)]);
                    break;
                default:
                    int length = Math.Min(random.Next(1, 20), bytes.Count - at);
                    bytes.InsertRange(at, bytes.GetRange(at, length));
                    break;
            }
        }
        return [.. bytes];
    }
}
