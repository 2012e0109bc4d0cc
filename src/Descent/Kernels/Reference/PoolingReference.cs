namespace Descent.Kernels.Reference;

/// <summary>The obviously-correct twin of <see cref="Pooling"/>: every window scanned over its full kernel extent.</summary>
public static class PoolingReference
{
    private static int OutputSize(int input, int kernel, int stride, int pad) => (input + 2 * pad - kernel) / stride + 1;

    /// <summary>Same contract as <see cref="Pooling.MaxPool2dForward"/>.</summary>
    public static void MaxPool2dForward(ReadOnlySpan<float> x, int n, int c, int h, int w,
        int kh, int kw, int strideH, int strideW, int padH, int padW, Span<float> y, Span<int> indices)
    {
        int oh = OutputSize(h, kh, strideH, padH), ow = OutputSize(w, kw, strideW, padW);
        for (int plane = 0; plane < n * c; plane++)
        for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
        {
            float max = float.NegativeInfinity;
            int best = -1;
            for (int i = 0; i < kh; i++)
            for (int j = 0; j < kw; j++)
            {
                int iy = oy * strideH - padH + i, ix = ox * strideW - padW + j;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                float v = x[(plane * h + iy) * w + ix];
                if (best < 0 || v > max || float.IsNaN(v))
                {
                    max = v;
                    best = iy * w + ix;
                }
            }
            y[(plane * oh + oy) * ow + ox] = max;
            indices[(plane * oh + oy) * ow + ox] = best;
        }
    }

    /// <summary>Same contract as <see cref="Pooling.MaxPool2dBackward"/>: gx is accumulated.</summary>
    public static void MaxPool2dBackward(ReadOnlySpan<float> gy, ReadOnlySpan<int> indices, int n, int c, int h, int w,
        int kh, int kw, int strideH, int strideW, int padH, int padW, Span<float> gx)
    {
        int oh = OutputSize(h, kh, strideH, padH), ow = OutputSize(w, kw, strideW, padW);
        for (int plane = 0; plane < n * c; plane++)
        for (int o = 0; o < oh * ow; o++)
            gx[plane * h * w + indices[plane * oh * ow + o]] += gy[plane * oh * ow + o];
    }

    /// <summary>Same contract as <see cref="Pooling.AvgPool2dForward"/>.</summary>
    public static void AvgPool2dForward(ReadOnlySpan<float> x, int n, int c, int h, int w,
        int kh, int kw, int strideH, int strideW, int padH, int padW, Span<float> y)
    {
        int oh = OutputSize(h, kh, strideH, padH), ow = OutputSize(w, kw, strideW, padW);
        for (int plane = 0; plane < n * c; plane++)
        for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
        {
            double sum = 0;
            for (int i = 0; i < kh; i++)
            for (int j = 0; j < kw; j++)
            {
                int iy = oy * strideH - padH + i, ix = ox * strideW - padW + j;
                if (iy >= 0 && iy < h && ix >= 0 && ix < w) sum += x[(plane * h + iy) * w + ix];
            }
            y[(plane * oh + oy) * ow + ox] = (float)(sum / (kh * kw));
        }
    }

    /// <summary>Same contract as <see cref="Pooling.AvgPool2dBackward"/>: gx is accumulated.</summary>
    public static void AvgPool2dBackward(ReadOnlySpan<float> gy, int n, int c, int h, int w,
        int kh, int kw, int strideH, int strideW, int padH, int padW, Span<float> gx)
    {
        int oh = OutputSize(h, kh, strideH, padH), ow = OutputSize(w, kw, strideW, padW);
        for (int plane = 0; plane < n * c; plane++)
        for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
        {
            double share = (double)gy[(plane * oh + oy) * ow + ox] / (kh * kw);
            for (int i = 0; i < kh; i++)
            for (int j = 0; j < kw; j++)
            {
                int iy = oy * strideH - padH + i, ix = ox * strideW - padW + j;
                if (iy >= 0 && iy < h && ix >= 0 && ix < w) gx[(plane * h + iy) * w + ix] += (float)share;
            }
        }
    }
}
