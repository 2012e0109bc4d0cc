using System.Numerics.Tensors;
using Descent.Autodiff;

namespace Descent;

public static partial class Functional
{
    /// <summary>
    /// The same elements under a new shape, sharing storage (no copy), like <c>tensor.view</c>/<c>reshape</c>
    /// on a contiguous tensor. One dimension may be −1 and is inferred.
    /// </summary>
    public static Tensor Reshape(Tensor x, params int[] shape)
    {
        var resolved = ResolveShape(x, shape);
        var y = new Tensor(x.Buffer, x.Offset, resolved);
        if (Tape.ShouldRecord(x))
        {
            Tape.Record("reshape", y, [x], gy =>
            {
                if (Tape.GradOf(x, out bool accumulate) is not { } gx) return;
                if (accumulate) TensorPrimitives.Add(gx.Data, gy.Data, gx.Data);
                else gy.Data.CopyTo(gx.Data);
            });
        }
        return y;
    }

    /// <summary>Flattens dimensions <paramref name="startDim"/>.. into one, like <c>torch.flatten(x, start_dim=1)</c>.</summary>
    public static Tensor Flatten(Tensor x, int startDim = 1)
    {
        int s = ShapeUtil.NormalizeAxis(startDim, x.Rank);
        var shape = new int[s + 1];
        for (int i = 0; i < s; i++) shape[i] = x.Shape[i];
        shape[s] = -1;
        return Reshape(x, shape);
    }

    private static int[] ResolveShape(Tensor x, int[] shape)
    {
        var r = (int[])shape.Clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < r.Length; i++)
        {
            if (r[i] == -1)
            {
                if (infer >= 0) throw new ArgumentException($"only one dimension can be inferred (-1) in shape {ShapeUtil.Format(shape)}");
                infer = i;
            }
            else if (r[i] < 0) throw new ArgumentException($"invalid dimension {r[i]} in shape {ShapeUtil.Format(shape)}");
            else known = Math.Min(known * r[i], 1L << 32); // saturated above any array size, so a huge shape cannot wrap around to a matching one
        }
        if (infer >= 0)
        {
            if (known == 0 || x.Numel % known != 0)
                throw new ArgumentException($"shape {ShapeUtil.Format(shape)} is invalid for input of size {x.Numel}");
            r[infer] = (int)(x.Numel / known);
        }
        else if (known != x.Numel)
            throw new ArgumentException($"shape {ShapeUtil.Format(shape)} is invalid for input of size {x.Numel} (shape {ShapeUtil.Format(x.Shape)})");
        return r;
    }
}

public partial class Tensor
{
    /// <summary>A view with a new shape (no copy); one dimension may be −1.</summary>
    public Tensor Reshape(params int[] shape) => Functional.Reshape(this, shape);
    /// <summary>A view with a new shape (no copy); one dimension may be −1.</summary>
    public Tensor View(params int[] shape) => Functional.Reshape(this, shape);
    /// <summary>Flattens dimensions from <paramref name="startDim"/> on.</summary>
    public Tensor Flatten(int startDim = 0) => Functional.Flatten(this, startDim);
}
