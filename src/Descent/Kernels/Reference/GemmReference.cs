namespace Descent.Kernels.Reference;

/// <summary>The obviously-correct twin of <see cref="Gemm"/>: a triple loop accumulating in double.</summary>
public static class GemmReference
{
    /// <summary>Same contract as <see cref="Gemm.Sgemm(bool, bool, int, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, bool)"/>.</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = accumulate ? c[i * n + j] : 0.0;
                for (int p = 0; p < k; p++)
                {
                    float aip = transA ? a[p * m + i] : a[i * k + p];
                    float bpj = transB ? b[j * k + p] : b[p * n + j];
                    sum += (double)aip * bpj;
                }
                c[i * n + j] = (float)sum;
            }
        }
    }
}
