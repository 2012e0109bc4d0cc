using Descent.Nn;
using Descent.Optim;
using Descent.Training;

namespace Descent.Tests.Training;

/// <summary>
/// Allocation tests run alone, so that a step's kernels take the same (parallel) path in every run. They count what
/// the test's own thread allocates, where a step creates its tensors; a process-wide count would also take in
/// whatever the runner's and other tests' background threads allocate meanwhile.
/// </summary>
[CollectionDefinition(nameof(AllocationTests), DisableParallelization = true)]
public class AllocationCollection;

[Collection(nameof(AllocationTests))]
public class AllocationTests
{
    private static long MeasurePerStep(Module model, Tensor x, int[] labels, int steps)
    {
        var y = Tensor.FromArray(labels.Select(v => (float)v).ToArray(), labels.Length);
        var optimizer = new SGD(model.Parameters(), lr: 0.01, momentum: 0.9);
        var trainer = new Trainer(model, optimizer);
        for (int i = 0; i < 30; i++) trainer.TrainStep(x, y);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < steps; i++) trainer.TrainStep(x, y);
        return (GC.GetAllocatedBytesForCurrentThread() - before) / steps;
    }

    [Fact]
    public void Steady_state_mlp_step_allocates_no_large_arrays()
    {
        Rng.ManualSeed(0);
        var model = Models.Mlp(784, [512, 256], 10);
        var x = TestData.Random(1, 128, 784);
        var y = Enumerable.Range(0, 128).Select(i => i % 10).ToArray();
        long perStep = MeasurePerStep(model, x, y, 50);
        // One activation of this model is 128×512×4 = 256 KB; a step that recycled nothing would allocate
        // megabytes. What remains is graph bookkeeping (nodes, closures, tensor headers).
        Assert.True(perStep < 24 * 1024, $"a training step allocated {perStep:N0} bytes after warm-up");
    }

    [Fact]
    public void Steady_state_cnn_step_allocates_no_large_arrays()
    {
        Rng.ManualSeed(0);
        var model = Models.Cnn(1, 28, 28, 10);
        var x = TestData.Random(1, 16, 1, 28, 28);
        var y = Enumerable.Range(0, 16).Select(i => i % 10).ToArray();
        long perStep = MeasurePerStep(model, x, y, 10);
        Assert.True(perStep < 24 * 1024, $"a training step allocated {perStep:N0} bytes after warm-up");
    }
}
