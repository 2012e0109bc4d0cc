using Descent.Autodiff;
using Descent.Kernels;

namespace Descent;

public static partial class Functional
{
    /// <summary>Sum of all elements (0-D result), like <c>torch.sum(x)</c>.</summary>
    public static Tensor Sum(Tensor x) => SumOrMean(Reshape(x, x.Numel), 0, false, mean: false, restoreScalar: true);

    /// <summary>Sum over <paramref name="dim"/>, like <c>torch.sum(x, dim, keepdim)</c>.</summary>
    public static Tensor Sum(Tensor x, int dim, bool keepDim = false) => SumOrMean(x, dim, keepDim, mean: false, restoreScalar: false);

    /// <summary>Mean of all elements (0-D result), like <c>torch.mean(x)</c>.</summary>
    public static Tensor Mean(Tensor x) => SumOrMean(Reshape(x, x.Numel), 0, false, mean: true, restoreScalar: true);

    /// <summary>Mean over <paramref name="dim"/>, like <c>torch.mean(x, dim, keepdim)</c>.</summary>
    public static Tensor Mean(Tensor x, int dim, bool keepDim = false) => SumOrMean(x, dim, keepDim, mean: true, restoreScalar: false);

    /// <summary>Maximum over <paramref name="dim"/> (the values of <c>torch.max(x, dim)</c>); the gradient goes to the first maximum.</summary>
    public static Tensor Max(Tensor x, int dim, bool keepDim = false)
    {
        var (outer, size, inner, outShape) = AxisGeometry(x, dim, keepDim);
        var y = Tape.NewOutput(outShape);
        var argmax = new int[outer * inner];
        AxisReduction.Max(x.Data, outer, size, inner, y.Data, argmax);
        if (Tape.ShouldRecord(x))
        {
            Tape.Record("max", y, [x], gy =>
            {
                if (Tape.GradOf(x) is { } gx) AxisReduction.MaxBackward(gy.Data, argmax, outer, size, inner, gx.Data);
            });
        }
        return y;
    }

    /// <summary>Indices of the maxima over <paramref name="dim"/>, like <c>torch.argmax(x, dim)</c>; not differentiable.</summary>
    public static int[] ArgMax(Tensor x, int dim)
    {
        var (outer, size, inner, _) = AxisGeometry(x, dim, false);
        var values = new float[outer * inner];
        var argmax = new int[outer * inner];
        AxisReduction.Max(x.Data, outer, size, inner, values, argmax);
        return argmax;
    }

    private static Tensor SumOrMean(Tensor x, int dim, bool keepDim, bool mean, bool restoreScalar)
    {
        var (outer, size, inner, outShape) = AxisGeometry(x, dim, keepDim);
        if (restoreScalar) outShape = [];
        var y = Tape.NewOutput(outShape);
        AxisReduction.Sum(x.Data, outer, size, inner, y.Data);
        float scale = mean ? 1f / size : 1f;
        if (mean) System.Numerics.Tensors.TensorPrimitives.Multiply(y.Data, scale, y.Data);
        if (Tape.ShouldRecord(x))
        {
            Tape.Record(mean ? "mean" : "sum", y, [x], gy =>
            {
                if (Tape.GradOf(x) is { } gx) AxisReduction.SumBackward(gy.Data, outer, size, inner, scale, gx.Data);
            });
        }
        return y;
    }

    /// <summary>Views <paramref name="x"/> as [outer, size, inner] around <paramref name="dim"/>.</summary>
    internal static (int Outer, int Size, int Inner, int[] OutShape) AxisGeometry(Tensor x, int dim, bool keepDim)
    {
        int d = ShapeUtil.NormalizeAxis(dim, x.Rank);
        var shape = x.Shape;
        int outer = 1, inner = 1;
        for (int i = 0; i < d; i++) outer *= shape[i];
        for (int i = d + 1; i < shape.Length; i++) inner *= shape[i];
        var outShape = new List<int>(shape.Length);
        for (int i = 0; i < shape.Length; i++)
        {
            if (i != d) outShape.Add(shape[i]);
            else if (keepDim) outShape.Add(1);
        }
        return (outer, shape.Length == 0 ? 1 : shape[d], inner, outShape.ToArray());
    }
}

public partial class Tensor
{
    /// <summary>Sum of all elements.</summary>
    public Tensor Sum() => Functional.Sum(this);
    /// <summary>Sum over one dimension.</summary>
    public Tensor Sum(int dim, bool keepDim = false) => Functional.Sum(this, dim, keepDim);
    /// <summary>Mean of all elements.</summary>
    public Tensor Mean() => Functional.Mean(this);
    /// <summary>Mean over one dimension.</summary>
    public Tensor Mean(int dim, bool keepDim = false) => Functional.Mean(this, dim, keepDim);
    /// <summary>Maximum over one dimension.</summary>
    public Tensor Max(int dim, bool keepDim = false) => Functional.Max(this, dim, keepDim);
    /// <summary>Indices of the maxima over one dimension.</summary>
    public int[] ArgMax(int dim) => Functional.ArgMax(this, dim);
}
