using System.Buffers;
using System.Globalization;

namespace Descent.Data.Transforms;

/// <summary>
/// A seeded pipeline of image transforms applied to every training sample as the <see cref="DataLoader"/> assembles
/// a batch, like <c>transforms.Compose([...])</c> on a training dataset. Sample <c>i</c> of epoch <c>e</c> is always
/// augmented the same way for a given <see cref="Seed"/> (its random numbers come from (seed, e, i) alone), so a run
/// is reproducible however many threads do the work.
/// </summary>
/// <remarks>
/// <para>
/// The transforms run in order. Consecutive geometric transforms (flips, translation, rotation, crop) are fused into
/// one affine map and the image is resampled once, as <c>RandomAffine</c> does: one interpolation instead of one
/// per transform, so rotated images are not blurred twice. A side effect is that content an earlier step would have
/// pushed out of the frame can be brought back by a later one instead of arriving as zeros.
/// </para>
/// <para>
/// <see cref="Parse"/> reads the command-line form, e.g. <c>flip,translate:2,rotate:10,crop:4,noise:0.1</c>.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var augment = new Augmentation([new RandomHorizontalFlip(), new RandomTranslation(2), new RandomRotation(10)], seed: 0);
/// var loader = new DataLoader(train.WithSampleShape(1, 28, 28), batchSize: 128, shuffle: true, transform: augment);
/// </code>
/// </example>
public sealed class Augmentation
{
    /// <summary>The items <see cref="Parse"/> accepts, in the form the error messages list them.</summary>
    public const string ValidItems = "flip[:P], vflip[:P], translate:K, rotate:DEG, crop:P, noise:STD";

    private readonly ImageTransform[] _transforms;

    /// <summary>A pipeline of <paramref name="transforms"/> (applied in order) with random numbers from <paramref name="seed"/>.</summary>
    public Augmentation(IEnumerable<ImageTransform> transforms, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        _transforms = transforms.ToArray();
        if (_transforms.Length == 0) throw new ArgumentException("an augmentation needs at least one transform", nameof(transforms));
        foreach (var t in _transforms) ArgumentNullException.ThrowIfNull(t, nameof(transforms));
        Seed = seed;
    }

    /// <summary>The transforms, in the order they run.</summary>
    public IReadOnlyList<ImageTransform> Transforms => _transforms;

    /// <summary>Seed of the per-sample random numbers.</summary>
    public int Seed { get; }

    /// <summary>The pipeline in the command-line form, e.g. <c>flip,translate:2,rotate:10</c>.</summary>
    public string Spec => string.Join(",", _transforms.Select(t => t.Spec));

    /// <summary>The same transforms with another seed.</summary>
    public Augmentation WithSeed(int seed) => new(_transforms, seed);

    /// <summary>
    /// Reads a comma-separated spec: <c>flip</c> and <c>vflip</c> (probability 0.5, or <c>flip:P</c>),
    /// <c>translate:K</c> (±K pixels), <c>rotate:DEG</c> (±DEG degrees), <c>crop:P</c> (random crop after P pixels of
    /// zero padding) and <c>noise:STD</c> (Gaussian noise).
    /// </summary>
    /// <exception cref="FormatException">An item does not parse; the one-line message names it and lists the valid items.</exception>
    public static Augmentation Parse(string spec, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var items = spec.Split(',', StringSplitOptions.TrimEntries);
        if (spec.Trim().Length == 0) throw new FormatException($"augmentation spec is empty; valid items: {ValidItems}");
        var transforms = new List<ImageTransform>(items.Length);
        foreach (var item in items) transforms.Add(ParseItem(item));
        return new Augmentation(transforms, seed);
    }

    /// <summary>
    /// Augments one sample in place: <paramref name="image"/> is sample <paramref name="sampleIndex"/> (its index in
    /// the dataset) in epoch <paramref name="epoch"/>; <paramref name="scratch"/> needs
    /// <see cref="ImageTransform.ScratchLength"/> floats.
    /// </summary>
    public void Apply(Span<float> image, ImageShape shape, int epoch, int sampleIndex, Span<float> scratch)
    {
        ImageTransform.CheckImage(image, shape, scratch);
        var random = new SampleRandom(Seed, epoch, sampleIndex);
        int i = 0;
        while (i < _transforms.Length)
        {
            if (_transforms[i] is GeometricTransform)
            {
                var map = AffineMap.Identity;
                for (; i < _transforms.Length && _transforms[i] is GeometricTransform geometric; i++)
                    map = map.Then(geometric.SampleMap(shape, ref random));
                ImageWarp.Warp(image, shape, map, scratch);
            }
            else
            {
                _transforms[i].Apply(image, shape, ref random, scratch);
                i++;
            }
        }
    }

    /// <summary>
    /// Sample <paramref name="index"/> of <paramref name="dataset"/> (image samples) as epoch <paramref name="epoch"/>
    /// would augment it, as a new <c>[C, H, W]</c> tensor: for looking at what the pipeline does.
    /// </summary>
    public Tensor Apply(Dataset dataset, int index, int epoch = 0)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var shape = ImageShape.Of(dataset.SampleShape);
        var image = Tensor.Zeros(shape.Channels, shape.Height, shape.Width);
        dataset.CopySample(index, image.Data);
        var scratch = ArrayPool<float>.Shared.Rent(ImageTransform.ScratchLength(shape));
        try
        {
            Apply(image.Data, shape, epoch, index, scratch);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
        return image;
    }

    /// <inheritdoc />
    public override string ToString() => Spec;

    private static ImageTransform ParseItem(string item)
    {
        int colon = item.IndexOf(':');
        string name = (colon < 0 ? item : item[..colon]).Trim().ToLowerInvariant();
        string? value = colon < 0 ? null : item[(colon + 1)..].Trim();
        try
        {
            return name switch
            {
                "flip" => new RandomHorizontalFlip(value is null ? 0.5 : Number(value)),
                "vflip" => new RandomVerticalFlip(value is null ? 0.5 : Number(value)),
                "translate" => new RandomTranslation(Pixels(Required(value))),
                "rotate" => new RandomRotation(Number(Required(value))),
                "crop" => new RandomCrop(Pixels(Required(value))),
                "noise" => new GaussianNoise(Number(Required(value))),
                _ => throw new FormatException(),
            };
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            string reason = e is ArgumentException && e.Message.Length > 0 ? $" ({FirstLine(e.Message)})" : "";
            throw new FormatException($"augmentation item '{item}' is not valid{reason}; valid items: {ValidItems}");
        }
    }

    private static string Required(string? value) => string.IsNullOrEmpty(value) ? throw new FormatException() : value;

    private static double Number(string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) ? v : throw new FormatException();

    private static int Pixels(string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : throw new FormatException();

    /// <summary>An argument exception's message without the "(Parameter 'x')" line .NET appends.</summary>
    private static string FirstLine(string message)
    {
        int cut = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return cut < 0 ? message : message[..cut];
    }
}
