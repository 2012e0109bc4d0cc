namespace Descent.Tests.Ops;

/// <summary>Shape products are checked: a shape whose product wraps around 2^64 (65536⁴ ≡ 0) is not taken for a small one.</summary>
public class ShapeArithmeticTests
{
    [Fact]
    public void Products_beyond_any_array_are_refused_not_wrapped()
    {
        // PyTorch: torch.zeros(0).reshape(65536, 65536, 65536, 65536) raises "shape ... is invalid for input of size 0".
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(0).Reshape(65536, 65536, 65536, 65536));
        Assert.Equal([0, 3], Tensor.Zeros(0).Reshape(-1, 3).Shape.ToArray());
        Assert.Throws<ArgumentException>(() => ShapeUtil.Numel([65536, 65536, 65536, 65536]));
        Assert.Throws<ArgumentException>(() => ShapeUtil.Numel([int.MaxValue, int.MaxValue, int.MaxValue]));
        Assert.Equal(0, ShapeUtil.Numel([int.MaxValue, int.MaxValue, 0]));
    }
}
