using System.Globalization;
using System.IO.Compression;

namespace Descent.Data;

/// <summary>
/// Ready-made datasets, like <c>torchvision.datasets</c> and <c>sklearn.datasets.load_digits</c>.
/// </summary>
public static class Datasets
{
    private const string DigitsResource = "Descent.Data.digits.csv.gz";
    private const int DigitsPixels = 64;

    /// <summary>Where <see cref="FashionMnist"/> looks when no directory is given (Debian's <c>dataset-fashion-mnist</c> package).</summary>
    public static string DefaultFashionMnistDir => "/usr/share/datasets/fashion-mnist";

    /// <summary>The Fashion-MNIST class names, indexed by label.</summary>
    public static IReadOnlyList<string> FashionMnistClasses { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>
    /// The UCI handwritten digits set shipped inside the library (what <c>sklearn.datasets.load_digits()</c>
    /// returns): 1,797 samples of 8×8 grey images, 10 classes. Features are the raw pixel counts 0..16 as
    /// floats with <see cref="Dataset.SampleShape"/> <c>[64]</c>; view them as <c>[1, 8, 8]</c> images with
    /// <see cref="InMemoryDataset.WithSampleShape"/>. Each call returns fresh arrays.
    /// </summary>
    /// <remarks>Data: E. Alpaydin and C. Kaynak, UCI Machine Learning Repository, CC BY 4.0.</remarks>
    public static InMemoryDataset Digits()
    {
        using var resource = typeof(Datasets).Assembly.GetManifestResourceStream(DigitsResource)
            ?? throw new InvalidOperationException($"the embedded resource {DigitsResource} is missing from {typeof(Datasets).Assembly.GetName().Name}");
        using var gzip = new GZipStream(resource, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        string text = reader.ReadToEnd();

        var features = new List<float>(1797 * DigitsPixels);
        var labels = new List<int>(1797);
        int lineNumber = 0;
        foreach (var lineRange in text.AsSpan().Split('\n'))
        {
            lineNumber++;
            var line = text.AsSpan(lineRange).TrimEnd('\r');
            if (line.IsEmpty) continue;
            int column = 0;
            foreach (var fieldRange in line.Split(','))
            {
                var field = line[fieldRange];
                if (!float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out float value))
                    throw new InvalidDataException($"{DigitsResource}: line {lineNumber}: '{field}' is not a number");
                if (column < DigitsPixels) features.Add(value);
                else if (column == DigitsPixels) labels.Add((int)value);
                column++;
            }
            if (column != DigitsPixels + 1)
                throw new InvalidDataException($"{DigitsResource}: line {lineNumber}: expected {DigitsPixels + 1} values, got {column}");
        }
        return new InMemoryDataset(features.ToArray(), labels.ToArray(), [DigitsPixels], numClasses: 10);
    }

    /// <summary>
    /// Fashion-MNIST (Zalando), like <c>torchvision.datasets.FashionMNIST</c> with <c>ToTensor()</c>: 60,000
    /// training and 10,000 test images of 28×28 pixels in 10 classes (<see cref="FashionMnistClasses"/>). Pixels
    /// are scaled to [0, 1] (<c>x / 255</c>) and each sample is flat, <see cref="Dataset.SampleShape"/>
    /// <c>[784]</c>; for a CNN use <c>WithSampleShape(1, 28, 28)</c>.
    /// </summary>
    /// <param name="dir">
    /// The directory holding <c>train-images-idx3-ubyte.gz</c>, <c>train-labels-idx1-ubyte.gz</c>,
    /// <c>t10k-images-idx3-ubyte.gz</c> and <c>t10k-labels-idx1-ubyte.gz</c> (or the same names without
    /// <c>.gz</c>); defaults to <see cref="DefaultFashionMnistDir"/>.
    /// </param>
    /// <exception cref="FileNotFoundException">A file is missing; the message says how to install the set.</exception>
    /// <exception cref="InvalidDataException">A file is damaged or does not hold what Fashion-MNIST holds.</exception>
    public static (InMemoryDataset Train, InMemoryDataset Test) FashionMnist(string? dir = null)
    {
        dir ??= DefaultFashionMnistDir;
        string trainImages = FindIdx(dir, "train-images-idx3-ubyte");
        string trainLabels = FindIdx(dir, "train-labels-idx1-ubyte");
        string testImages = FindIdx(dir, "t10k-images-idx3-ubyte");
        string testLabels = FindIdx(dir, "t10k-labels-idx1-ubyte");

        // Inflating the training images dominates; the test set decodes on another core meanwhile.
        var test = Task.Run(() => LoadImages(testImages, testLabels, 28, 28));
        var train = LoadImages(trainImages, trainLabels, 28, 28);
        return (train, test.GetAwaiter().GetResult());
    }

    /// <summary>
    /// Loads an IDX image file and its IDX label file (the MNIST layout) as a dataset of flat samples: images of
    /// shape <c>[N, d1, d2, ...]</c> become samples of shape <c>[d1 · d2 · ...]</c>, each value divided by
    /// <paramref name="divisor"/> (255 maps uint8 pixels to [0, 1]).
    /// </summary>
    /// <param name="imagesPath">IDX file of the samples, gzip or raw.</param>
    /// <param name="labelsPath">IDX file of uint8 labels, one per sample.</param>
    /// <param name="divisor">Every feature is divided by it.</param>
    /// <param name="numClasses">Number of classes; defaults to the largest label + 1.</param>
    public static InMemoryDataset FromIdx(string imagesPath, string labelsPath, float divisor = 255f, int? numClasses = null)
    {
        var (pixels, imageShape) = Idx.ReadFloats(imagesPath, divisor);
        var (labelBytes, labelShape) = Idx.ReadBytes(labelsPath);
        if (labelShape.Length != 1)
            throw new InvalidDataException($"{labelsPath}: a label file holds one dimension, this one has shape {ShapeUtil.Format(labelShape)}");
        if (imageShape.Length < 2 || ShapeUtil.Numel(imageShape.AsSpan(1)) == 0)
            throw new InvalidDataException($"{imagesPath}: an image file holds [count, ...non-empty sample dims], this one has shape {ShapeUtil.Format(imageShape)}");
        if (imageShape[0] != labelShape[0])
            throw new InvalidDataException($"{imagesPath} holds {imageShape[0]} samples but {labelsPath} holds {labelShape[0]} labels");

        var labels = new int[labelBytes.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            labels[i] = labelBytes[i];
            if (numClasses is int k && labels[i] >= k)
                throw new InvalidDataException($"{labelsPath}: label {labels[i]} of sample {i} is outside [0, {k})");
        }
        return new InMemoryDataset(pixels, labels, [ShapeUtil.Numel(imageShape.AsSpan(1))], numClasses);
    }

    private static InMemoryDataset LoadImages(string imagesPath, string labelsPath, int height, int width)
    {
        var dataset = FromIdx(imagesPath, labelsPath, 255f, numClasses: 10);
        if (dataset.SampleSize != height * width)
            throw new InvalidDataException($"{imagesPath}: expected {height}×{width} images, got samples of {dataset.SampleSize} values");
        return dataset;
    }

    private static string FindIdx(string dir, string name)
    {
        string gz = Path.Combine(dir, name + ".gz");
        if (File.Exists(gz)) return gz;
        string raw = Path.Combine(dir, name);
        if (File.Exists(raw)) return raw;
        throw new FileNotFoundException(
            $"Fashion-MNIST file not found: {gz}; install it with `apt-get install dataset-fashion-mnist` or pass the directory that holds the files", gz);
    }
}
