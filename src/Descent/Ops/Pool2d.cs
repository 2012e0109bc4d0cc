using Descent.Autodiff;
using Descent.Kernels;

namespace Descent;

public static partial class Functional
{
    /// <summary>2-D max pooling over [N, C, H, W], like <c>F.max_pool2d(x, kernel, stride, padding)</c>; stride defaults to the kernel.</summary>
    public static Tensor MaxPool2d(Tensor x, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W) padding = default, string layer = "MaxPool2d")
    {
        var (n, c, h, w, oh, ow, s) = PoolGeometry(x, kernel, stride, padding, layer);
        var y = Tape.NewOutput([n, c, oh, ow]);
        bool record = Tape.ShouldRecord(x);
        var indices = TensorPool.RentIndices(y.Numel);
        Pooling.MaxPool2dForward(x.Data, n, c, h, w, kernel.H, kernel.W, s.H, s.W, padding.H, padding.W, y.Data, indices);
        if (record)
        {
            Tape.Record("max_pool2d", y, [x], gy =>
            {
                if (Tape.GradOf(x, out bool accumulate) is { } gx)
                    Pooling.MaxPool2dBackward(gy.Data, indices, n, c, h, w, kernel.H, kernel.W, s.H, s.W, padding.H, padding.W, gx.Data, accumulate);
            }, indices);
        }
        else TensorPool.ReturnIndices(indices);
        return y;
    }

    /// <summary>2-D average pooling over [N, C, H, W], like <c>F.avg_pool2d</c> (count_include_pad=True).</summary>
    public static Tensor AvgPool2d(Tensor x, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W) padding = default, string layer = "AvgPool2d")
    {
        var (n, c, h, w, oh, ow, s) = PoolGeometry(x, kernel, stride, padding, layer);
        var y = Tape.NewOutput([n, c, oh, ow]);
        Pooling.AvgPool2dForward(x.Data, n, c, h, w, kernel.H, kernel.W, s.H, s.W, padding.H, padding.W, y.Data);
        if (Tape.ShouldRecord(x))
        {
            Tape.Record("avg_pool2d", y, [x], gy =>
            {
                if (Tape.GradOf(x, out bool accumulate) is { } gx)
                    Pooling.AvgPool2dBackward(gy.Data, n, c, h, w, kernel.H, kernel.W, s.H, s.W, padding.H, padding.W, gx.Data, accumulate);
            });
        }
        return y;
    }

    private static (int N, int C, int H, int W, int OH, int OW, (int H, int W) Stride) PoolGeometry(Tensor x, (int H, int W) kernel, (int H, int W)? stride, (int H, int W) padding, string layer)
    {
        if (x.Rank != 4) throw new ArgumentException($"{layer}: expected input [N, C, H, W], got {ShapeUtil.Format(x.Shape)}");
        var s = stride ?? kernel;
        if (kernel.H < 1 || kernel.W < 1 || s.H < 1 || s.W < 1)
            throw new ArgumentException($"{layer}: kernel and stride must be positive, got kernel ({kernel.H}, {kernel.W}) stride ({s.H}, {s.W})");
        if (padding.H * 2 > kernel.H || padding.W * 2 > kernel.W)
            throw new ArgumentException($"{layer}: padding ({padding.H}, {padding.W}) must be at most half of the kernel ({kernel.H}, {kernel.W})");
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        int oh = (h + 2 * padding.H - kernel.H) / s.H + 1, ow = (w + 2 * padding.W - kernel.W) / s.W + 1;
        if (oh < 1 || ow < 1) throw new ArgumentException($"{layer}: input {ShapeUtil.Format(x.Shape)} is smaller than the kernel ({kernel.H}, {kernel.W})");
        return (n, c, h, w, oh, ow, s);
    }
}
