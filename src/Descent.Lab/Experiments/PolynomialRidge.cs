using System.Globalization;
using static Descent.Lab.Plots.ChartFormat;

namespace Descent.Lab.Experiments;

/// <summary>
/// A polynomial of degree <see cref="Degree"/> fitted by ridge regression on <c>x ∈ [XMin, XMax]</c>, written in the
/// Legendre basis of the rescaled input <c>t = 2(x − XMin)/(XMax − XMin) − 1 ∈ [−1, 1]</c>:
/// <c>f(x) = c₀ + Σₖ cₖ·Pₖ(t)</c>. <c>c₀</c> is the bias; <c>c₁…c_d</c> are the weights the penalty acts on.
/// </summary>
/// <param name="Degree">The polynomial's degree d.</param>
/// <param name="Lambda">The L2 strength λ it was fitted with (see <see cref="PolynomialRidge.Fit"/>).</param>
/// <param name="XMin">Left end of the input interval mapped to t = −1.</param>
/// <param name="XMax">Right end of the input interval mapped to t = +1.</param>
/// <param name="Coefficients">c₀…c_d, the Legendre coefficients (c₀ is the unpenalized bias).</param>
public sealed record PolynomialFit(int Degree, double Lambda, double XMin, double XMax, double[] Coefficients)
{
    /// <summary>The fitted polynomial at <paramref name="x"/>.</summary>
    public double Predict(double x)
    {
        var basis = PolynomialRidge.Legendre(PolynomialRidge.Rescale(x, XMin, XMax), Degree);
        double sum = 0;
        for (int k = 0; k <= Degree; k++) sum += Coefficients[k] * basis[k];
        return sum;
    }

    /// <summary>Mean squared error <c>(1/N) Σ (yᵢ − f(xᵢ))²</c> on the given points.</summary>
    public double Mse(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        PolynomialRidge.CheckPoints(x, y);
        double sum = 0;
        for (int i = 0; i < x.Count; i++)
        {
            double r = y[i] - Predict(x[i]);
            sum += r * r;
        }
        return sum / x.Count;
    }

    /// <summary>The ridge objective the fit minimizes: <c>MSE + λ/2 · Σₖ₌₁ cₖ²</c> (the bias c₀ is not penalized).</summary>
    public double Objective(IReadOnlyList<double> x, IReadOnlyList<double> y) => Mse(x, y) + Lambda / 2 * WeightNormSquared;

    /// <summary><c>Σₖ₌₁ cₖ²</c>, the squared norm of the penalized weights.</summary>
    public double WeightNormSquared
    {
        get
        {
            double s = 0;
            for (int k = 1; k <= Degree; k++) s += Coefficients[k] * Coefficients[k];
            return s;
        }
    }
}

/// <summary>
/// Exact ridge regression of polynomials in float64: the reference that
/// <see cref="RegularizationExperiment"/> measures under- and overfitting with.
/// </summary>
/// <remarks>
/// <para>
/// The objective is Descent's convention for an L2 penalty on a mean-squared-error loss,
/// <c>J(c) = (1/N) Σᵢ (yᵢ − Φᵢc)² + λ/2 · Σₖ₌₁ cₖ²</c>, which is what <c>Functional.MseLoss</c> plus
/// <c>WeightPenalty.L2(λ)</c> on a <c>Linear(d, 1)</c> over the features P₁(t)…P_d(t) minimizes (its bias is c₀).
/// Setting the gradient to zero gives <c>(ΦᵀΦ + Nλ/2 · D) c = Φᵀy</c> with D = diag(0, 1, …, 1).
/// </para>
/// <para>
/// Why Legendre polynomials of a rescaled input rather than the monomials xᵏ: on [0, 1] the columns x¹⁴ and x¹⁵ are
/// nearly parallel, and the Vandermonde matrix of degree 15 on 20 evenly spaced points has a condition number of 5·10¹¹, so the normal
/// equations (which square it) lose every digit. Legendre polynomials on [−1, 1] are orthogonal and the design
/// matrix stays well conditioned (47 for the same points). The system is solved as the least-squares problem
/// <c>min ‖[Φ; √(Nλ/2)·D] c − [y; 0]‖</c> by Householder QR, never forming ΦᵀΦ.
/// </para>
/// </remarks>
public static class PolynomialRidge
{
    /// <summary>Largest degree accepted; beyond it the experiment's point (a wiggly fit) is made long before.</summary>
    public const int MaxDegree = 40;

