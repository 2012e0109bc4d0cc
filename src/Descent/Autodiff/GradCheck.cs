namespace Descent.Autodiff;

/// <summary>The outcome of <see cref="GradCheck.Check"/>: the worst disagreement and where it was.</summary>
public sealed record GradCheckResult(bool Passed, double MaxAbsError, double MaxRelError, int WorstInput, int WorstIndex, double Analytic, double Numeric)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"{(Passed ? "passed" : "FAILED")}: max abs error {MaxAbsError:G3}, max rel error {MaxRelError:G3} at input {WorstInput} element {WorstIndex} (analytic {Analytic:G6}, numeric {Numeric:G6})";
}

/// <summary>
/// Finite-difference gradient check, like <c>torch.autograd.gradcheck</c> but in float32: the function's
/// output is reduced to L = Σ wᵢ·yᵢ with fixed random weights w, the analytic ∂L/∂x from
/// <see cref="Tensor.Backward"/> is compared element by element with the central difference
/// (L(x + ε) − L(x − ε)) / 2ε, accumulated in double.
/// </summary>
public static class GradCheck
{
    /// <summary>
    /// Checks every element of every input that has <see cref="Tensor.RequiresGrad"/>. An element passes when
    /// |analytic − numeric| ≤ <paramref name="atol"/> + <paramref name="rtol"/>·|numeric|.
    /// </summary>
    public static GradCheckResult Check(Func<Tensor[], Tensor> function, Tensor[] inputs, double eps = 1e-2, double atol = 1e-3, double rtol = 1e-2, int seed = 1)
    {
        var probe = function(inputs);
        var weights = new float[probe.Numel];
        var rng = new Random(seed);
        for (int i = 0; i < weights.Length; i++) weights[i] = (float)(rng.NextDouble() * 2 - 1);
        Tape.Clear();

        foreach (var x in inputs) x.Grad = null;
        var y = function(inputs);
        var loss = Functional.Sum(Functional.Mul(y, new Tensor((float[])weights.Clone(), y.ShapeArray)));
        loss.Backward();
        var analytic = inputs.Select(x => x.Grad?.Data.ToArray()).ToArray();

        double maxAbs = 0, maxRel = 0, worstA = 0, worstN = 0;
        int worstInput = -1, worstIndex = -1;
        bool passed = true;
        using (Tape.NoGrad())
        {
            for (int k = 0; k < inputs.Length; k++)
            {
                if (!inputs[k].RequiresGrad) continue;
                var data = inputs[k].Data;
                for (int i = 0; i < data.Length; i++)
                {
                    float saved = data[i];
                    data[i] = saved + (float)eps;
                    double plus = Weighted(function(inputs), weights);
                    data[i] = saved - (float)eps;
                    double minus = Weighted(function(inputs), weights);
                    data[i] = saved;
                    double numeric = (plus - minus) / (2 * eps);
                    double a = analytic[k]?[i] ?? 0;
                    double err = Math.Abs(a - numeric);
                    double rel = err / Math.Max(Math.Abs(numeric), 1e-12);
                    bool ok = err <= atol + rtol * Math.Abs(numeric);
                    if (!ok) passed = false;
                    if (err > maxAbs || (!ok && worstInput < 0))
                    {
                        maxAbs = Math.Max(maxAbs, err);
                        worstInput = k; worstIndex = i; worstA = a; worstN = numeric;
                    }
                    if (ok) continue;
                    maxRel = Math.Max(maxRel, rel);
                }
            }
        }
        return new GradCheckResult(passed, maxAbs, maxRel, worstInput, worstIndex, worstA, worstN);
    }

    private static double Weighted(Tensor y, float[] w)
    {
        var d = y.Data;
        double s = 0;
        for (int i = 0; i < d.Length; i++) s += (double)d[i] * w[i];
        return s;
    }
}
