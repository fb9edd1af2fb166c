namespace Showrunner.Core.Rollouts;

/// <summary>
/// The statistics behind the rollout gates (docs/operations.md, "Gates"): always-valid sequential
/// tests, so that looking at the counts every 250 ms, for as long as a step lasts, does not raise
/// the chance of a false verdict above the stated rate.
/// </summary>
/// <remarks>
/// <para>
/// Each test is a nonnegative (super)martingale under its null hypothesis, a likelihood ratio
/// mixed over alternatives chosen in advance; by Ville's inequality the chance that it <em>ever</em>
/// reaches <c>1/α</c>, at any of unboundedly many looks, is at most <c>α</c>. A verdict therefore
/// needs no correction for the number of looks, and a step may soak as long as it likes.
/// </para>
/// <para>
/// The statistics use <see cref="double"/>: they decide, they are never stored, and the same counts
/// give the same verdict (every operation here is a fixed sequence of IEEE operations; no
/// randomness, no iteration over unordered collections). Money and points stay integers in the
/// meters that feed them.
/// </para>
/// </remarks>
internal static class SequentialTests
{
    /// <summary>
    /// The alternatives of the ratio test, as multiples of the allowed ratio (a candidate rate above
    /// the allowed one), equally weighted. <see cref="double.PositiveInfinity"/>: the baseline does
    /// not produce this at all. The grid spans mild to total excess, so the test is neither blind to a
    /// 1.5× excess nor slow on a 10× one.
    /// </summary>
    private static readonly double[] AboveMultiples = [1.25, 1.5, 2, 3, 5, 10, double.PositiveInfinity];

    /// <summary>The alternatives of the reverse test (the candidate's rate below the allowed one): reciprocals of the above; 0: the candidate does not produce this at all.</summary>
    private static readonly double[] BelowMultiples = [0.8, 2.0 / 3, 0.5, 1.0 / 3, 0.2, 0.1, 0];

    /// <summary>Most bisection steps when inverting a proportion's confidence sequence (2^-60 of the unit interval).</summary>
    private const int BisectionSteps = 60;

    /// <summary>Most Newton steps after the bisection (it converges in about five).</summary>
    private const int NewtonSteps = 30;

    /// <summary>
    /// The log of the evidence against H0 "the candidate's rate is at most <paramref name="ratio"/>
    /// times the baseline's", from <paramref name="candidate"/> events over <paramref name="candidateExposure"/>
    /// and <paramref name="baseline"/> events over <paramref name="baselineExposure"/>.
    /// </summary>
    /// <remarks>
    /// Conditional binomial form: given both cohorts' events, under H0 at its boundary each event is the
    /// candidate's with probability <c>p0 = r·Nc / (r·Nc + Nb)</c>, whatever the unknown baseline rate.
    /// The statistic is the likelihood ratio of the events' split, mixed over the alternatives
    /// <c>p1</c> at <see cref="AboveMultiples"/> of the allowed ratio; under H0 (any rate at or below
    /// the boundary) its expectation is at most 1. The counts may be fractional (effective counts of
    /// reward amounts, see <see cref="Gates"/>).
    /// </remarks>
    public static double EvidenceAbove(double candidate, double baseline, double candidateExposure, double baselineExposure, double ratio) =>
        Evidence(candidate, baseline, candidateExposure, baselineExposure, ratio, AboveMultiples, above: true);

    /// <summary>
    /// The log of the evidence against H0' "the candidate's rate is at least <paramref name="ratio"/>
    /// times the baseline's": the mirror of <see cref="EvidenceAbove"/>. When it is large the data show
    /// that the candidate stays within the allowed ratio.
    /// </summary>
    public static double EvidenceBelow(double candidate, double baseline, double candidateExposure, double baselineExposure, double ratio) =>
        Evidence(candidate, baseline, candidateExposure, baselineExposure, ratio, BelowMultiples, above: false);

    private static double Evidence(double candidate, double baseline, double candidateExposure, double baselineExposure, double ratio, double[] multiples, bool above)
    {
        double allowed = ratio * candidateExposure;
        double total = allowed + baselineExposure;
        if (total <= 0 || (candidate <= 0 && baseline <= 0))
        {
            return 0;
        }
        double p0 = allowed / total;
        if (p0 <= 0)
        {
            // A ratio of zero: H0 says the candidate never produces this. One event refutes it; none can refute H0'.
            return above && candidate > 0 ? double.PositiveInfinity : 0;
        }
        var terms = new double[multiples.Length];
        for (int j = 0; j < multiples.Length; j++)
        {
            double multiple = multiples[j];
            double p1 = double.IsPositiveInfinity(multiple) ? 1 : multiple == 0 ? 0 : multiple * allowed / (multiple * allowed + baselineExposure);
            terms[j] = LogPower(p1, p0, candidate) + LogPower(1 - p1, 1 - p0, baseline);
        }
        return LogMeanExp(terms);
    }

