using Descent.Nn;
using Descent.Optim;

namespace Descent.Tests.Optim;

/// <summary>
/// Every update rule's vector loop equals its scalar specification loop bit for bit, at each vector width this
/// CPU has, for every group length 0…70 and at lengths that fill many vectors and cross the parallel split:
/// two optimizers from the same values, one forced to the scalar loop and one to a width, take the same steps.
/// </summary>
public class VectorPathTests
{
    /// <summary>Lengths beyond 0…70: many vectors plus a tail, and (100,003) a group split across cores.</summary>
    private static readonly int[] LargeLengths = [4096 + 13, 100_003];

    /// <summary>Steps per run: RAdam rectifies from step 6 on, and every rule's state is used from step 2.</summary>
    private const int Steps = 7;

    /// <summary>An optimizer over two groups (a 5-element one in front, so that the group under test does not start at 0).</summary>
    private delegate Optimizer Factory(Parameter front, Parameter tested);

    private static Factory Groups<TOptions>(Func<IEnumerable<ParamGroup<TOptions>>, Optimizer> make, TOptions options) where TOptions : OptimizerOptions =>
        (front, tested) => make([new ParamGroup<TOptions>([front], options), new ParamGroup<TOptions>([tested], options)]);

    /// <summary>Each rule with the hyperparameters that change its arithmetic.</summary>
    private static readonly Dictionary<string, Factory> Rules = new()
    {
        ["sgd"] = Groups(g => new SGD(g), new SgdOptions { Lr = 0.1 }),
        ["sgd decay maximize"] = Groups(g => new SGD(g), new SgdOptions { Lr = 0.1, WeightDecay = 0.1, Maximize = true }),
        ["sgd momentum dampening decay"] = Groups(g => new SGD(g), new SgdOptions { Lr = 0.05, Momentum = 0.9, Dampening = 0.3, WeightDecay = 0.01 }),
        ["sgd nesterov maximize"] = Groups(g => new SGD(g), new SgdOptions { Lr = 0.05, Momentum = 0.9, Nesterov = true, Maximize = true }),
        ["adam"] = Groups(g => new Adam(g), new AdamOptions { Lr = 0.01 }),
        ["adam decay amsgrad"] = Groups(g => new Adam(g), new AdamOptions { Lr = 0.01, WeightDecay = 0.1, Amsgrad = true }),
        ["adam maximize"] = Groups(g => new Adam(g), new AdamOptions { Lr = 0.01, Maximize = true }),
        ["adamw"] = Groups(g => new AdamW(g), new AdamWOptions { Lr = 0.01, WeightDecay = 0.1 }),
        ["adamw amsgrad maximize"] = Groups(g => new AdamW(g), new AdamWOptions { Lr = 0.01, Amsgrad = true, Maximize = true }),
        ["nadam"] = Groups(g => new NAdam(g), new NAdamOptions { Lr = 0.01 }),
        ["nadam decay"] = Groups(g => new NAdam(g), new NAdamOptions { Lr = 0.01, WeightDecay = 0.1 }),
        ["radam"] = Groups(g => new RAdam(g), new RAdamOptions { Lr = 0.01 }),
        ["radam decay"] = Groups(g => new RAdam(g), new RAdamOptions { Lr = 0.01, WeightDecay = 0.1 }),
        ["adamax"] = Groups(g => new Adamax(g), new AdamaxOptions { Lr = 0.01 }),
        ["adamax decay maximize"] = Groups(g => new Adamax(g), new AdamaxOptions { Lr = 0.01, WeightDecay = 0.1, Maximize = true }),
        ["lion"] = Groups(g => new Lion(g), new LionOptions { Lr = 0.01 }),
        ["lion decay"] = Groups(g => new Lion(g), new LionOptions { Lr = 0.01, WeightDecay = 0.5 }),
        ["adagrad"] = Groups(g => new Adagrad(g), new AdagradOptions { Lr = 0.1 }),
        ["adagrad decay lr_decay maximize"] = Groups(g => new Adagrad(g), new AdagradOptions { Lr = 0.1, LrDecay = 0.01, WeightDecay = 0.1, InitialAccumulatorValue = 0.1, Maximize = true }),
        ["adadelta"] = Groups(g => new Adadelta(g), new AdadeltaOptions()),
        ["adadelta decay maximize"] = Groups(g => new Adadelta(g), new AdadeltaOptions { Lr = 0.5, Rho = 0.8, Eps = 1e-5, WeightDecay = 0.1, Maximize = true }),
        ["rmsprop"] = Groups(g => new RMSprop(g), new RMSpropOptions { Lr = 0.01 }),
        ["rmsprop momentum"] = Groups(g => new RMSprop(g), new RMSpropOptions { Lr = 0.01, Momentum = 0.9 }),
        ["rmsprop centered momentum decay maximize"] = Groups(g => new RMSprop(g), new RMSpropOptions { Lr = 0.01, Momentum = 0.9, Centered = true, WeightDecay = 0.1, Maximize = true }),
        ["lookahead(sgd momentum)"] = (front, tested) => new Lookahead(Groups(g => new SGD(g), new SgdOptions { Lr = 0.1, Momentum = 0.9 })(front, tested), k: 2, alpha: 0.3),
    };

