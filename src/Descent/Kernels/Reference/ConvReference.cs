namespace Descent.Kernels.Reference;

/// <summary>The obviously-correct twin of <see cref="Conv"/>: direct convolution loops accumulating in double.</summary>
public static class ConvReference
{
    /// <summary>Same contract as <see cref="Conv.Conv2dForward"/>.</summary>
    public static void Conv2dForward(ReadOnlySpan<float> x, int n, int cIn, int h, int w,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int cOut, int kh, int kw,
        int strideH, int strideW, int padH, int padW, Span<float> y)
    {
        int oh = (h + 2 * padH - kh) / strideH + 1, ow = (w + 2 * padW - kw) / strideW + 1;
        for (int b = 0; b < n; b++)
        for (int co = 0; co < cOut; co++)
        for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
        {
            double sum = bias.IsEmpty ? 0.0 : bias[co];
            for (int ci = 0; ci < cIn; ci++)
            for (int i = 0; i < kh; i++)
            for (int j = 0; j < kw; j++)
            {
                int iy = oy * strideH - padH + i, ix = ox * strideW - padW + j;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                sum += (double)x[((b * cIn + ci) * h + iy) * w + ix] * weight[((co * cIn + ci) * kh + i) * kw + j];
            }
            y[((b * cOut + co) * oh + oy) * ow + ox] = (float)sum;
        }
    }

    /// <summary>Same contract as <see cref="Conv.Conv2dBackward"/>: gx, gWeight and gBias are accumulated.</summary>
    public static void Conv2dBackward(int n, int cIn, int h, int w, int cOut, int kh, int kw,
        int strideH, int strideW, int padH, int padW,
        ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> gy,
        Span<float> gx, Span<float> gWeight, Span<float> gBias)
    {
        int oh = (h + 2 * padH - kh) / strideH + 1, ow = (w + 2 * padW - kw) / strideW + 1;
        var gxSum = new double[n * cIn * h * w];
        var gwSum = new double[cOut * cIn * kh * kw];
        var gbSum = new double[cOut];
        for (int b = 0; b < n; b++)
        for (int co = 0; co < cOut; co++)
        for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
        {
            double g = gy[((b * cOut + co) * oh + oy) * ow + ox];
            gbSum[co] += g;
            for (int ci = 0; ci < cIn; ci++)
            for (int i = 0; i < kh; i++)
            for (int j = 0; j < kw; j++)
            {
                int iy = oy * strideH - padH + i, ix = ox * strideW - padW + j;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                int xi = ((b * cIn + ci) * h + iy) * w + ix, wi = ((co * cIn + ci) * kh + i) * kw + j;
                gxSum[xi] += g * weight[wi];
                gwSum[wi] += g * x[xi];
            }
        }
        if (!gx.IsEmpty) for (int i = 0; i < gxSum.Length; i++) gx[i] = (float)(gx[i] + gxSum[i]);
        for (int i = 0; i < gwSum.Length; i++) gWeight[i] = (float)(gWeight[i] + gwSum[i]);
        if (!gBias.IsEmpty) for (int i = 0; i < cOut; i++) gBias[i] = (float)(gBias[i] + gbSum[i]);
    }
}
