using Descent.Data;
using Descent.IO;
using Descent.Nn;
using Descent.Optim;
using Descent.Training;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Descent.Tests.IO;

public sealed class ImageFolderTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("descent-imagefolder-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Write(string relative, int width, int height, Func<int, int, Rgb24> pixel)
    {
        string path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var image = new Image<Rgb24>(width, height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) image[x, y] = pixel(x, y);
        image.SaveAsPng(path);
        return path;
    }

    [Fact]
    public void Pixels_come_as_chw_in_0_1_and_classes_as_sorted_folders()
    {
        Write("dog/b.png", 2, 1, (x, _) => x == 0 ? new Rgb24(255, 0, 51) : new Rgb24(0, 102, 255));
        Write("cat/a.png", 2, 1, (_, _) => new Rgb24(0, 0, 0));
        File.WriteAllText(Path.Combine(_root, "dog", "notes.txt"), "not an image");
        var r = ImageFolder.Load(_root);
        Assert.Equal(["cat", "dog"], r.ClassNames);
        Assert.Equal([3, 1, 2], r.Data.SampleShape.ToArray());
        Assert.Equal(2, r.Data.Count);
        Assert.Equal([0, 1], new[] { r.Data.GetLabel(0), r.Data.GetLabel(1) });
        var x = new float[6];
        r.Data.GetBatch([1], x, new float[1]);
        // R plane, G plane, B plane; each row-major.
        Assert.Equal(new[] { 1f, 0f, 0f, 0.4f, 0.2f, 1f }, x);
    }

    [Fact]
    public void Grayscale_uses_pils_luma()
    {
        Write("a/x.png", 1, 1, (_, _) => new Rgb24(200, 100, 50));
        var r = ImageFolder.Load(_root, grayscale: true);
        Assert.Equal([1, 1, 1], r.Data.SampleShape.ToArray());
        var x = new float[1];
        r.Data.GetBatch([0], x, new float[1]);
        // round(200·0.299 + 100·0.587 + 50·0.114) = round(124.2) = 124
        Assert.Equal(124 / 255f, x[0], 6);
    }

    [Fact]
    public void Image_size_resizes_the_shorter_side_and_crops_the_centre()
    {
        // 12×6: the left and right thirds are black, the middle third white. Resized to 6×3, then the centre
        // 3×3 is cropped: resampling blurs the edges, but the centre column is white.
        Write("a/wide.png", 12, 6, (x, _) => x is >= 4 and < 8 ? new Rgb24(255, 255, 255) : new Rgb24(0, 0, 0));
        Write("a/small.png", 4, 4, (_, _) => new Rgb24(255, 255, 255));
        var r = ImageFolder.Load(_root, imageSize: 3, grayscale: true);
        Assert.Equal([1, 3, 3], r.Data.SampleShape.ToArray());
        var x = new float[9];
        r.Data.GetBatch([1], x, new float[1]);   // files in ordinal order: small.png, then wide.png
        Assert.True(x[4] > 0.9f, $"centre {x[4]}");
    }

    [Fact]
    public void Bad_folders_and_images_are_named()
    {
        Assert.Contains("no class folders", Assert.Throws<InvalidDataException>(() => ImageFolder.Load(_root)).Message);
        Directory.CreateDirectory(Path.Combine(_root, "empty"));
        Write("full/a.png", 2, 2, (_, _) => new Rgb24(1, 2, 3));
        Assert.Equal($"{Path.Combine(_root, "empty")}: no images (.png, .jpg, .jpeg, .bmp, .gif) in this class folder",
            Assert.Throws<InvalidDataException>(() => ImageFolder.Load(_root)).Message);
        Directory.Delete(Path.Combine(_root, "empty"));
        File.WriteAllText(Path.Combine(_root, "full", "b.png"), "not a png");
        Assert.StartsWith($"{Path.Combine(_root, "full", "b.png")}: cannot decode the image",
            Assert.Throws<InvalidDataException>(() => ImageFolder.Load(_root)).Message);
        File.Delete(Path.Combine(_root, "full", "b.png"));
        Write("full/c.png", 3, 2, (_, _) => new Rgb24(1, 2, 3));
        Assert.Contains("3×2 pixels, but", Assert.Throws<InvalidDataException>(() => ImageFolder.Load(_root)).Message);
        Assert.Throws<DirectoryNotFoundException>(() => ImageFolder.Load(Path.Combine(_root, "nowhere")));
        Assert.Equal("imageSize", Assert.Throws<ArgumentOutOfRangeException>(() => ImageFolder.Load(_root, imageSize: 0)).ParamName);
    }
}

public sealed class ImageFolderTrainingTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("descent-digits-folder-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void The_digits_written_as_an_image_folder_train_a_cnn_to_95_percent()
    {
        // The embedded digits (8×8, values 0-16) as one PNG per sample under <label>/.
        var digits = Datasets.Digits();
        var x = new float[64];
        var y = new float[1];
        for (int i = 0; i < digits.Count; i++)
        {
            digits.GetBatch([i], x, y);
            using var image = new Image<L8>(8, 8);
            for (int p = 0; p < 64; p++) image[p % 8, p / 8] = new L8((byte)Math.Round(x[p] / 16 * 255));
            Directory.CreateDirectory(Path.Combine(_root, ((int)y[0]).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            image.SaveAsPng(Path.Combine(_root, ((int)y[0]).ToString(System.Globalization.CultureInfo.InvariantCulture), $"{i:D4}.png"));
        }
        var folder = ImageFolder.Load(_root, grayscale: true);
        Assert.Equal(digits.Count, folder.Data.Count);
        Assert.Equal(Enumerable.Range(0, 10).Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture)), folder.ClassNames);

        Rng.ManualSeed(0);
        var (train, test) = Splits.TrainTestSplit(folder.Data, 0.2, seed: 0, stratify: true);
        var standardizer = Standardizer.FitGlobal(train);
        train = standardizer.Transform(train);
        test = standardizer.Transform(test);
        var model = Models.Cnn(1, 8, 8, 10);
        var trainer = new Trainer(model, new SGD(model.Parameters(), lr: 0.05, momentum: 0.9));
        trainer.Fit(new DataLoader(train, 32, shuffle: true, seed: 0), epochs: 8);
        double accuracy = trainer.Evaluate(test).Accuracy;
        Assert.True(accuracy >= 0.95, $"test accuracy {accuracy:F4}");
    }
}