    /// <summary>The vector widths this CPU has (every CPU .NET runs on has 128-bit vectors).</summary>
    private static IEnumerable<VectorWidth> Widths() =>
        new[] { VectorWidth.Bits512, VectorWidth.Bits256, VectorWidth.Bits128 }.Where(UpdateRules.IsSupported);

    public static TheoryData<string> RuleNames() => [.. Rules.Keys];

    private static void SetWidth(Optimizer optimizer, VectorWidth width)
    {
        optimizer.VectorWidth = width;
        if (optimizer is Lookahead lookahead) lookahead.Inner.VectorWidth = width;
    }

    /// <summary>Values of mixed signs over several orders of magnitude, with exact zeros (Lion's sign, Adamax's max).</summary>
    private static void Fill(Span<float> values, Random random)
    {
        for (int i = 0; i < values.Length; i++)
            values[i] = random.Next(16) == 0 ? 0f : (float)((random.NextDouble() * 2 - 1) * Math.Exp(random.NextDouble() * 6 - 3));
    }

    /// <summary>Runs <see cref="Steps"/> steps at <paramref name="width"/> and returns the parameters and every state buffer, as bits.</summary>
    private static int[] Run(Factory make, int length, VectorWidth width)
    {
        var random = new Random(length);
        var front = new Parameter(5);
        var tested = new Parameter(length);
        var optimizer = make(front, tested);
        SetWidth(optimizer, width);
        Fill(optimizer.Arena.Data, random);
        for (int step = 0; step < Steps; step++)
        {
            Fill(optimizer.Arena.Grad, random);
            optimizer.Step();
        }
        var state = optimizer.StateDict();
        var everything = optimizer.Arena.Data.Concat(state.Buffers.OrderBy(b => b.Key, StringComparer.Ordinal).SelectMany(b => b.Value));
        return everything.Select(BitConverter.SingleToInt32Bits).ToArray();
    }

    [Theory]
    [MemberData(nameof(RuleNames))]
    public void Vector_loops_equal_the_scalar_specification_at_every_length(string rule)
    {
        var make = Rules[rule];
        foreach (int length in Enumerable.Range(0, 71).Concat(LargeLengths))
        {
            var specification = Run(make, length, VectorWidth.Scalar);
            foreach (var width in Widths())
                Assert.True(specification.AsSpan().SequenceEqual(Run(make, length, width)), $"{rule} at {width}, length {length}: the vector loop and the scalar specification differ");
        }
    }

    public static TheoryData<int> AllWidths() => [.. Widths().Append(VectorWidth.Scalar).Select(w => (int)w)];

    [Theory]
    [MemberData(nameof(AllWidths))]
    public void The_width_asked_for_is_the_loop_that_runs(int width)
    {
        // 100 elements run inline on this thread, where the rule records the width of the loop it ran.
        foreach (var make in Rules.Values)
        {
            var optimizer = make(new Parameter(5), new Parameter(100));
            SetWidth(optimizer, (VectorWidth)width);
            UpdateRules.LastRun = (VectorWidth)(-1);
            optimizer.Step();
            Assert.Equal((VectorWidth)width, UpdateRules.LastRun);
        }
    }

    [Fact]
    public void An_optimizer_runs_the_widest_vectors_the_cpu_has()
    {
        var widest = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? VectorWidth.Bits512
            : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? VectorWidth.Bits256
            : System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated ? VectorWidth.Bits128
            : VectorWidth.Scalar;
        var optimizer = new Adam([new Parameter(100)]);
        UpdateRules.LastRun = (VectorWidth)(-1);
        optimizer.Step();
        Assert.Equal(widest, UpdateRules.LastRun);
        Assert.Throws<ArgumentOutOfRangeException>(() => optimizer.VectorWidth = (VectorWidth)64);
    }
}
