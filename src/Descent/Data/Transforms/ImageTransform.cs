using System.Buffers;

namespace Descent.Data.Transforms;

/// <summary>The shape of one image sample, <c>[Channels, Height, Width]</c> in row-major order.</summary>
/// <param name="Channels">Number of channels (1 for grey images).</param>
/// <param name="Height">Rows.</param>
/// <param name="Width">Columns.</param>
public readonly record struct ImageShape(int Channels, int Height, int Width)
{
    /// <summary>Number of floats in one image.</summary>
    public int Size => Channels * Height * Width;

    /// <summary>
    /// The image shape of a dataset's samples: <c>[C, H, W]</c>, or <c>[H, W]</c> read as one channel.
    /// </summary>
    /// <exception cref="ArgumentException">Samples of another rank, e.g. flat <c>[784]</c> vectors.</exception>
    public static ImageShape Of(IReadOnlyList<int> sampleShape)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        return sampleShape.Count switch
        {
            3 => new ImageShape(sampleShape[0], sampleShape[1], sampleShape[2]),
            2 => new ImageShape(1, sampleShape[0], sampleShape[1]),
            _ => throw new ArgumentException(
                $"augmentation needs image samples of shape [C, H, W], got {ShapeUtil.Format(sampleShape.ToArray())}; view flat images as such with WithSampleShape(1, H, W)"),
        };
    }

    /// <inheritdoc />
    public override string ToString() => $"[{Channels}, {Height}, {Width}]";
}

/// <summary>
/// The random numbers of one sample's augmentation, derived from (seed, epoch, sample index) alone: the same
/// sample in the same epoch is augmented the same way in every run, whichever thread does it and in whatever
/// order, and differently in every other epoch.
/// </summary>
public struct SampleRandom
{
    private const ulong AugmentStream = 0x6175676D656E7431; // keeps augmentation draws apart from loader and split orders of the same seed

    private SeededRandom _generator;

    /// <summary>The generator of sample <paramref name="sampleIndex"/> (its index in the dataset) in epoch <paramref name="epoch"/>.</summary>
    public SampleRandom(int seed, int epoch, int sampleIndex)
    {
        _generator = new SeededRandom(seed, AugmentStream, ((ulong)(uint)epoch << 32) | (uint)sampleIndex);
    }

    /// <summary>64 uniformly random bits.</summary>
    public ulong NextUInt64() => _generator.NextUInt64();

    /// <summary>A uniform double in <c>[0, 1)</c>.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform double in <c>[low, high)</c>.</summary>
    public double NextUniform(double low, double high) => low + (high - low) * NextDouble();

    /// <summary>A uniform integer in <c>[minInclusive, maxInclusive]</c>.</summary>
    public int NextInt(int minInclusive, int maxInclusive)
    {
        if (maxInclusive < minInclusive)
            throw new ArgumentOutOfRangeException(nameof(maxInclusive), $"empty range [{minInclusive}, {maxInclusive}]");
        return minInclusive + _generator.NextBelow(checked(maxInclusive - minInclusive + 1));
    }

    /// <summary>True with probability <paramref name="probability"/>.</summary>
    public bool NextBool(double probability) => NextDouble() < probability;
}

/// <summary>
/// A random transform of one image sample, like a <c>torchvision.transforms</c> transform that is applied to each
/// sample as it is loaded. Combine them with <see cref="Augmentation"/> and hand that to <see cref="DataLoader"/>.
/// </summary>
/// <remarks>
/// A transform must draw its randomness from the <see cref="SampleRandom"/> it is given (never from a shared
/// generator) and must not keep per-call state: the loader calls one instance from several threads at once.
/// </remarks>
public abstract class ImageTransform
{
    /// <summary>
    /// Transforms <paramref name="image"/> (<paramref name="shape"/>, row-major <c>[C, H, W]</c>) in place.
    /// </summary>
    /// <param name="image">The sample's values; overwritten with the transformed image.</param>
    /// <param name="shape">The image's shape.</param>
    /// <param name="random">This sample's random numbers.</param>
    /// <param name="scratch">Free working memory of at least <see cref="ScratchLength"/> floats, contents undefined.</param>
    public abstract void Apply(Span<float> image, ImageShape shape, ref SampleRandom random, Span<float> scratch);

    /// <summary>How the transform is written in an augmentation spec, e.g. <c>rotate:10</c>.</summary>
    public abstract string Spec { get; }

    /// <summary>Floats of scratch memory a transform may use on an image of <paramref name="shape"/>.</summary>
    public static int ScratchLength(ImageShape shape) => (shape.Height + 2) * (shape.Width + 2) + 2 * shape.Size + 2;

