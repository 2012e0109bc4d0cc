using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Descent.Data.Transforms;

/// <summary>
/// Resampling of an image by an <see cref="AffineMap"/>, in place. Flips and whole-pixel shifts are row copies;
/// other integral maps (quarter turns) are per-pixel copies; everything else interpolates bilinearly.
/// </summary>
internal static class ImageWarp
{
    public static void Warp(Span<float> image, ImageShape shape, AffineMap map, Span<float> scratch)
    {
        if (map == AffineMap.Identity) return;
        int plane = shape.Height * shape.Width;
        for (int c = 0; c < shape.Channels; c++)
        {
            var channel = image.Slice(c * plane, plane);
            if (map.IsIntegral && map.B == 0 && map.D == 0 && Math.Abs(map.A) == 1 && Math.Abs(map.E) == 1)
                AxisAligned(channel, shape.Height, shape.Width, map, scratch);
            else if (map.IsIntegral)
                Integral(channel, shape.Height, shape.Width, map, scratch);
            else
                Bilinear(channel, shape.Height, shape.Width, map, scratch);
        }
    }

    /// <summary>Flips and shifts: each output row is a (possibly reversed) run of one source row, zeros around it.</summary>
    private static void AxisAligned(Span<float> channel, int height, int width, AffineMap map, Span<float> scratch)
    {
        var source = scratch[..channel.Length];
        channel.CopyTo(source);
        int a = (int)map.A, c = (int)map.C, e = (int)map.E, f = (int)map.F;
        // Output columns whose source column a·x + c lies inside the image form one interval [x0, x1).
        int x0 = a == 1 ? Math.Max(0, -c) : Math.Max(0, c - width + 1);
        int x1 = a == 1 ? Math.Min(width, width - c) : Math.Min(width, c + 1);
        for (int y = 0; y < height; y++)
        {
            var row = channel.Slice(y * width, width);
            int sy = e * y + f;
            if ((uint)sy >= (uint)height || x0 >= x1)
            {
                row.Clear();
                continue;
            }
            row[..x0].Clear();
            row[x1..].Clear();
            int from = a == 1 ? x0 + c : c - (x1 - 1);
            source.Slice(sy * width + from, x1 - x0).CopyTo(row[x0..x1]);
            if (a == -1) row[x0..x1].Reverse();
        }
    }

