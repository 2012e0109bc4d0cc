using Descent.Autodiff;
using Descent.Kernels;

namespace Descent;

public static partial class Functional
{
    /// <summary>Softmax over <paramref name="dim"/>, like <c>F.softmax(x, dim)</c>.</summary>
    public static Tensor Softmax(Tensor x, int dim = -1) => SoftmaxCore(x, dim, log: false);

    /// <summary>Log-softmax over <paramref name="dim"/> in the stable form x − max − log Σ exp(x − max), like <c>F.log_softmax</c>.</summary>
    public static Tensor LogSoftmax(Tensor x, int dim = -1) => SoftmaxCore(x, dim, log: true);

    private static Tensor SoftmaxCore(Tensor x, int dim, bool log)
    {
        var (outer, size, inner, _) = AxisGeometry(x, dim, true);
        var y = Tape.NewOutput(x.ShapeArray);
        if (inner == 1)
        {
            if (log) Elementwise.LogSoftmaxRows(x.Data, size, y.Data);
            else Elementwise.SoftmaxRows(x.Data, size, y.Data);
        }
        else
        {
            // Gather each strided fibre into a row, run the row kernel, scatter back.
            Span<float> row = size <= 1024 ? stackalloc float[size] : new float[size];
            Span<float> res = size <= 1024 ? stackalloc float[size] : new float[size];
            var xd = x.Data;
            var yd = y.Data;
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                {
                    int b = o * size * inner + i;
                    for (int d = 0; d < size; d++) row[d] = xd[b + d * inner];
                    if (log) Elementwise.LogSoftmaxRows(row, size, res);
                    else Elementwise.SoftmaxRows(row, size, res);
                    for (int d = 0; d < size; d++) yd[b + d * inner] = res[d];
                }
        }
        if (Tape.ShouldRecord(x))
        {
            Tape.Record(log ? "log_softmax" : "softmax", y, [x], gy =>
            {
                if (Tape.GradOf(x) is not { } gx) return;
                var yd = y.Data;
                var gyd = gy.Data;
                var gxd = gx.Data;
                for (int o = 0; o < outer; o++)
                    for (int i = 0; i < inner; i++)
                    {
                        int b = o * size * inner + i;
                        double dot = 0;
                        for (int d = 0; d < size; d++)
                        {
                            int p = b + d * inner;
                            dot += log ? gyd[p] : gyd[p] * yd[p];
                        }
                        float s = (float)dot;
                        for (int d = 0; d < size; d++)
                        {
                            int p = b + d * inner;
                            // softmax: y(gy − Σ gy·y); log-softmax: gy − softmax·Σ gy.
                            gxd[p] += log ? gyd[p] - MathF.Exp(yd[p]) * s : yd[p] * (gyd[p] - s);
                        }
                    }
            });
        }
        return y;
    }
}
