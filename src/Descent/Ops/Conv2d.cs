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
    /// The public <c>Conv2d</c>, followed by a ReLU
    /// when <paramref name="relu"/> is set: one op (PyTorch's <c>ConvReLU2d</c> fusion) that applies the ReLU to
    /// each image's output, and masks each image's gradient, while they are in cache, instead of two more passes
    /// over the whole activation. Values and gradients are those of the two ops.
    /// </summary>
    internal static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding, string layer, bool relu)
    {
        if (weight.Rank != 4) throw new ArgumentException($"{layer}: weight must be [out, in, kH, kW], got {ShapeUtil.Format(weight.Shape)}");
        int cOut = weight.Shape[0], cIn = weight.Shape[1], kh = weight.Shape[2], kw = weight.Shape[3];
        if (x.Rank != 4 || x.Shape[1] != cIn)
            throw new ArgumentException($"{layer}: expected input [N, {cIn}, H, W] for weight {ShapeUtil.Format(weight.Shape)}, got {ShapeUtil.Format(x.Shape)}");
        int n = x.Shape[0], h = x.Shape[2], w = x.Shape[3];
        if (h + 2 * padding.H < kh || w + 2 * padding.W < kw)
            throw new ArgumentException($"{layer}: input {ShapeUtil.Format(x.Shape)} with padding ({padding.H}, {padding.W}) is smaller than the kernel {kh}×{kw}");
        int oh = Conv.OutputSize(h, kh, stride.H, padding.H), ow = Conv.OutputSize(w, kw, stride.W, padding.W);
        var y = Tape.NewOutput([n, cOut, oh, ow]);
        Conv.Conv2dForward(x.Data, n, cIn, h, w, weight.Data, bias is null ? default : bias.Data, cOut, kh, kw,
            stride.H, stride.W, padding.H, padding.W, y.Data, relu);
        if (Tape.ShouldRecord(x, weight, bias))
        {
            Tape.Record(relu ? "conv2d_relu" : "conv2d", y, bias is null ? [x, weight] : [x, weight, bias], gy =>
            {
                var gx = Tape.GradOf(x, out bool accumulate);
                var gw = Tape.GradOf(weight);
                var gb = bias is null ? null : Tape.GradOf(bias);
                Conv.Conv2dBackward(n, cIn, h, w, cOut, kh, kw, stride.H, stride.W, padding.H, padding.W,
                    x.Data, weight.Data, gy.Data, gx is null ? default : gx.Data, gw is null ? default : gw.Data, gb is null ? default : gb.Data, accumulate,
                    relu ? y.Data : default);
            });
        }
        return y;
    }
}