    private static void Integral(Span<float> channel, int height, int width, AffineMap map, Span<float> scratch)
    {
        var source = scratch[..channel.Length];
        channel.CopyTo(source);
        int a = (int)map.A, b = (int)map.B, c = (int)map.C, d = (int)map.D, e = (int)map.E, f = (int)map.F;
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int sx = a * x + b * y + c, sy = d * x + e * y + f;
                channel[y * width + x] = (uint)sx < (uint)width && (uint)sy < (uint)height ? source[sy * width + sx] : 0f;
            }
        }
    }

    /// <summary>
    /// Bilinear resampling with zeros outside the image: the source is copied into a frame one pixel wider on every
    /// side, so a point anywhere in (−1, W) × (−1, H) reads its four neighbours without bounds checks.
    /// </summary>
    private static unsafe void Bilinear(Span<float> channel, int height, int width, AffineMap map, Span<float> scratch)
    {
        int stride = width + 2;
        var padded = scratch[..(stride * (height + 2))];
        padded[..stride].Clear();
        padded[^stride..].Clear();
        for (int y = 0; y < height; y++)
        {
            var row = padded.Slice((y + 1) * stride, stride);
            row[0] = 0;
            row[^1] = 0;
            channel.Slice(y * width, width).CopyTo(row[1..]);
        }
        float a = (float)map.A, d = (float)map.D;
        fixed (float* source = padded)
        fixed (float* target = channel)
        {
            for (int y = 0; y < height; y++)
            {
                float rowX = (float)(map.B * y + map.C), rowY = (float)(map.E * y + map.F);
                float* output = target + y * width;
                int x = 0;
                if (Avx2.IsSupported && Fma.IsSupported)
                    x = BilinearRowAvx2(source, stride, width, height, a, d, rowX, rowY, output);
                for (; x < width; x++)
                    output[x] = Sample(source, stride, width, height, MathF.FusedMultiplyAdd(a, x, rowX), MathF.FusedMultiplyAdd(d, x, rowY));
            }
        }
    }

    private static unsafe float Sample(float* source, int stride, int width, int height, float sx, float sy)
    {
        if (!(sx > -1f && sx < width && sy > -1f && sy < height)) return 0f;
        float fx0 = MathF.Floor(sx), fy0 = MathF.Floor(sy);
        float fx = sx - fx0, fy = sy - fy0;
        float* p = source + ((int)fy0 + 1) * stride + (int)fx0 + 1;
        float top = MathF.FusedMultiplyAdd(fx, p[1] - p[0], p[0]);
        float bottom = MathF.FusedMultiplyAdd(fx, p[stride + 1] - p[stride], p[stride]);
        return MathF.FusedMultiplyAdd(fy, bottom - top, top);
    }

    /// <summary>
    /// Eight output pixels at a time with gathers; returns how many pixels of the row it did, the rest is left to the
    /// scalar loop. A row of at least 8 pixels ends with a block that overlaps the previous one, so no pixel of it
    /// takes the slow path. The arithmetic is the scalar path's, operation for operation.
    /// </summary>
    private static unsafe int BilinearRowAvx2(float* source, int stride, int width, int height, float a, float d, float rowX, float rowY, float* output)
    {
        if (width < 8) return 0;
        var lane = Vector256.Create(0f, 1, 2, 3, 4, 5, 6, 7);
        var va = Vector256.Create(a);
        var vd = Vector256.Create(d);
        var vRowX = Vector256.Create(rowX);
        var vRowY = Vector256.Create(rowY);
        var minusOne = Vector256.Create(-1f);
        var one = Vector256.Create(1f);
        var right = Vector256.Create((float)width);
        var bottom = Vector256.Create((float)height);
        var vStride = Vector256.Create((float)stride);
        for (int x = 0; ; x += 8)
        {
            if (x > width - 8) x = width - 8;
            var xs = lane + Vector256.Create((float)x);
            var sx = Fma.MultiplyAdd(va, xs, vRowX);
            var sy = Fma.MultiplyAdd(vd, xs, vRowY);
            var inside = Vector256.GreaterThan(sx, minusOne) & Vector256.LessThan(sx, right)
                & Vector256.GreaterThan(sy, minusOne) & Vector256.LessThan(sy, bottom);
            // Points outside read the frame's zero corner instead, so no gather leaves the buffer.
            sx = Vector256.ConditionalSelect(inside, sx, minusOne);
            sy = Vector256.ConditionalSelect(inside, sy, minusOne);
            var fx0 = Vector256.Floor(sx);
            var fy0 = Vector256.Floor(sy);
            var fx = sx - fx0;
            var fy = sy - fy0;
            // The frame index is a small integer, exact in float; one truncating conversion gives it.
            var index = Avx.ConvertToVector256Int32WithTruncation(Fma.MultiplyAdd(fy0 + one, vStride, fx0 + one));
            // Horizontal neighbours are adjacent in memory: gather them as pairs (half the gathered elements of
            // four single-float gathers), then split the pairs into left and right values.
            var (v00, v01) = GatherPairs((double*)source, index);
            var (v10, v11) = GatherPairs((double*)(source + stride), index);
            var top = Fma.MultiplyAdd(fx, v01 - v00, v00);
            var low = Fma.MultiplyAdd(fx, v11 - v10, v10);
            var value = Fma.MultiplyAdd(fy, low - top, top);
            (value & inside).Store(output + x);
            if (x == width - 8) return width;
        }
    }

    /// <summary>For each of 8 float offsets i, the floats at i and i + 1, as two vectors in lane order.</summary>
    private static unsafe (Vector256<float> Left, Vector256<float> Right) GatherPairs(double* pairs, Vector256<int> index)
    {
        // Scale 4 makes each offset count floats while each element read is a pair of them.
        var low = Avx2.GatherVector256(pairs, index.GetLower(), 4).AsSingle();   // l0 r0 l1 r1 | l2 r2 l3 r3
        var high = Avx2.GatherVector256(pairs, index.GetUpper(), 4).AsSingle();  // l4 r4 l5 r5 | l6 r6 l7 r7
        var left = Avx.Shuffle(low, high, 0b10_00_10_00);                       // l0 l1 l4 l5 | l2 l3 l6 l7
        var right = Avx.Shuffle(low, high, 0b11_01_11_01);
        return (Avx2.Permute4x64(left.AsDouble(), 0b11_01_10_00).AsSingle(), Avx2.Permute4x64(right.AsDouble(), 0b11_01_10_00).AsSingle());
    }
}