    /// <summary><c>count · ln(alternative / null)</c>, with <c>0 · ln 0 = 0</c> and <c>ln 0 = -∞</c>.</summary>
    private static double LogPower(double alternative, double nullProbability, double count)
    {
        if (count <= 0)
        {
            return 0;
        }
        if (alternative <= 0)
        {
            return double.NegativeInfinity;
        }
        return count * Math.Log(alternative / nullProbability);
    }

    private static double LogMeanExp(double[] terms)
    {
        double max = double.NegativeInfinity;
        foreach (double term in terms)
        {
            max = Math.Max(max, term);
        }
        if (double.IsNegativeInfinity(max) || double.IsPositiveInfinity(max))
        {
            return max;
        }
        double sum = 0;
        foreach (double term in terms)
        {
            sum += Math.Exp(term - max);
        }
        return max + Math.Log(sum / terms.Length);
    }

    /// <summary>
    /// An always-valid confidence interval for a proportion after <paramref name="successes"/> of
    /// <paramref name="trials"/>: every <c>p</c> whose Beta(½, ½)-mixture likelihood ratio (Robbins'
    /// beta-binomial mixture) is below <c>e^logThreshold</c>. It covers the true proportion at every
    /// look at once with probability at least <c>1 - e^-logThreshold</c>.
    /// </summary>
    public static (double Lower, double Upper) ProportionBounds(long successes, long trials, double logThreshold)
    {
        if (trials <= 0)
        {
            return (0, 1);
        }
        double x = successes, n = trials;
        double excess = LogBeta(x + 0.5, n - x + 0.5) - LogBeta(0.5, 0.5) - logThreshold;
        // g(p) = ln M(p) − threshold is convex in p with its minimum (below 0) at x/n: each bound is its one crossing on that side.
        double G(double p) => excess - (x > 0 ? x * Math.Log(p) : 0) - (n - x > 0 ? (n - x) * Math.Log(1 - p) : 0);
        double Slope(double p) => -(x / p) + ((n - x) / (1 - p));
        double estimate = x / n;
        double lower = x > 0 ? Crossing(G, Slope, estimate, 0) : 0;
        double upper = x < n ? Crossing(G, Slope, estimate, 1) : 1;
        return (lower, upper);
    }

    /// <summary>
    /// The root of convex <paramref name="g"/> between <paramref name="inside"/> (g &lt; 0) and
    /// <paramref name="outside"/> (g ≥ 0): a few bisection steps to leave the boundary, then Newton's
    /// method from the outside end, whose iterates stay outside the root and approach it monotonically
    /// (so the interval returned is never narrower than the exact one).
    /// </summary>
    private static double Crossing(Func<double, double> g, Func<double, double> slope, double inside, double outside)
    {
        for (int i = 0; i < BisectionSteps && (i < 8 || !double.IsFinite(g(outside))); i++)
        {
            double middle = (inside + outside) / 2;
            if (g(middle) < 0)
            {
                inside = middle;
            }
            else
            {
                outside = middle;
            }
        }
        double p = outside;
        for (int i = 0; i < NewtonSteps; i++)
        {
            double value = g(p);
            double next = p - (value / slope(p));
            // Stop when converged, or if rounding would carry the iterate across the root or the bracket.
            if (!double.IsFinite(next) || value <= 0 || Math.Abs(next - p) <= 1e-15 || (next - inside) * (p - inside) <= 0)
            {
                break;
            }
            p = next;
        }
        return p;
    }

    private static double LogBeta(double a, double b) => LogGamma(a) + LogGamma(b) - LogGamma(a + b);

    /// <summary>Lanczos coefficients (g = 7, nine terms): ln Γ to about 15 significant digits for positive arguments.</summary>
    private static readonly double[] Lanczos =
    [
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
        12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
    ];

    /// <summary>ln Γ(<paramref name="x"/>) for x &gt; 0 (reflection below ½).</summary>
    internal static double LogGamma(double x)
    {
        if (x < 0.5)
        {
            return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        }
        x -= 1;
        double sum = Lanczos[0];
        for (int i = 1; i < Lanczos.Length; i++)
        {
            sum += Lanczos[i] / (x + i);
        }
        double t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
