namespace Descent.Init;

public static partial class Initializers
{
    /// <summary>
    /// A (semi-)orthogonal matrix times <paramref name="gain"/>, like <c>nn.init.orthogonal_(t, gain=1)</c>
    /// (Saxe et al., 2013). The tensor is seen as rows = size(0) by cols = numel/rows; a rows×cols N(0, 1)
    /// matrix is drawn, transposed when rows &lt; cols, factored by a reduced QR decomposition (Householder
    /// reflections, in double), each column of Q multiplied by the sign of R's diagonal entry (which makes the
    /// result uniformly distributed over orthogonal matrices), transposed back and scaled by the gain. The rows
    /// are then orthonormal·gain when rows ≤ cols, otherwise the columns are.
    /// </summary>
    /// <exception cref="ArgumentException">"Only tensors with 2 or more dimensions are supported", as PyTorch says.</exception>
    public static void Orthogonal(Tensor t, double gain = 1, Random? random = null)
    {
        if (t.Rank < 2) throw new ArgumentException("Only tensors with 2 or more dimensions are supported");
        if (t.Numel == 0) return;
        int rows = t.Shape[0], cols = t.Numel / rows;
        var r = random ?? Rng.Default;
        var drawn = new double[rows * cols];
        for (int i = 0; i < drawn.Length; i++) drawn[i] = r.NextGaussian();

        // Factor the tall orientation (m ≥ n), stored column by column so that every reflection walks
        // contiguous memory: A[i, j] is a[j·m + i].
        bool transpose = rows < cols;
        int m = transpose ? cols : rows, n = transpose ? rows : cols;
        var a = new double[m * n];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                a[transpose ? i * m + j : j * m + i] = drawn[i * cols + j];

        var q = ThinQ(a, m, n);
        var d = t.Data;
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                d[i * cols + j] = (float)(gain * (transpose ? q[i * m + j] : q[j * m + i]));
    }

    /// <summary>
    /// The thin Q (m×n) of A = QR for an m×n matrix with m ≥ n, with its columns flipped so that R's diagonal
    /// is non-negative (<c>q *= sign(diag(r))</c> in PyTorch's code). Both matrices are column-major
    /// (element [i, j] at j·m + i); <paramref name="a"/> is overwritten.
    /// </summary>
    private static double[] ThinQ(double[] a, int m, int n)
    {
        var reflectors = new double[n][];
        var diagonalSign = new double[n];
        for (int k = 0; k < n; k++)
        {
            double norm = 0;
            for (int i = k; i < m; i++) norm += a[k * m + i] * a[k * m + i];
            norm = Math.Sqrt(norm);
            var v = new double[m - k];
            if (norm == 0)
            {
                reflectors[k] = v;
                continue;
            }
            // Reflect x onto −sign(x₀)·‖x‖·e₁: adding rather than subtracting avoids cancellation in v₀.
            double alpha = a[k * m + k] >= 0 ? -norm : norm;
            for (int i = k; i < m; i++) v[i - k] = a[k * m + i];
            v[0] -= alpha;
            double vNorm = 0;
            for (int i = 0; i < v.Length; i++) vNorm += v[i] * v[i];
            vNorm = Math.Sqrt(vNorm);
            for (int i = 0; i < v.Length; i++) v[i] /= vNorm;
            for (int j = k; j < n; j++)
            {
                double dot = 0;
                for (int i = k; i < m; i++) dot += v[i - k] * a[j * m + i];
                for (int i = k; i < m; i++) a[j * m + i] -= 2 * dot * v[i - k];
            }
            reflectors[k] = v;
            diagonalSign[k] = Math.Sign(a[k * m + k]);
        }

        // Q = H₀·H₁·…·Hₙ₋₁ applied to the first n columns of the identity, innermost reflector first.
        var q = new double[m * n];
        for (int j = 0; j < n; j++) q[j * m + j] = 1;
        for (int k = n - 1; k >= 0; k--)
        {
            var v = reflectors[k];
            for (int j = 0; j < n; j++)
            {
                double dot = 0;
                for (int i = k; i < m; i++) dot += v[i - k] * q[j * m + i];
                for (int i = k; i < m; i++) q[j * m + i] -= 2 * dot * v[i - k];
            }
        }
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++)
                q[j * m + i] *= diagonalSign[j];
        return q;
    }
}