    /// <summary>
    /// The ridge fit of degree <paramref name="degree"/> to the points (<paramref name="x"/>, <paramref name="y"/>)
    /// with penalty λ = <paramref name="lambda"/>; inputs are rescaled from [<paramref name="xMin"/>, <paramref name="xMax"/>] to [−1, 1].
    /// </summary>
    /// <exception cref="ArgumentException">Bad degree, λ or interval; mismatched or non-finite points; or λ = 0 with fewer distinct points than coefficients.</exception>
    public static PolynomialFit Fit(IReadOnlyList<double> x, IReadOnlyList<double> y, int degree, double lambda, double xMin = 0, double xMax = 1)
    {
        CheckPoints(x, y);
        if (degree < 0 || degree > MaxDegree) throw new ArgumentOutOfRangeException(nameof(degree), $"polynomial degree must be in 0..{MaxDegree}, got {degree}");
        if (!(lambda >= 0) || double.IsInfinity(lambda)) throw new ArgumentOutOfRangeException(nameof(lambda), Inv($"λ must be a finite number ≥ 0, got {lambda}"));
        if (!(xMax > xMin) || !double.IsFinite(xMin) || !double.IsFinite(xMax)) throw new ArgumentException(Inv($"the input interval must satisfy xMin < xMax, got [{xMin}, {xMax}]"));
        int n = x.Count, p = degree + 1;
        if (lambda == 0 && n < p)
            throw new ArgumentException($"an unregularized fit of degree {degree} needs at least {p} training points, got {n}; add samples or use λ > 0");

        // Augmented least squares: N data rows, then one row √(Nλ/2)·eₖ per penalized coefficient.
        int rows = n + (lambda > 0 ? degree : 0);
        var a = new double[rows, p];
        var b = new double[rows];
        for (int i = 0; i < n; i++)
        {
            var basis = Legendre(Rescale(x[i], xMin, xMax), degree);
            for (int k = 0; k < p; k++) a[i, k] = basis[k];
            b[i] = y[i];
        }
        if (lambda > 0)
        {
            double s = Math.Sqrt(n * lambda / 2);
            for (int k = 1; k <= degree; k++) a[n + k - 1, k] = s;
        }
        var c = LeastSquares(a, b, lambda == 0 ? "the training points do not determine a polynomial of this degree (repeated x values?); use λ > 0" : null);
        return new PolynomialFit(degree, lambda, xMin, xMax, c);
    }

    /// <summary>P₀(t)…P_d(t) by Bonnet's recurrence <c>(k+1)Pₖ₊₁ = (2k+1)t·Pₖ − k·Pₖ₋₁</c>.</summary>
    public static double[] Legendre(double t, int degree)
    {
        var p = new double[degree + 1];
        p[0] = 1;
        if (degree >= 1) p[1] = t;
        for (int k = 1; k < degree; k++) p[k + 1] = ((2 * k + 1) * t * p[k] - k * p[k - 1]) / (k + 1);
        return p;
    }

    /// <summary>Maps [xMin, xMax] linearly onto [−1, 1].</summary>
    public static double Rescale(double x, double xMin, double xMax) => 2 * (x - xMin) / (xMax - xMin) - 1;

    internal static void CheckPoints(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count) throw new ArgumentException($"x has {x.Count} points but y has {y.Count}");
        if (x.Count == 0) throw new ArgumentException("no points");
        for (int i = 0; i < x.Count; i++)
            if (!double.IsFinite(x[i]) || !double.IsFinite(y[i])) throw new ArgumentException(Inv($"point {i} is not finite: ({x[i]}, {y[i]})"));
    }

    /// <summary>
    /// min ‖Ac − b‖ for a full-column-rank A (rows ≥ columns) by Householder QR; <paramref name="rankError"/> is
    /// thrown when a column is (numerically) dependent on the ones before it.
    /// </summary>
    private static double[] LeastSquares(double[,] a, double[] b, string? rankError)
    {
        int m = a.GetLength(0), n = a.GetLength(1);
        double scale = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) scale = Math.Max(scale, Math.Abs(a[i, j]));
        var v = new double[m];
        for (int k = 0; k < n; k++)
        {
            double norm = 0;
            for (int i = k; i < m; i++) norm += a[i, k] * a[i, k];
            norm = Math.Sqrt(norm);
            if (norm <= 1e-13 * scale * Math.Sqrt(m))
                throw new ArgumentException(rankError ?? "the least-squares problem is rank deficient");
            // The sign that avoids cancellation when forming v = x + sign(x₀)‖x‖e₁.
            double alpha = a[k, k] > 0 ? -norm : norm;
            for (int i = k; i < m; i++) v[i] = a[i, k];
            v[k] -= alpha;
            double vv = 0;
            for (int i = k; i < m; i++) vv += v[i] * v[i];
            for (int j = k; j < n; j++)
            {
                double dot = 0;
                for (int i = k; i < m; i++) dot += v[i] * a[i, j];
                double f = 2 * dot / vv;
                for (int i = k; i < m; i++) a[i, j] -= f * v[i];
            }
            double db = 0;
            for (int i = k; i < m; i++) db += v[i] * b[i];
            double fb = 2 * db / vv;
            for (int i = k; i < m; i++) b[i] -= fb * v[i];
        }
        var c = new double[n];
        for (int k = n - 1; k >= 0; k--)
        {
            double s = b[k];
            for (int j = k + 1; j < n; j++) s -= a[k, j] * c[j];
            c[k] = s / a[k, k];
        }
        return c;
    }
}
