namespace Descent.Kernels.Reference;

/// <summary>Scalar, obviously-correct twins of <see cref="Elementwise"/>, used as the test oracle.</summary>
internal static class ElementwiseReference
{
    public static void Relu(ReadOnlySpan<float> x, Span<float> y) { for (int i = 0; i < x.Length; i++) y[i] = x[i] > 0 ? x[i] : 0f; }
    public static void ReluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> gy, Span<float> gx) { for (int i = 0; i < x.Length; i++) gx[i] += x[i] > 0 ? gy[i] : 0f; }
    public static void LeakyRelu(ReadOnlySpan<float> x, float s, Span<float> y) { for (int i = 0; i < x.Length; i++) y[i] = x[i] > 0 ? x[i] : s * x[i]; }
    public static void LeakyReluBackward(ReadOnlySpan<float> x, float s, ReadOnlySpan<float> gy, Span<float> gx) { for (int i = 0; i < x.Length; i++) gx[i] += x[i] > 0 ? gy[i] : s * gy[i]; }
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y) { for (int i = 0; i < x.Length; i++) y[i] = (float)(1.0 / (1.0 + Math.Exp(-x[i]))); }
    public static void SigmoidBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> gy, Span<float> gx) { for (int i = 0; i < y.Length; i++) gx[i] += gy[i] * y[i] * (1f - y[i]); }
    public static void Tanh(ReadOnlySpan<float> x, Span<float> y) { for (int i = 0; i < x.Length; i++) y[i] = (float)Math.Tanh(x[i]); }
    public static void TanhBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> gy, Span<float> gx) { for (int i = 0; i < y.Length; i++) gx[i] += gy[i] * (1f - y[i] * y[i]); }
    public static void Softmax(ReadOnlySpan<float> x, int dim, Span<float> y)
    {
        for (int r = 0; r < x.Length; r += dim)
        {
            double max = double.NegativeInfinity, sum = 0;
            for (int j = 0; j < dim; j++) max = Math.Max(max, x[r + j]);
            for (int j = 0; j < dim; j++) sum += Math.Exp(x[r + j] - max);
            for (int j = 0; j < dim; j++) y[r + j] = (float)(Math.Exp(x[r + j] - max) / sum);
        }
    }
    public static void LogSoftmax(ReadOnlySpan<float> x, int dim, Span<float> y)
    {
        for (int r = 0; r < x.Length; r += dim)
        {
            double max = double.NegativeInfinity, sum = 0;
            for (int j = 0; j < dim; j++) max = Math.Max(max, x[r + j]);
            for (int j = 0; j < dim; j++) sum += Math.Exp(x[r + j] - max);
            for (int j = 0; j < dim; j++) y[r + j] = (float)(x[r + j] - max - Math.Log(sum));
        }
    }
}
