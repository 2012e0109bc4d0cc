using Descent.Autodiff;
using Descent.Kernels;

namespace Descent;

public static partial class Functional
{
    /// <summary>
    /// 2-D convolution (cross-correlation, as PyTorch), like <c>F.conv2d(x, weight, bias, stride, padding)</c>:
    /// x [N, C, H, W], weight [O, C, kH, kW], bias [O] or null → [N, O, H', W'] with
    /// H' = ⌊(H + 2·padH − kH)/strideH⌋ + 1.
    /// </summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding, string layer = "Conv2d") =>
        Conv2d(x, weight, bias, stride, padding, layer, relu: false);

    /// <summary>
    /// The public <c>Conv2d</c>, followed by a ReLU when <paramref name="relu"/> is set: one op (PyTorch's
    /// <c>ConvReLU2d</c> fusion) that applies the ReLU to each image's output, and masks each image's gradient, while
    /// they are in cache, instead of two more passes over the whole activation. Values and gradients are those of the
    /// two ops.
    /// </summary>
    internal static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding, string layer, bool relu)
    {
        var s = ConvShape.Of(x, weight, stride, padding, layer);
        var y = Tape.NewOutput([s.N, s.COut, s.OH, s.OW]);
        Conv.Conv2dForward(x.Data, s.N, s.CIn, s.H, s.W, weight.Data, bias is null ? default : bias.Data, s.COut, s.KH, s.KW,
            stride.H, stride.W, padding.H, padding.W, y.Data, relu);
        if (Tape.ShouldRecord(x, weight, bias))
        {
            Tape.Record(relu ? "conv2d_relu" : "conv2d", y, bias is null ? [x, weight] : [x, weight, bias], gy =>
            {
                var gx = Tape.GradOf(x, out bool accumulate);
                var gw = Tape.GradOf(weight);
                var gb = bias is null ? null : Tape.GradOf(bias);
                Conv.Conv2dBackward(s.N, s.CIn, s.H, s.W, s.COut, s.KH, s.KW, stride.H, stride.W, padding.H, padding.W,
                    x.Data, weight.Data, gy.Data, gx is null ? default : gx.Data, gw is null ? default : gw.Data, gb is null ? default : gb.Data, accumulate,
                    relu ? y.Data : default);
            });
        }
        return y;
    }

    /// <summary>
    /// max_pool2d(relu(conv2d(x)), 2) as one op, the block of a convolutional network: the ReLU and the 2×2, stride-2
    /// pool run on each image's output while it is in cache, and the full-size activation is never stored; the
    /// backward routes each image's gradient through the pool and the ReLU the same way. Values and gradients are
    /// those of the three ops (only the recorded argmax differs where a whole window is ≤ 0, whose gradient is zero).
    /// </summary>
    internal static Tensor Conv2dReluMaxPool2x2(Tensor x, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding, string layer, string poolLayer)
    {
        var s = ConvShape.Of(x, weight, stride, padding, layer);
        if (s.OH < 2 || s.OW < 2)
            throw new ArgumentException($"{poolLayer}: input [{s.N}, {s.COut}, {s.OH}, {s.OW}] is smaller than the kernel (2, 2)");
        var y = Tape.NewOutput([s.N, s.COut, s.OH / 2, s.OW / 2]);
        var indices = TensorPool.RentIndices(y.Numel);
        Conv.Conv2dReluMaxPool2x2Forward(x.Data, s.N, s.CIn, s.H, s.W, weight.Data, bias is null ? default : bias.Data, s.COut, s.KH, s.KW,
            stride.H, stride.W, padding.H, padding.W, y.Data, indices);
        if (!Tape.ShouldRecord(x, weight, bias))
        {
            TensorPool.ReturnIndices(indices);
            return y;
        }
        Tape.Record("conv2d_relu_max_pool2d", y, bias is null ? [x, weight] : [x, weight, bias], gy =>
        {
            var gx = Tape.GradOf(x, out bool accumulate);
            var gw = Tape.GradOf(weight);
            var gb = bias is null ? null : Tape.GradOf(bias);
            Conv.Conv2dReluMaxPool2x2Backward(s.N, s.CIn, s.H, s.W, s.COut, s.KH, s.KW, stride.H, stride.W, padding.H, padding.W,
                x.Data, weight.Data, gy.Data, y.Data, indices,
                gx is null ? default : gx.Data, gw is null ? default : gw.Data, gb is null ? default : gb.Data, accumulate);
        }, indices);
        return y;
    }

    /// <summary>The sizes of a convolution call, checked once with messages naming the layer.</summary>
    private readonly record struct ConvShape(int N, int CIn, int H, int W, int COut, int KH, int KW, int OH, int OW)
    {
        public static ConvShape Of(Tensor x, Tensor weight, (int H, int W) stride, (int H, int W) padding, string layer)
        {
            if (weight.Rank != 4) throw new ArgumentException($"{layer}: weight must be [out, in, kH, kW], got {ShapeUtil.Format(weight.Shape)}");
            int cOut = weight.Shape[0], cIn = weight.Shape[1], kh = weight.Shape[2], kw = weight.Shape[3];
            if (x.Rank != 4 || x.Shape[1] != cIn)
                throw new ArgumentException($"{layer}: expected input [N, {cIn}, H, W] for weight {ShapeUtil.Format(weight.Shape)}, got {ShapeUtil.Format(x.Shape)}");
            int n = x.Shape[0], h = x.Shape[2], w = x.Shape[3];
            if (h + 2 * padding.H < kh || w + 2 * padding.W < kw)
                throw new ArgumentException($"{layer}: input {ShapeUtil.Format(x.Shape)} with padding ({padding.H}, {padding.W}) is smaller than the kernel {kh}×{kw}");
            return new ConvShape(n, cIn, h, w, cOut, kh, kw,
                Conv.OutputSize(h, kh, stride.H, padding.H), Conv.OutputSize(w, kw, stride.W, padding.W));
        }
    }
}
