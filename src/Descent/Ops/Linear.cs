using System.Numerics.Tensors;
using Descent.Autodiff;
using Descent.Kernels;

namespace Descent;

public static partial class Functional
{
    /// <summary>
    /// y = x·Wᵀ + b, like <c>F.linear</c>: x [..., in], weight [out, in], bias [out] or null; y [..., out].
    /// The bias add is fused into the product's output pass.
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias, string layer = "Linear")
    {
        int inF = weight.Shape[1], outF = weight.Shape[0];
        if (x.Rank < 1 || x.Shape[^1] != inF)
            throw new ArgumentException($"{layer}: input shape {ShapeUtil.Format(x.Shape)} does not fit weight {ShapeUtil.Format(weight.Shape)} (expected last dimension {inF})");
        int rows = x.Numel / inF;
        var outShape = x.ShapeArray.ToArray();
        outShape[^1] = outF;
        var y = Tape.NewOutput(outShape);
        Gemm.Sgemm(false, true, rows, outF, inF, x.Data, weight.Data, y.Data, accumulate: false);
        if (bias is not null)
        {
            var yd = y.Data;
            var bd = bias.Data;
            for (int r = 0; r < rows; r++) TensorPrimitives.Add(yd.Slice(r * outF, outF), bd, yd.Slice(r * outF, outF));
        }
        if (Tape.ShouldRecord(x, weight, bias))
        {
            Tape.Record("linear", y, bias is null ? [x, weight] : [x, weight, bias], gy =>
            {
                if (Tape.GradOf(x, out bool accumulate) is { } gx) Gemm.Sgemm(false, false, rows, inF, outF, gy.Data, weight.Data, gx.Data, accumulate);
                if (Tape.GradOf(weight) is { } gw) Gemm.Sgemm(true, false, outF, inF, rows, gy.Data, x.Data, gw.Data, accumulate: true);
                if (bias is not null && Tape.GradOf(bias) is { } gb)
                {
                    var gyd = gy.Data;
                    var gbd = gb.Data;
                    for (int r = 0; r < rows; r++) TensorPrimitives.Add(gbd, gyd.Slice(r * outF, outF), gbd);
                }
            });
        }
        return y;
    }
}
