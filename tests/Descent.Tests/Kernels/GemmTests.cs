using Descent.Kernels;
using Descent.Kernels.Reference;
using Xunit;

namespace Descent.Tests.Kernels;

public class GemmTests
{
    private static readonly int[] Sizes = [1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 63, 65, 100, 129];

    // Kernel names rather than the internal enum: theory parameters of public test methods must be public types.
    public static TheoryData<string, bool, bool> KernelsAndTransposes()
    {
        var data = new TheoryData<string, bool, bool>();
        foreach (var kernel in SupportedKernels().Select(k => k.ToString()))
            foreach (bool transA in new[] { false, true })
                foreach (bool transB in new[] { false, true })
                    data.Add(kernel, transA, transB);
        return data;
    }

    private static IEnumerable<GemmKernel> SupportedKernels()
    {
        yield return GemmKernel.Scalar;
        if (System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated) yield return GemmKernel.Vector128;
        if (System.Runtime.Intrinsics.X86.Avx.IsSupported) yield return GemmKernel.Avx;
        if (System.Runtime.Intrinsics.X86.Fma.IsSupported && System.Runtime.Intrinsics.X86.Avx2.IsSupported) yield return GemmKernel.Avx2;
        if (Gemm.BestKernel == GemmKernel.Avx512) yield return GemmKernel.Avx512;
    }

    [Theory]
    [MemberData(nameof(KernelsAndTransposes))]
    public void MatchesReferenceOverEveryTailLength(string kernelName, bool transA, bool transB)
    {
        var kernel = Enum.Parse<GemmKernel>(kernelName);
        var random = new Random(1234 + (int)kernel * 4 + (transA ? 2 : 0) + (transB ? 1 : 0));
        for (int i = 0; i < Sizes.Length; i++)
        {
            for (int j = 0; j < Sizes.Length; j++)
            {
                // Each (m, n) pair meets a different k, so every size appears in every role across the loop.
                int m = Sizes[i], n = Sizes[j], k = Sizes[(5 * i + 3 * j) % Sizes.Length];
                bool accumulate = (i + j) % 2 == 1;
                AssertMatchesReference(random, kernel, transA, transB, m, n, k, accumulate);
            }
        }
    }

    [Theory]
    [MemberData(nameof(KernelsAndTransposes))]
    public void MatchesReferenceAcrossSeveralDepthAndRowBlocks(string kernelName, bool transA, bool transB)
    {
        var kernel = Enum.Parse<GemmKernel>(kernelName);
        var random = new Random(77);
        // k > KC forces several depth slices (the second one adds onto C); m > MC several row blocks.
        AssertMatchesReference(random, kernel, transA, transB, 203, 45, 530, accumulate: false);
        AssertMatchesReference(random, kernel, transA, transB, 203, 45, 530, accumulate: true);
    }

    [Theory]
    [InlineData(false, false, false)]
    [InlineData(false, true, true)]
    [InlineData(true, false, false)]
    [InlineData(true, true, true)]
    public void LargeMultithreadedProductMatchesReference(bool transA, bool transB, bool accumulate)
    {
        var random = new Random(2024);
        AssertMatchesReference(random, Gemm.BestKernel, transA, transB, 300, 257, 513, accumulate);
    }

    [Theory]
    [InlineData(100, 700, 300)]
    [InlineData(9, 4200, 20)]
    [InlineData(128, 512, 784)]
    public void ShortWideMultithreadedProductsMatchReference(int m, int n, int k)
    {
        var random = new Random(m + n + k);
        AssertMatchesReference(random, Gemm.BestKernel, false, false, m, n, k, accumulate: false);
        AssertMatchesReference(random, Gemm.BestKernel, true, true, m, n, k, accumulate: true);
    }

    [Fact]
    public void LargeProductInsideAParallelBodyTakesTheSequentialPathAndMatchesReference()
    {
        var body = new SequentialGemmBody();
        WorkerPool.For(1, ref body);
        Assert.True(body.Passed);
    }

    private struct SequentialGemmBody : IParallelBody
    {
        public bool Passed;

        public void Run(int index)
        {
            Assert.False(WorkerPool.CanParallelize);
            AssertMatchesReference(new Random(5), Gemm.BestKernel, false, true, 250, 4200, 300, accumulate: true);
            Passed = true;
        }
    }

    [Fact]
    public void ZeroDepthClearsOrKeepsC()
    {
        var c = new float[] { 1, 2, 3, 4, 5, 6 };
        Gemm.Sgemm(false, false, 2, 3, 0, [], [], c, accumulate: true);
        Assert.Equal([1f, 2, 3, 4, 5, 6], c);
        Gemm.Sgemm(false, false, 2, 3, 0, [], [], c, accumulate: false);
        Assert.All(c, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void LeavesElementsPastTheProductUntouched()
    {
        var random = new Random(3);
        var a = RandomArray(random, 17 * 19);
        var b = RandomArray(random, 19 * 33);
        var c = new float[17 * 33 + 5];
        c.AsSpan(17 * 33).Fill(42f);
        Gemm.Sgemm(false, false, 17, 33, 19, a, b, c, accumulate: false);
        Assert.All(c[(17 * 33)..], v => Assert.Equal(42f, v));
    }

    [Fact]
    public void RejectsBuffersThatAreTooShort()
    {
        var ok = new float[12];
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 3, 4, 4, new float[11], ok, ok, false));
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 3, 4, 4, ok, new float[15], ok, false));
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 3, 4, 4, ok, new float[16], new float[11], false));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Sgemm(false, false, -1, 4, 4, ok, ok, ok, false));
    }

    internal static float[] RandomArray(Random random, int length)
    {
        var data = new float[length];
        for (int i = 0; i < length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
        return data;
    }

    private static void AssertMatchesReference(Random random, GemmKernel kernel, bool transA, bool transB,
        int m, int n, int k, bool accumulate)
    {
        var a = RandomArray(random, m * k);
        var b = RandomArray(random, k * n);
        var initial = RandomArray(random, m * n);
        var actual = (float[])initial.Clone();
        var expected = (float[])initial.Clone();

        Gemm.Sgemm(kernel, transA, transB, m, n, k, a, b, actual, accumulate);
        GemmReference.Sgemm(transA, transB, m, n, k, a, b, expected, accumulate);

        float tolerance = 1e-5f * MathF.Sqrt(k);
        for (int i = 0; i < m * n; i++)
        {
            float error = MathF.Abs(actual[i] - expected[i]);
            if (!(error <= tolerance * (1 + MathF.Abs(expected[i]))))
                Assert.Fail($"{kernel} transA={transA} transB={transB} m={m} n={n} k={k} accumulate={accumulate}: " +
                    $"C[{i / n},{i % n}] = {actual[i]}, expected {expected[i]}");
        }
    }
}
