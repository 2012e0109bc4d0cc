using Descent.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Descent.IO;

/// <summary>An image folder read into memory: the samples, their class names and the file of each sample.</summary>
/// <param name="Data">Images as [C, H, W] samples with values in [0, 1] (torchvision's <c>ToTensor</c>) and class labels.</param>
/// <param name="ClassNames">The class of each label index: the folder names, sorted ordinally.</param>
/// <param name="Files">The file each sample came from, in sample order.</param>
public sealed record ImageFolderData(InMemoryDataset Data, IReadOnlyList<string> ClassNames, IReadOnlyList<string> Files);

/// <summary>
/// torchvision's <c>ImageFolder</c> layout: <c>root/&lt;class&gt;/&lt;image&gt;</c>, one folder per class, decoded with
/// ImageSharp (PNG, JPEG, BMP, GIF). Classes are the folder names sorted ordinally, as torchvision sorts them,
/// and samples come class by class in file-name order.
/// </summary>
public static class ImageFolder
{
    /// <summary>The file endings read as images (case does not matter); other files are passed over.</summary>
    public static readonly IReadOnlyList<string> Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".gif"];

    /// <summary>Reads every image under <paramref name="root"/>.</summary>
    /// <param name="root">The folder whose sub-folders are the classes.</param>
    /// <param name="imageSize">
    /// Resize so that the shorter side is this long, then crop the centre square (torchvision's
    /// <c>Resize(s)</c> + <c>CenterCrop(s)</c>); null keeps the images as they are, and they must then all have
    /// one size.
    /// </param>
    /// <param name="grayscale">One channel (ITU-R BT.601 luma, as PIL's <c>convert("L")</c>) instead of three (RGB).</param>
    /// <exception cref="DirectoryNotFoundException">No such folder.</exception>
    /// <exception cref="InvalidDataException">
    /// No class folder, a class folder without images, an image that does not decode, or (without
    /// <paramref name="imageSize"/>) an image of another size than the first: the message names the folder or file.
    /// </exception>
    public static ImageFolderData Load(string root, int? imageSize = null, bool grayscale = false)
    {
        if (imageSize is < 1) throw new ArgumentOutOfRangeException(nameof(imageSize), $"image size must be a positive number of pixels, got {imageSize}");
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"{root}: no such folder");
        var classes = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();
        if (classes.Count == 0) throw new InvalidDataException($"{root}: no class folders (expected {root}/<class>/<image>.png, one folder per class)");

        var files = new List<string>();
        var labels = new List<int>();
        for (int label = 0; label < classes.Count; label++)
        {
            string folder = Path.Combine(root, classes[label]);
            var images = Directory.GetFiles(folder)
                .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                .Order(StringComparer.Ordinal).ToList();
            if (images.Count == 0)
                throw new InvalidDataException($"{folder}: no images ({string.Join(", ", Extensions)}) in this class folder");
            files.AddRange(images);
            labels.AddRange(Enumerable.Repeat(label, images.Count));
        }

        var (pixels, height, width) = LoadFiles(files, imageSize, grayscale);
        var data = new InMemoryDataset(pixels, labels.ToArray(), [grayscale ? 1 : 3, height, width], classes.Count);
        return new ImageFolderData(data, classes, files);
    }

    /// <summary>
    /// Decodes <paramref name="files"/> into one array of [C, H, W] images with values in [0, 1], resized and cropped
    /// as <see cref="Load"/> does; returns the array and the common height and width.
    /// </summary>
    /// <exception cref="InvalidDataException">An image that does not decode, or sizes that differ without an image size.</exception>
    public static (float[] Pixels, int Height, int Width) LoadFiles(IReadOnlyList<string> files, int? imageSize = null, bool grayscale = false)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (imageSize is < 1) throw new ArgumentOutOfRangeException(nameof(imageSize), $"image size must be a positive number of pixels, got {imageSize}");
        int channels = grayscale ? 1 : 3;
        int height = 0, width = 0;
        float[]? pixels = null;
        for (int i = 0; i < files.Count; i++)
        {
            using var image = Decode(files[i]);
            if (imageSize is { } size)
                image.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(size, size), Mode = ResizeMode.Crop, Position = AnchorPositionMode.Center }));
            if (pixels is null)
            {
                (height, width) = (image.Height, image.Width);
                pixels = new float[checked(files.Count * channels * height * width)];
            }
            else if (image.Height != height || image.Width != width)
                throw new InvalidDataException($"{files[i]}: {image.Width}×{image.Height} pixels, but {files[0]} has {width}×{height}; give an image size to resize them all");
            CopyPixels(image, pixels.AsSpan(i * channels * height * width, channels * height * width), grayscale);
        }
        return (pixels ?? [], height, width);
    }

    private static Image<Rgb24> Decode(string file)
    {
        try
        {
            return Image.Load<Rgb24>(file);
        }
        catch (Exception e) when (e is UnknownImageFormatException or InvalidImageContentException or NotSupportedException)
        {
            throw new InvalidDataException($"{file}: cannot decode the image ({e.Message.Split('\n')[0].Trim()})", e);
        }
    }

    /// <summary>Writes the image as [C, H, W] floats in [0, 1].</summary>
    private static void CopyPixels(Image<Rgb24> image, Span<float> destination, bool grayscale)
    {
        int plane = image.Height * image.Width;
        for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < image.Width; x++)
            {
                var p = image[x, y];
                int at = y * image.Width + x;
                if (grayscale)
                    // PIL's L = R·299/1000 + G·587/1000 + B·114/1000, rounded.
                    destination[at] = MathF.Round((p.R * 299 + p.G * 587 + p.B * 114) / 1000f) / 255f;
                else
                {
                    destination[at] = p.R / 255f;
                    destination[plane + at] = p.G / 255f;
                    destination[2 * plane + at] = p.B / 255f;
                }
            }
    }
}