    /// <summary>Applies the transform to a copy of <paramref name="image"/> (<c>[C, H, W]</c> or <c>[H, W]</c>) with the random numbers of (seed, epoch, index).</summary>
    public Tensor Apply(Tensor image, int seed = 0, int epoch = 0, int sampleIndex = 0)
    {
        ArgumentNullException.ThrowIfNull(image);
        var shape = ImageShape.Of(image.Shape.ToArray());
        var result = image.Detach().Clone();
        var random = new SampleRandom(seed, epoch, sampleIndex);
        var scratch = ArrayPool<float>.Shared.Rent(ScratchLength(shape));
        try
        {
            Apply(result.Data, shape, ref random, scratch);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
        return result;
    }

    /// <inheritdoc />
    public override string ToString() => Spec;

    internal static void CheckImage(Span<float> image, ImageShape shape, Span<float> scratch)
    {
        if (shape.Channels < 1 || shape.Height < 1 || shape.Width < 1)
            throw new ArgumentException($"image dimensions must be positive, got {shape}", nameof(shape));
        if (image.Length != shape.Size)
            throw new ArgumentException($"an image of shape {shape} holds {shape.Size} values, got {image.Length}", nameof(image));
        if (scratch.Length < ScratchLength(shape))
            throw new ArgumentException($"scratch needs {ScratchLength(shape)} floats for an image of shape {shape}, got {scratch.Length}", nameof(scratch));
    }
}

/// <summary>
/// A transform that moves pixels without changing their values: each output pixel is read from the source position
/// an <see cref="AffineMap"/> gives (flips, translations, rotations, crops). Consecutive geometric transforms in an
/// <see cref="Augmentation"/> are fused into one map and resampled once.
/// </summary>
public abstract class GeometricTransform : ImageTransform
{
    /// <summary>This sample's map from output pixels to source pixels.</summary>
    public abstract AffineMap SampleMap(ImageShape shape, ref SampleRandom random);

    /// <inheritdoc />
    public sealed override void Apply(Span<float> image, ImageShape shape, ref SampleRandom random, Span<float> scratch)
    {
        CheckImage(image, shape, scratch);
        ImageWarp.Warp(image, shape, SampleMap(shape, ref random), scratch);
    }
}

/// <summary>
/// An affine map from output pixel coordinates to source pixel coordinates, <c>(x, y) ↦ (A·x + B·y + C, D·x + E·y + F)</c>,
/// with x the column and y the row of a pixel centre (0-based). Resampling by a map fills each output pixel with the
/// source image's value at the mapped point: exactly when the point is a pixel, bilinearly interpolated between the
/// four nearest pixels otherwise, and zero outside the image (like <c>grid_sample</c> with zero padding).
/// </summary>
public readonly record struct AffineMap(double A, double B, double C, double D, double E, double F)
{
    /// <summary>The map that leaves every pixel where it is.</summary>
    public static AffineMap Identity => new(1, 0, 0, 0, 1, 0);

    /// <summary>Mirrors columns: output column x comes from column <c>width − 1 − x</c>.</summary>
    public static AffineMap HorizontalFlip(int width) => new(-1, 0, width - 1, 0, 1, 0);

    /// <summary>Mirrors rows: output row y comes from row <c>height − 1 − y</c>.</summary>
    public static AffineMap VerticalFlip(int height) => new(1, 0, 0, 0, -1, height - 1);

    /// <summary>Moves the content <paramref name="dx"/> pixels right and <paramref name="dy"/> pixels down; the uncovered border is zero.</summary>
    public static AffineMap Translation(double dx, double dy) => new(1, 0, -dx, 0, 1, -dy);

    /// <summary>
    /// Rotates the content by <paramref name="degrees"/> about the image centre, counter-clockwise as displayed (rows
    /// going down), like <c>torchvision.transforms.functional.rotate</c>.
    /// </summary>
    public static AffineMap Rotation(double degrees, int height, int width)
    {
        double radians = degrees * Math.PI / 180;
        double cos = Math.Cos(radians), sin = Math.Sin(radians);
        double cx = (width - 1) / 2.0, cy = (height - 1) / 2.0;
        return new AffineMap(cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy).Snapped();
    }

    /// <summary>
    /// This map applied after <paramref name="next"/>: transforming an image by this map and the result by
    /// <paramref name="next"/> reads each output pixel from <c>this(next(x, y))</c>.
    /// </summary>
    public AffineMap Then(AffineMap next) => new AffineMap(
        A * next.A + B * next.D, A * next.B + B * next.E, A * next.C + B * next.F + C,
        D * next.A + E * next.D, D * next.B + E * next.E, D * next.C + E * next.F + F).Snapped();

    /// <summary>Whether every point the map gives for a pixel is itself a pixel (no interpolation needed).</summary>
    public bool IsIntegral => IsInteger(A) && IsInteger(B) && IsInteger(C) && IsInteger(D) && IsInteger(E) && IsInteger(F);

    /// <summary>Resamples <paramref name="image"/> (<paramref name="shape"/>) in place by this map.</summary>
    public void Apply(Span<float> image, ImageShape shape)
    {
        var scratch = ArrayPool<float>.Shared.Rent(ImageTransform.ScratchLength(shape));
        try
        {
            if (image.Length != shape.Size)
                throw new ArgumentException($"an image of shape {shape} holds {shape.Size} values, got {image.Length}", nameof(image));
            ImageWarp.Warp(image, shape, this, scratch);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// Rounds coefficients within 1e-9 of an integer to it, so that cos 90° = 6e-17 and sums of shifts such as
    /// 0.1 + 0.2 − 0.3 do not push an exact pixel copy onto the interpolating path.
    /// </summary>
    private AffineMap Snapped() => new(Snap(A), Snap(B), Snap(C), Snap(D), Snap(E), Snap(F));

    private static double Snap(double v)
    {
        double r = Math.Round(v);
        return Math.Abs(v - r) < 1e-9 ? r : v;
    }

    private static bool IsInteger(double v) => v == Math.Round(v) && Math.Abs(v) < 1 << 30;
}
