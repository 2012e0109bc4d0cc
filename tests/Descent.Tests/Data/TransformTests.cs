using Descent.Data;
using Descent.Data.Transforms;

namespace Descent.Tests.Data;

public sealed class TransformTests
{
    // Two channels of 3 × 4: channel 0 holds 1..12 row by row, channel 1 holds 101..112.
    private static readonly ImageShape Shape = new(2, 3, 4);

    private static float[] Image()
    {
        var image = new float[Shape.Size];
        for (int i = 0; i < 12; i++)
        {
            image[i] = i + 1;
            image[12 + i] = 101 + i;
        }
        return image;
    }

    private static float[] Warped(AffineMap map, float[]? image = null, ImageShape? shape = null)
    {
        var result = (float[])(image ?? Image()).Clone();
        map.Apply(result, shape ?? Shape);
        return result;
    }

    [Fact]
    public void HorizontalFlip_ReversesEveryRowOfEveryChannel()
    {
        float[] expected =
        [
            4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9,
            104, 103, 102, 101, 108, 107, 106, 105, 112, 111, 110, 109,
        ];

        Assert.Equal(expected, Warped(AffineMap.HorizontalFlip(4)));
    }

    [Fact]
    public void VerticalFlip_ReversesTheRows()
    {
        float[] expected =
        [
            9, 10, 11, 12, 5, 6, 7, 8, 1, 2, 3, 4,
            109, 110, 111, 112, 105, 106, 107, 108, 101, 102, 103, 104,
        ];

        Assert.Equal(expected, Warped(AffineMap.VerticalFlip(3)));
    }

    [Fact]
    public void Translation_MovesContentAndFillsWithZeros()
    {
        // One pixel right and one pixel up.
        float[] expected =
        [
            0, 5, 6, 7, 0, 9, 10, 11, 0, 0, 0, 0,
            0, 105, 106, 107, 0, 109, 110, 111, 0, 0, 0, 0,
        ];

        Assert.Equal(expected, Warped(AffineMap.Translation(1, -1)));
    }

