using System.Globalization;

namespace Descent.Data.Transforms;

/// <summary>Mirrors the image left–right with probability <see cref="Probability"/>, like <c>transforms.RandomHorizontalFlip(p=0.5)</c>.</summary>
public sealed class RandomHorizontalFlip : GeometricTransform
{
    /// <summary>A flip that happens with probability <paramref name="probability"/> (default 0.5).</summary>
    public RandomHorizontalFlip(double probability = 0.5) => Probability = Check.Probability(probability);

    /// <summary>Probability of flipping a sample.</summary>
    public double Probability { get; }

    /// <inheritdoc />
    public override string Spec => Probability == 0.5 ? "flip" : Check.Format($"flip:{Probability}");

    /// <inheritdoc />
    public override AffineMap SampleMap(ImageShape shape, ref SampleRandom random) =>
        random.NextBool(Probability) ? AffineMap.HorizontalFlip(shape.Width) : AffineMap.Identity;
}

/// <summary>Mirrors the image top–bottom with probability <see cref="Probability"/>, like <c>transforms.RandomVerticalFlip(p=0.5)</c>.</summary>
public sealed class RandomVerticalFlip : GeometricTransform
{
    /// <summary>A flip that happens with probability <paramref name="probability"/> (default 0.5).</summary>
    public RandomVerticalFlip(double probability = 0.5) => Probability = Check.Probability(probability);

    /// <summary>Probability of flipping a sample.</summary>
    public double Probability { get; }

    /// <inheritdoc />
    public override string Spec => Probability == 0.5 ? "vflip" : Check.Format($"vflip:{Probability}");

    /// <inheritdoc />
    public override AffineMap SampleMap(ImageShape shape, ref SampleRandom random) =>
        random.NextBool(Probability) ? AffineMap.VerticalFlip(shape.Height) : AffineMap.Identity;
}

/// <summary>
/// Shifts the image by a whole number of pixels, independently uniform in <c>[−MaxShift, MaxShift]</c> along each
/// axis, filling the uncovered border with zeros (like <c>transforms.RandomAffine(0, translate=…)</c> with
/// shifts in pixels rather than fractions of the size).
/// </summary>
public sealed class RandomTranslation : GeometricTransform
{
    /// <summary>Shifts of up to <paramref name="maxShift"/> pixels (at least 1) each way.</summary>
    public RandomTranslation(int maxShift) => MaxShift = Check.Positive(maxShift, "translation");

    /// <summary>The largest shift in pixels.</summary>
    public int MaxShift { get; }

    /// <inheritdoc />
    public override string Spec => Check.Format($"translate:{MaxShift}");

    /// <inheritdoc />
    public override AffineMap SampleMap(ImageShape shape, ref SampleRandom random)
    {
        int dx = random.NextInt(-MaxShift, MaxShift);
        int dy = random.NextInt(-MaxShift, MaxShift);
        return AffineMap.Translation(dx, dy);
    }
}

/// <summary>
/// Rotates the image about its centre by an angle uniform in <c>[−Degrees, Degrees]</c> (counter-clockwise positive),
/// bilinear interpolation, zero fill, like <c>transforms.RandomRotation(degrees, InterpolationMode.BILINEAR)</c>.
/// </summary>
public sealed class RandomRotation : GeometricTransform
{
    /// <summary>Rotations of up to <paramref name="degrees"/> (in (0, 180]) either way.</summary>
    public RandomRotation(double degrees)
    {
        if (!(degrees > 0 && degrees <= 180))
            throw new ArgumentOutOfRangeException(nameof(degrees), Check.Format($"rotation degrees must be in (0, 180], got {degrees}"));
        Degrees = degrees;
    }

    /// <summary>The largest angle in degrees.</summary>
    public double Degrees { get; }

    /// <inheritdoc />
    public override string Spec => Check.Format($"rotate:{Degrees}");

    /// <inheritdoc />
    public override AffineMap SampleMap(ImageShape shape, ref SampleRandom random) =>
        AffineMap.Rotation(random.NextUniform(-Degrees, Degrees), shape.Height, shape.Width);
}

/// <summary>
/// Pads the image with <see cref="Padding"/> zero pixels on every side and crops a window of the original size at a
/// uniformly random position, like <c>transforms.RandomCrop(size, padding)</c> with <c>size</c> the image's own size
/// (the CIFAR recipe <c>RandomCrop(32, padding=4)</c>). The result is the image shifted by up to
/// <see cref="Padding"/> pixels each way.
/// </summary>
public sealed class RandomCrop : GeometricTransform
{
    /// <summary>A crop from the image padded by <paramref name="padding"/> pixels (at least 1) on every side.</summary>
    public RandomCrop(int padding) => Padding = Check.Positive(padding, "crop padding");

    /// <summary>The zero padding on every side, in pixels.</summary>
    public int Padding { get; }

    /// <inheritdoc />
    public override string Spec => Check.Format($"crop:{Padding}");

    /// <inheritdoc />
    public override AffineMap SampleMap(ImageShape shape, ref SampleRandom random)
    {
        int top = random.NextInt(0, 2 * Padding);
        int left = random.NextInt(0, 2 * Padding);
        return Crop(Padding, top, left);
    }

    /// <summary>The window whose top-left corner is at (<paramref name="top"/>, <paramref name="left"/>) of the padded image.</summary>
    public static AffineMap Crop(int padding, int top, int left) => AffineMap.Translation(padding - left, padding - top);
}

internal static class Check
{
    public static double Probability(double p)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException("probability", Format($"flip probability must be in [0, 1], got {p}"));
        return p;
    }

    public static int Positive(int value, string what)
    {
        if (value < 1) throw new ArgumentOutOfRangeException(nameof(value), $"{what} must be a positive number of pixels, got {value}");
        return value;
    }

    public static string Format(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
