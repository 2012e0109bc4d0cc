namespace Descent.Kernels.Reference;

/// <summary>
/// Scalar, obviously-correct twins of <see cref="Normalization"/>, used as the test oracle: every channel or
/// row is walked element by element by its (n, c, i) index, everything in double, the formulas as written.
/// </summary>
internal static class NormalizationReference
{
    /// <summary>Same contract as <see cref="Normalization.BatchNormStatistics"/>.</summary>
    public static void BatchNormStatistics(ReadOnlySpan<float> x, int outer, int channels, int inner, Span<float> mean, Span<float> variance)
    {
        double n = (double)outer * inner;
        for (int c = 0; c < channels; c++)
        {
            double sum = 0;
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++) sum += x[(o * channels + c) * inner + i];
            double m = sum / n, squares = 0;
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                {
                    double d = x[(o * channels + c) * inner + i] - m;
                    squares += d * d;
                }
            mean[c] = (float)m;
            variance[c] = (float)(squares / n);
        }
    }

    /// <summary>Same contract as <see cref="Normalization.ChannelScaleShift"/>.</summary>
    public static void ChannelScaleShift(ReadOnlySpan<float> x, int outer, int channels, int inner, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, Span<float> y)
    {
        for (int o = 0; o < outer; o++)
            for (int c = 0; c < channels; c++)
                for (int i = 0; i < inner; i++)
                {
                    int at = (o * channels + c) * inner + i;
                    y[at] = (float)((double)x[at] * scale[c] + shift[c]);
                }
    }

    /// <summary>Same contract as <see cref="Normalization.BatchNormBackward"/>: gradients are accumulated.</summary>
    public static void BatchNormBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> gy, int outer, int channels, int inner,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, ReadOnlySpan<float> weight, bool batchStatistics,
        Span<float> gx, Span<float> gWeight, Span<float> gBias)
    {
        double n = (double)outer * inner;
        for (int c = 0; c < channels; c++)
        {
            double sumGy = 0, sumGyXhat = 0;
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                {
                    int at = (o * channels + c) * inner + i;
                    double xhat = (x[at] - (double)mean[c]) * invStd[c];
                    sumGy += gy[at];
                    sumGyXhat += gy[at] * xhat;
                }
            if (!gBias.IsEmpty) gBias[c] += (float)sumGy;
            if (!gWeight.IsEmpty) gWeight[c] += (float)sumGyXhat;
            if (gx.IsEmpty) continue;
            double gamma = weight.IsEmpty ? 1.0 : weight[c];
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                {
                    int at = (o * channels + c) * inner + i;
                    double xhat = (x[at] - (double)mean[c]) * invStd[c];
                    double g = batchStatistics ? gy[at] - sumGy / n - xhat * sumGyXhat / n : gy[at];
                    gx[at] += (float)(gamma * invStd[c] * g);
                }
        }
    }

    /// <summary>Same contract as <see cref="Normalization.LayerNormForward"/>.</summary>
    public static void LayerNormForward(ReadOnlySpan<float> x, int rows, int size, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        double eps, Span<float> y, Span<float> mean, Span<float> invStd)
    {
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int j = 0; j < size; j++) sum += x[r * size + j];
            double m = sum / size, squares = 0;
            for (int j = 0; j < size; j++)
            {
                double d = x[r * size + j] - m;
                squares += d * d;
            }
            double s = 1.0 / Math.Sqrt(squares / size + eps);
            mean[r] = (float)m;
            invStd[r] = (float)s;
            for (int j = 0; j < size; j++)
            {
                double v = (x[r * size + j] - m) * s;
                if (!weight.IsEmpty) v *= weight[j];
                if (!bias.IsEmpty) v += bias[j];
                y[r * size + j] = (float)v;
            }
        }
    }

    /// <summary>Same contract as <see cref="Normalization.LayerNormBackward"/>: gradients are accumulated.</summary>
    public static void LayerNormBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> gy, int rows, int size, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, Span<float> gx, Span<float> gWeight, Span<float> gBias)
    {
        for (int r = 0; r < rows; r++)
        {
            double sumG = 0, sumGXhat = 0;
            for (int j = 0; j < size; j++)
            {
                int at = r * size + j;
                double xhat = (x[at] - (double)mean[r]) * invStd[r];
                double g = gy[at] * (weight.IsEmpty ? 1.0 : weight[j]);
                sumG += g;
                sumGXhat += g * xhat;
                if (!gWeight.IsEmpty) gWeight[j] += (float)(gy[at] * xhat);
                if (!gBias.IsEmpty) gBias[j] += gy[at];
            }
            if (gx.IsEmpty) continue;
            for (int j = 0; j < size; j++)
            {
                int at = r * size + j;
                double xhat = (x[at] - (double)mean[r]) * invStd[r];
                double g = gy[at] * (weight.IsEmpty ? 1.0 : weight[j]);
                gx[at] += (float)(invStd[r] * (g - sumG / size - xhat * sumGXhat / size));
            }
        }
    }

    /// <summary>Same contract as <see cref="Normalization.DropoutMask"/>: one draw per element, kept when the draw is at least p.</summary>
    public static void DropoutMask(Random random, double p, Span<float> mask)
    {
        float scale = 1f / (float)(1.0 - p);
        for (int i = 0; i < mask.Length; i++) mask[i] = random.NextDouble() < p ? 0f : scale;
    }
}