    [Fact]
    public void Translation_BeyondTheImage_LeavesZeros()
    {
        Assert.All(Warped(AffineMap.Translation(4, 0)), v => Assert.Equal(0f, v));
        Assert.All(Warped(AffineMap.Translation(0, -3)), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Crop_IsAWindowOfTheZeroPaddedImage()
    {
        // Padding 1 makes channel 0 a 5 × 6 image with a zero frame; the 3 × 4 window at top 2, left 0 is:
        //   0  5  6  7
        //   0  9 10 11
        //   0  0  0  0
        float[] expected =
        [
            0, 5, 6, 7, 0, 9, 10, 11, 0, 0, 0, 0,
            0, 105, 106, 107, 0, 109, 110, 111, 0, 0, 0, 0,
        ];

        Assert.Equal(expected, Warped(RandomCrop.Crop(padding: 1, top: 2, left: 0)));
        Assert.Equal(Image(), Warped(RandomCrop.Crop(padding: 1, top: 1, left: 1)));
    }

    [Fact]
    public void FlipThenTranslate_FusedIntoOneMap_EqualsApplyingThemInTurn()
    {
        var fused = AffineMap.HorizontalFlip(4).Then(AffineMap.Translation(1, 1));

        var inTurn = Warped(AffineMap.Translation(1, 1), Warped(AffineMap.HorizontalFlip(4)));

        Assert.Equal(inTurn, Warped(fused));
        Assert.True(fused.IsIntegral);
    }

    [Fact]
    public void QuarterTurn_IsAVerticalFlipOfTheTranspose()
    {
        // Counter-clockwise as displayed: out[y][x] = in[x][W − 1 − y], i.e. transpose, then flip the rows.
        var shape = new ImageShape(1, 5, 5);
        var image = Enumerable.Range(1, 25).Select(v => (float)v).ToArray();
        var expected = new float[25];
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 5; x++)
                expected[y * 5 + x] = image[x * 5 + (4 - y)];

        var map = AffineMap.Rotation(90, 5, 5);

        Assert.True(map.IsIntegral);
        Assert.Equal(expected, Warped(map, image, shape));
    }

    [Fact]
    public void NearlyAQuarterTurn_Interpolates_AndAgreesWithTheTransposeFlipAwayFromTheBorder()
    {
        var shape = new ImageShape(1, 6, 6);
        var image = TestData.Random(4, 36).Data.ToArray();
        var exact = Warped(AffineMap.Rotation(90, 6, 6), image, shape);

        var map = AffineMap.Rotation(90.01, 6, 6);
        var interpolated = Warped(map, image, shape);

        Assert.False(map.IsIntegral);
        for (int y = 1; y < 5; y++)
            for (int x = 1; x < 5; x++)
                Assert.Equal(exact[y * 6 + x], interpolated[y * 6 + x], 2e-3f);
        Assert.NotEqual(exact, interpolated);
    }

    [Fact]
    public void Rotation_InterpolatesBilinearlyAboutTheCentre()
    {
        // 3 × 3 image 1..9 turned 45°: the centre stays; output pixel (x 2, y 1) reads the source at
        // (1 + cos 45°, 1 + sin 45°) = (1.7071, 1.7071), between in[1][1] = 5, in[1][2] = 6, in[2][1] = 8, in[2][2] = 9.
        var shape = new ImageShape(1, 3, 3);
        var image = Enumerable.Range(1, 9).Select(v => (float)v).ToArray();
        double f = Math.Sqrt(0.5);
        double expected = (1 - f) * (1 - f) * 5 + f * (1 - f) * 6 + (1 - f) * f * 8 + f * f * 9;

        var rotated = Warped(AffineMap.Rotation(45, 3, 3), image, shape);

        Assert.Equal(5f, rotated[4], 5);
        Assert.Equal(expected, rotated[1 * 3 + 2], 4);
        // The top-left output pixel reads (1, 1 − √2): a blend of the zero fill above the image and in[0][1] = 2.
        Assert.Equal((2 - Math.Sqrt(2)) * 2, rotated[0], 4);
    }

    [Fact]
    public void Rotation_OfAConstantImage_KeepsTheInteriorAndZeroesWhatCameFromOutside()
    {
        var shape = new ImageShape(1, 9, 9);
        var image = Enumerable.Repeat(2f, 81).ToArray();

        var rotated = Warped(AffineMap.Rotation(30, 9, 9), image, shape);

        for (int y = 2; y < 7; y++)
            for (int x = 2; x < 7; x++)
                Assert.Equal(2f, rotated[y * 9 + x], 5);
        Assert.Equal(0f, rotated[0]);
        Assert.Equal(0f, rotated[80]);
    }

    [Fact]
    public void Rotation_OnAWideRow_TheVectorAndScalarPathsAgreeWithAReference()
    {
        // 21 columns: two 8-pixel vector blocks and a scalar tail in every row.
        var shape = new ImageShape(1, 13, 21);
        var image = TestData.Random(9, 13 * 21).Data.ToArray();
        var map = AffineMap.Rotation(17, 13, 21);

        var rotated = Warped(map, image, shape);

        for (int y = 0; y < 13; y++)
            for (int x = 0; x < 21; x++)
            {
                double sx = map.A * x + map.B * y + map.C, sy = map.D * x + map.E * y + map.F;
                Assert.Equal(ReferenceBilinear(image, 13, 21, sx, sy), rotated[y * 21 + x], 4);
            }
    }

    private static double ReferenceBilinear(float[] image, int height, int width, double sx, double sy)
    {
        double Pixel(int x, int y) => x >= 0 && x < width && y >= 0 && y < height ? image[y * width + x] : 0;
        if (!(sx > -1 && sx < width && sy > -1 && sy < height)) return 0;
        int x0 = (int)Math.Floor(sx), y0 = (int)Math.Floor(sy);
        double fx = sx - x0, fy = sy - y0;
        return (1 - fx) * (1 - fy) * Pixel(x0, y0) + fx * (1 - fy) * Pixel(x0 + 1, y0)
             + (1 - fx) * fy * Pixel(x0, y0 + 1) + fx * fy * Pixel(x0 + 1, y0 + 1);
    }

    [Fact]
    public void GaussianNoise_HasTheRequestedMeanAndStd()
    {
        var shape = new ImageShape(1, 64, 64);
        var noise = new GaussianNoise(0.5);
        var scratch = new float[ImageTransform.ScratchLength(shape)];
        var all = new List<float>();
        for (int sample = 0; sample < 8; sample++)
        {
            var image = new float[shape.Size];
            var random = new SampleRandom(1, 0, sample);
            noise.Apply(image, shape, ref random, scratch);
            all.AddRange(image);
        }

        int n = all.Count;
        double mean = all.Average();
        double std = Math.Sqrt(all.Sum(v => (v - mean) * (v - mean)) / n);
        double withinOneStd = all.Count(v => Math.Abs(v) < 0.5) / (double)n;
        // 32,768 draws: the mean's standard error is 0.5/181 ≈ 0.0028, the std's about 0.002.
        Assert.InRange(mean, -0.012, 0.012);
        Assert.InRange(std, 0.49, 0.51);
        Assert.InRange(withinOneStd, 0.6827 - 0.01, 0.6827 + 0.01);
    }

    [Fact]
    public void GaussianNoise_OddSizedImage_NoisesEveryValue()
    {
        var shape = new ImageShape(1, 3, 5);
        var image = new float[15];
        var random = new SampleRandom(0, 0, 0);

        new GaussianNoise(1).Apply(image, shape, ref random, new float[ImageTransform.ScratchLength(shape)]);

        Assert.All(image, v => Assert.NotEqual(0f, v));
    }

    [Fact]
    public void Pipeline_IsReproducible_PerSeedEpochAndSample()
    {
        var augmentation = Augmentation.Parse("flip,translate:2,rotate:10,noise:0.1", seed: 5);
        var shape = new ImageShape(1, 8, 8);
        var scratch = new float[ImageTransform.ScratchLength(shape)];
        float[] Run(Augmentation a, int epoch, int index)
        {
            var image = Enumerable.Range(0, 64).Select(v => (float)v).ToArray();
            a.Apply(image, shape, epoch, index, scratch);
            return image;
        }

        Assert.Equal(Run(augmentation, 3, 17), Run(augmentation, 3, 17));
        Assert.NotEqual(Run(augmentation, 3, 17), Run(augmentation, 4, 17));
        Assert.NotEqual(Run(augmentation, 3, 17), Run(augmentation, 3, 18));
        Assert.NotEqual(Run(augmentation, 3, 17), Run(augmentation.WithSeed(6), 3, 17));
    }

    [Fact]
    public void Pipeline_FusesGeometricSteps_WithTheSameDrawsAsTheTransformsInTurn()
    {
        var flip = new RandomHorizontalFlip();
        var shift = new RandomTranslation(2);
        var pipeline = new Augmentation([flip, shift], seed: 9);
        var shape = new ImageShape(2, 5, 6);
        var scratch = new float[ImageTransform.ScratchLength(shape)];
        for (int index = 0; index < 20; index++)
        {
            var source = TestData.Random(index, shape.Size).Data.ToArray();
            var fused = (float[])source.Clone();
            pipeline.Apply(fused, shape, 1, index, scratch);

            var inTurn = (float[])source.Clone();
            var random = new SampleRandom(9, 1, index);
            flip.Apply(inTurn, shape, ref random, scratch);
            shift.Apply(inTurn, shape, ref random, scratch);

            Assert.Equal(inTurn, fused);
        }
    }

    [Fact]
    public void RandomTransforms_DrawWithinTheirRanges()
    {
        var shape = new ImageShape(1, 28, 28);
        var seenShifts = new HashSet<(double, double)>();
        int flips = 0;
        for (int i = 0; i < 2000; i++)
        {
            var random = new SampleRandom(0, 0, i);
            var shift = new RandomTranslation(2).SampleMap(shape, ref random);
            seenShifts.Add((-shift.C, -shift.F));
            var crop = new RandomCrop(3).SampleMap(shape, ref random);
            Assert.InRange(crop.C, -3, 3);
            Assert.InRange(crop.F, -3, 3);
            var rotation = new RandomRotation(10).SampleMap(shape, ref random);
            Assert.InRange(Math.Atan2(rotation.D, rotation.A) * 180 / Math.PI, -10, 10);
            if (new RandomHorizontalFlip().SampleMap(shape, ref random).A == -1) flips++;
        }

        Assert.Equal(25, seenShifts.Count);
        Assert.All(seenShifts, s => Assert.True(Math.Abs(s.Item1) <= 2 && Math.Abs(s.Item2) <= 2));
        Assert.InRange(flips, 900, 1100);
    }

    [Fact]
    public void Parse_ReadsEveryItem()
    {
        var augmentation = Augmentation.Parse(" flip, vflip:0.2 ,translate:2,rotate:10,crop:4,noise:0.1", seed: 3);

        Assert.Collection(augmentation.Transforms,
            t => Assert.Equal(0.5, Assert.IsType<RandomHorizontalFlip>(t).Probability),
            t => Assert.Equal(0.2, Assert.IsType<RandomVerticalFlip>(t).Probability),
            t => Assert.Equal(2, Assert.IsType<RandomTranslation>(t).MaxShift),
            t => Assert.Equal(10, Assert.IsType<RandomRotation>(t).Degrees),
            t => Assert.Equal(4, Assert.IsType<RandomCrop>(t).Padding),
            t => Assert.Equal(0.1, Assert.IsType<GaussianNoise>(t).Std));
        Assert.Equal("flip,vflip:0.2,translate:2,rotate:10,crop:4,noise:0.1", augmentation.Spec);
        Assert.Equal(3, augmentation.Seed);
    }

    [Theory]
    [InlineData("flip,rotat:10", "'rotat:10'")]
    [InlineData("rotate", "'rotate'")]
    [InlineData("rotate:ten", "'rotate:ten'")]
    [InlineData("rotate:200", "'rotate:200' is not valid (rotation degrees must be in (0, 180], got 200)")]
    [InlineData("translate:0", "'translate:0' is not valid (translation must be a positive number of pixels, got 0)")]
    [InlineData("translate:1.5", "'translate:1.5'")]
    [InlineData("crop:-4", "'crop:-4'")]
    [InlineData("noise:0", "'noise:0'")]
    [InlineData("flip:2", "'flip:2'")]
    [InlineData("flip,,crop:4", "''")]
    public void Parse_NamesTheBadItemAndTheValidOnes(string spec, string named)
    {
        var e = Assert.Throws<FormatException>(() => Augmentation.Parse(spec));

        Assert.Contains($"augmentation item {named}", e.Message);
        Assert.Contains("valid items: flip[:P], vflip[:P], translate:K, rotate:DEG, crop:P, noise:STD", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Parse_EmptySpec_IsRejected()
    {
        var e = Assert.Throws<FormatException>(() => Augmentation.Parse("  "));

        Assert.Contains("augmentation spec is empty", e.Message);
    }

    [Fact]
    public void ImageShape_RejectsFlatSamples()
    {
        var e = Assert.Throws<ArgumentException>(() => ImageShape.Of([784]));

        Assert.Contains("augmentation needs image samples of shape [C, H, W], got [784]", e.Message);
        Assert.Equal(new ImageShape(1, 8, 8), ImageShape.Of([8, 8]));
    }

    [Fact]
    public void Apply_OnADatasetSample_ReturnsTheAugmentedImage()
    {
        var digits = Datasets.Digits().WithSampleShape(1, 8, 8);
        var flip = new Augmentation([new RandomHorizontalFlip(probability: 1)]);

        var image = flip.Apply(digits, index: 5);

        Assert.Equal([1, 8, 8], image.Shape.ToArray());
        var source = digits.GetFeatures(5);
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++)
                Assert.Equal(source[y * 8 + 7 - x], image.Data[y * 8 + x]);
    }

    internal static InMemoryDataset Images(int count, int height, int width)
    {
        var features = TestData.Random(21, count * height * width).Data.ToArray();
        var labels = Enumerable.Range(0, count).Select(i => i % 4).ToArray();
        return new InMemoryDataset(features, labels, [1, height, width], 4);
    }

    [Fact]
    public void Loader_AugmentsEverySampleAsThePipelineDoes_OnAnyThread()
    {
        var data = Images(150, 9, 11);
        var augmentation = Augmentation.Parse("flip,translate:2,rotate:10,noise:0.1", seed: 4);
        var loader = new DataLoader(data, batchSize: 32, shuffle: true, seed: 1, transform: augmentation);

        for (int epoch = 0; epoch < 2; epoch++)
        {
            int batches = 0;
            foreach (var batch in loader.Epoch(epoch))
            {
                for (int r = 0; r < batch.Size; r++)
                {
                    int index = batch.Indices[r];
                    var expected = augmentation.Apply(data, index, epoch).Data.ToArray();
                    Assert.Equal(expected, batch.X.Data.Slice(r * 99, 99).ToArray());
                    Assert.Equal(data.Labels[index], batch.Y[r]);
                }
                batches++;
            }
            Assert.Equal(5, batches);
        }
        Assert.Equal(data.Features, Images(150, 9, 11).Features);
    }

    [Fact]
    public void Loader_SameSeeds_SameAugmentedBatches()
    {
        var augmentation = Augmentation.Parse("crop:2,rotate:15");
        float[] Epoch(DataLoader loader) => loader.Epoch(3).SelectMany(b => b.X.Data.ToArray()).ToArray();

        var first = Epoch(new DataLoader(Images(40, 6, 6), 16, shuffle: true, seed: 2, transform: augmentation));
        var second = Epoch(new DataLoader(Images(40, 6, 6), 16, shuffle: true, seed: 2, transform: augmentation));
        var plain = Epoch(new DataLoader(Images(40, 6, 6), 16, shuffle: true, seed: 2));

        Assert.Equal(first, second);
        Assert.NotEqual(first, plain);
    }

    [Fact]
    public void Loader_WithTransform_NeedsImageSamples()
    {
        var flat = new InMemoryDataset(new float[12], [0, 1, 0], [4]);

        var e = Assert.Throws<ArgumentException>(() => new DataLoader(flat, 2, transform: Augmentation.Parse("flip")));

        Assert.Contains("augmentation needs image samples of shape [C, H, W], got [4]", e.Message);
    }

    [Fact]
    public void Loader_BreakingOffAnAugmentedEpoch_LeavesTheNextOneIntact()
    {
        var data = Images(64, 5, 5);
        var augmentation = Augmentation.Parse("rotate:30");
        var loader = new DataLoader(data, batchSize: 8, shuffle: true, transform: augmentation);
        foreach (var _ in loader.Epoch(0)) break;

        foreach (var batch in loader.Epoch(1))
            for (int r = 0; r < batch.Size; r++)
                Assert.Equal(augmentation.Apply(data, batch.Indices[r], 1).Data.ToArray(), batch.X.Data.Slice(r * 25, 25).ToArray());
    }
}

/// <summary>
/// Runs alone, with the other allocation tests: beside tests that keep the worker pool busy, the augmented
/// loader's batches run on the calling thread instead, and this per-thread count failed now and then in the
/// full suite (never alone).
/// </summary>
[Collection(nameof(Training.AllocationTests))]
public class TransformAllocationTests
{
    [Fact]
    public void Loader_WithTransform_SteadyStateEpoch_AllocatesNoLargeArrays()
    {
        var loader = new DataLoader(TransformTests.Images(2000, 8, 8), batchSize: 100, shuffle: true, transform: Augmentation.Parse("flip,translate:1,rotate:5,noise:0.1"));
        foreach (var _ in loader) { }

        long before = GC.GetAllocatedBytesForCurrentThread();
        int batches = 0;
        foreach (var _ in loader) batches++;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(20, batches);
        Assert.True(allocated < 300 * batches, $"{allocated} bytes allocated over {batches} batches");
    }
}
