using System.Text;
using Showrunner.Core.Rules.Syntax;
using Xunit.Abstractions;

namespace Showrunner.Core.Tests.Rules;

/// <summary>
/// Seeded fuzzing of the lexer and parser: random text, random tokens and mutations of the example
/// release must never throw, never hang, and every diagnostic must point inside its file.
/// Replay a seed with SHOWRUNNER_FUZZ_SEED.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class ParserFuzzTests(ITestOutputHelper output)
{
    private static readonly string[] Fragments =
    [
        "{", "}", "[", "]", "(", ")", "=", ",", ".", ":", "?", "!", "&&", "||", "==", "<=", " in ", "+", "-", "*", "/",
        "\n", " ", "\"", "\"s\"", "\\", "${", "#", "//", "/*", "*/", "1", "2.5", "99999999999999999999999", "true",
        "null", "action", "player.level", "min(", "event", "tier \"x\" ", "é", "\u0000", "\ud800",
    ];

    [Fact]
    public async Task Random_and_mutated_sources_never_throw_or_hang()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("SHOWRUNNER_FUZZ_SEED"), out int s) ? s : Environment.TickCount;
        output.WriteLine($"seed={seed} (replay with SHOWRUNNER_FUZZ_SEED={seed})");
        var random = new Random(seed);
        string example = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "summer-week-1", "release.hcl"));
        for (int iteration = 0; iteration < 3_000; iteration++)
        {
            string text = random.Next(3) switch
            {
                0 => RandomChars(random),
                1 => string.Concat(Enumerable.Range(0, random.Next(1, 200)).Select(_ => Fragments[random.Next(Fragments.Length)])),
                _ => Mutate(example, random),
            };
            var diagnostics = new List<Diagnostic>();
            var source = new SourceText("fuzz.hcl", text);
            // Parsed on a worker so that a hang fails the test (with its input) instead of the run.
            var parse = Task.Run(() => Parser.ParseFile(source, new DiagnosticBag(source, diagnostics)));
            string input = Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
            if (await Task.WhenAny(parse, Task.Delay(TimeSpan.FromSeconds(5))) != parse)
            {
                Assert.Fail($"seed={seed} iteration={iteration} did not finish within 5 s\ninput (base64): {input}");
            }
            if (parse.Exception is { } exception)
            {
                Assert.Fail($"seed={seed} iteration={iteration} threw {exception}\ninput (base64): {input}");
            }
            foreach (var diagnostic in diagnostics)
            {
                Assert.InRange(diagnostic.Span.Offset, 0, text.Length);
                Assert.True(diagnostic.Span.Line >= 1 && diagnostic.Span.Column >= 1);
                Assert.StartsWith("syntax.", diagnostic.Code, StringComparison.Ordinal);
            }
        }
    }

    private static string RandomChars(Random random)
    {
        var chars = new char[random.Next(0, 300)];
        for (int i = 0; i < chars.Length; i++)
        {
            chars[i] = (char)random.Next(0, 128);
        }
        return new string(chars);
    }

    private static string Mutate(string text, Random random)
    {
        var builder = new StringBuilder(text);
        for (int m = random.Next(1, 6); m > 0 && builder.Length > 0; m--)
        {
            int at = random.Next(builder.Length);
            switch (random.Next(3))
            {
                case 0:
                    builder.Remove(at, Math.Min(random.Next(1, 20), builder.Length - at));
                    break;
                case 1:
                    builder.Insert(at, Fragments[random.Next(Fragments.Length)]);
                    break;
                default:
                    builder[at] = (char)random.Next(32, 127);
                    break;
            }
        }
        return builder.ToString();
    }
}
