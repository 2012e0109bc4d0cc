using System.Text.Json;
using Descent.Tests.Fixtures;
using Descent.Training;

namespace Descent.Tests.Training;

/// <summary>
/// The metrics of Descent.Training against scikit-learn (tests/fixtures/metrics.json, made by generate_metrics.py),
/// each fed the fixture's samples in uneven batches of 7, 13 and the rest.
/// </summary>
public class MetricTests
{
    private static readonly JsonElement Root = Fixture.Load("metrics.json");
    private static readonly JsonElement Classes = Root.GetProperty("classification");
    private static readonly Tensor Logits = Fixture.Tensor(Classes.GetProperty("logits"));
    private static readonly int[] Targets = Fixture.Ints(Classes.GetProperty("targets"));
    private static readonly int NumClasses = Classes.GetProperty("num_classes").GetInt32();

    private static readonly int[] BatchSizes = [7, 13];

    /// <summary>Rows [start, start + count) of a tensor [N] or [N, K], copied.</summary>
    private static Tensor Rows(Tensor t, int start, int count)
    {
        int width = t.Rank == 1 ? 1 : t.Shape[1];
        var data = t.Data.Slice(start * width, count * width).ToArray();
        return t.Rank == 1 ? Tensor.FromArray(data, count) : Tensor.FromArray(data, count, width);
    }

    /// <summary>The row ranges of batches of 7, 13 and the rest.</summary>
    private static IEnumerable<(int Start, int Count)> Batches(int n)
    {
        int start = 0;
        foreach (int size in BatchSizes.Append(n - BatchSizes.Sum()))
        {
            yield return (start, size);
            start += size;
        }
    }

    private static Tensor TargetTensor(int[] targets) => Tensor.FromArray(targets.Select(t => (float)t).ToArray(), targets.Length);

    /// <summary>Feeds the fixture's logits and targets in batches, the targets as a tensor of integral floats.</summary>
    private static T FeedClasses<T>(T metric) where T : IMetric
    {
        foreach (var (start, count) in Batches(Targets.Length))
            metric.Update(Rows(Logits, start, count), TargetTensor(Targets[start..(start + count)]));
        return metric;
    }

    /// <summary>Feeds the fixture's logits and targets in batches, the targets as int[] through <see cref="IMetric"/>.</summary>
    private static IMetric FeedClassIndices(IMetric metric)
    {
        foreach (var (start, count) in Batches(Targets.Length))
            metric.Update(Rows(Logits, start, count), Targets[start..(start + count)]);
        return metric;
    }

    private static JsonElement RegressionCase(string name) =>
        Root.GetProperty("regression").EnumerateArray().First(c => c.GetProperty("name").GetString() == name);

    private static T FeedRegression<T>(T metric, string name) where T : IMetric
    {
        var c = RegressionCase(name);
        var prediction = Fixture.Tensor(c.GetProperty("prediction"));
        var target = Fixture.Tensor(c.GetProperty("target"));
        foreach (var (start, count) in Batches(prediction.Shape[0]))
            metric.Update(Rows(prediction, start, count), Rows(target, start, count));
        return metric;
    }

    private static void AssertClose(double expected, double actual, string what)
    {
        double err = Math.Abs(expected - actual);
        Assert.True(err <= 1e-12 + 1e-6 * Math.Abs(expected), $"{what}: scikit-learn {expected:R}, Descent {actual:R} (error {err:G3})");
    }

    private static void AssertClose(double[] expected, IReadOnlyList<double> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Count);
        for (int i = 0; i < expected.Length; i++) AssertClose(expected[i], actual[i], $"{what}[{i}]");
    }

    private static double[] Doubles(JsonElement array) => array.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    [Fact]
    public void Fixture_exercises_ties_and_every_zero_division_case()
    {
        // The fixture's point: rows with a repeated maximum, a class predicted but never a target, one a target but
        // never predicted, one neither.
        var predictions = Fixture.Ints(Classes.GetProperty("predictions"));
        Assert.NotEmpty(Fixture.Ints(Classes.GetProperty("tie_rows")));
        Assert.Contains(4, predictions);
        Assert.DoesNotContain(4, Targets);
        Assert.Contains(5, Targets);
        Assert.DoesNotContain(5, predictions);
        Assert.DoesNotContain(6, Targets.Concat(predictions));
    }

    [Fact]
    public void Accuracy_matches_sklearn()
    {
        double expected = Classes.GetProperty("accuracy").GetDouble();
        AssertClose(expected, FeedClasses(new Accuracy()).Compute(), "accuracy");
        AssertClose(expected, FeedClassIndices(new Accuracy()).Compute(), "accuracy (int[] targets)");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Top_k_accuracy_matches_sklearn(int k)
    {
        double expected = Classes.GetProperty("top_k_accuracy").GetProperty(k.ToString()).GetDouble();
        var metric = FeedClasses(new TopKAccuracy(k));
        Assert.Equal($"top{k}_accuracy", metric.Name);
        AssertClose(expected, metric.Compute(), $"top-{k} accuracy");
        AssertClose(expected, FeedClassIndices(new TopKAccuracy(k)).Compute(), $"top-{k} accuracy (int[] targets)");
    }

    [Fact]
    public void Top_1_accuracy_is_accuracy_and_k_of_at_least_C_counts_everything()
    {
        // On the tie rows top-1 must pick the first maximum, as accuracy_score did with numpy.argmax.
        AssertClose(Classes.GetProperty("accuracy").GetDouble(), FeedClasses(new TopKAccuracy(1)).Compute(), "top-1 accuracy");
        Assert.Equal(1.0, FeedClasses(new TopKAccuracy(NumClasses)).Compute());
    }

    [Fact]
    public void Confusion_matrix_matches_sklearn()
    {
        var expected = Classes.GetProperty("confusion_matrix").EnumerateArray().Select(Fixture.Ints).ToArray();
        var metric = FeedClasses(new ConfusionMatrix(NumClasses));
        var counts = metric.Compute();
        Assert.Equal(NumClasses, counts.GetLength(0));
        Assert.Equal(NumClasses, counts.GetLength(1));
        for (int i = 0; i < NumClasses; i++)
            for (int j = 0; j < NumClasses; j++)
                Assert.True(expected[i][j] == counts[i, j], $"[{i}, {j}]: scikit-learn {expected[i][j]}, Descent {counts[i, j]}");

        // Through IMetric the single number is the accuracy the matrix implies.
        AssertClose(Classes.GetProperty("accuracy").GetDouble(), ((IMetric)metric).Compute(), "confusion-matrix accuracy");
        Assert.Equal(counts, ((ConfusionMatrix)FeedClassIndices(new ConfusionMatrix(NumClasses))).Compute());
    }

    [Fact]
    public void Precision_recall_f1_match_sklearn_with_zero_division_0()
    {
        var report = FeedClasses(new PrecisionRecallF1(NumClasses)).Compute();
        AssertClose(Doubles(Classes.GetProperty("precision")), report.Precision, "precision");
        AssertClose(Doubles(Classes.GetProperty("recall")), report.Recall, "recall");
        AssertClose(Doubles(Classes.GetProperty("f1")), report.F1, "f1");
        Assert.Equal(Fixture.Ints(Classes.GetProperty("support")).Select(s => (long)s), report.Support);
        foreach (var (average, scores) in new[] { ("macro", report.Macro), ("weighted", report.Weighted) })
        {
            var expected = Classes.GetProperty(average);
            AssertClose(expected.GetProperty("precision").GetDouble(), scores.Precision, $"{average} precision");
            AssertClose(expected.GetProperty("recall").GetDouble(), scores.Recall, $"{average} recall");
            AssertClose(expected.GetProperty("f1").GetDouble(), scores.F1, $"{average} f1");
        }

        IMetric asMetric = FeedClassIndices(new PrecisionRecallF1(NumClasses));
        Assert.Equal("f1_macro", asMetric.Name);
        AssertClose(Classes.GetProperty("macro").GetProperty("f1").GetDouble(), asMetric.Compute(), "f1_macro through IMetric");
    }

    public static TheoryData<string> RegressionCases() =>
        new(Root.GetProperty("regression").EnumerateArray().Select(c => c.GetProperty("name").GetString()!));

    [Theory]
    [MemberData(nameof(RegressionCases))]
    public void Regression_metrics_match_sklearn(string name)
    {
        var c = RegressionCase(name);
        AssertClose(c.GetProperty("mse").GetDouble(), FeedRegression(new MeanSquaredError(), name).Compute(), $"{name} mse");
        AssertClose(c.GetProperty("rmse").GetDouble(), FeedRegression(new RootMeanSquaredError(), name).Compute(), $"{name} rmse");
        AssertClose(c.GetProperty("mae").GetDouble(), FeedRegression(new MeanAbsoluteError(), name).Compute(), $"{name} mae");
        var r2 = FeedRegression(new R2Score(), name);
        AssertClose(c.GetProperty("r2").GetDouble(), r2.Compute(), $"{name} r2");
        AssertClose(Doubles(c.GetProperty("r2_raw_values")), r2.ComputeRawValues(), $"{name} r2 raw values");
    }

    [Fact]
    public void R2_of_a_constant_target_is_1_when_exact_else_0_as_sklearn()
    {
        // The "constant" case: output 0 is constant and predicted exactly, output 1 constant and predicted inexactly.
        var raw = FeedRegression(new R2Score(), "constant").ComputeRawValues();
        Assert.Equal(1.0, raw[0]);
        Assert.Equal(0.0, raw[1]);
    }

    [Fact]
    public void R2_of_one_sample_is_nan_as_sklearn()
    {
        var r2 = new R2Score();
        r2.Update(Tensor.FromArray([1f], 1), Tensor.FromArray([2f], 1));
        Assert.True(double.IsNaN(r2.Compute()));
    }

    public static TheoryData<string> AllMetrics() =>
        ["accuracy", "top2", "confusion", "prf", "mse", "rmse", "mae", "r2"];

    private static IMetric Create(string which) => which switch
    {
        "accuracy" => new Accuracy(),
        "top2" => new TopKAccuracy(2),
        "confusion" => new ConfusionMatrix(NumClasses),
        "prf" => new PrecisionRecallF1(NumClasses),
        "mse" => new MeanSquaredError(),
        "rmse" => new RootMeanSquaredError(),
        "mae" => new MeanAbsoluteError(),
        _ => new R2Score(),
    };

    private static bool IsClassification(string which) => which is "accuracy" or "top2" or "confusion" or "prf";

    private static IMetric Feed(IMetric metric, string which) => IsClassification(which) ? FeedClasses(metric) : FeedRegression(metric, "multi");

    [Theory]
    [MemberData(nameof(AllMetrics))]
    public void Reset_forgets_earlier_batches(string which)
    {
        double fresh = Feed(Create(which), which).Compute();
        var metric = Create(which);
        // An unrelated epoch first: different values, and for R² a different number of outputs.
        if (IsClassification(which))
            metric.Update(Tensor.FromArray([0f, 9f, 0f, 0f, 0f, 0f, 0f], 1, NumClasses), [0]);
        else
            metric.Update(Tensor.FromArray([5f, 6f], 2), Tensor.FromArray([-1f, 1f], 2));
        Assert.NotEqual(fresh, metric.Compute());
        metric.Reset();
        Assert.Throws<InvalidOperationException>(() => metric.Compute());
        Assert.Equal(fresh, Feed(metric, which).Compute());
    }

    [Theory]
    [MemberData(nameof(AllMetrics))]
    public void Compute_before_any_update_says_so(string which)
    {
        var metric = Create(which);
        var e = Assert.Throws<InvalidOperationException>(() => metric.Compute());
        Assert.Contains(metric.Name, e.Message);
    }

    /// <summary>The custom metric of <see cref="IMetric"/>'s documentation, as written there.</summary>
    private sealed class MeanAbsolutePercentageError : IMetric
    {
        private const double Eps = 2.220446049250313e-16;   // numpy's finfo(float64).eps, as scikit-learn
        private double _sum;
        private long _count;

        public string Name => "mape";

        public void Update(Tensor output, Tensor target)
        {
            ReadOnlySpan<float> y = output.Data, t = target.Data;
            for (int i = 0; i < y.Length; i++)
                _sum += Math.Abs((double)t[i] - y[i]) / Math.Max(Math.Abs((double)t[i]), Eps);
            _count += y.Length;
        }

        public void Reset() => (_sum, _count) = (0, 0);

        public double Compute() => _sum / _count;
    }

    [Theory]
    [MemberData(nameof(RegressionCases))]
    public void A_custom_metric_works_like_the_built_in_ones(string name)
    {
        IMetric metric = FeedRegression(new MeanAbsolutePercentageError(), name);
        AssertClose(RegressionCase(name).GetProperty("mape").GetDouble(), metric.Compute(), $"{name} mape");
        metric.Reset();

        // IMetric's default Update(Tensor, int[]) hands class indices on as a float tensor [N].
        metric.Update(Tensor.FromArray([1f, 1f, 3f], 3), [2, 1, 4]);
        AssertClose((0.5 + 0 + 0.25) / 3, metric.Compute(), "mape of int[] targets");
    }

    private static void AssertOneLineArgumentException(Action action, params string[] mentions)
    {
        var e = Assert.ThrowsAny<ArgumentException>(action);
        Assert.DoesNotContain('\n', e.Message);
        foreach (var m in mentions) Assert.Contains(m, e.Message);
    }

    [Fact]
    public void Bad_classification_input_is_one_line_naming_shapes_and_values()
    {
        var logits = Tensor.Zeros(3, 4);
        AssertOneLineArgumentException(() => new TopKAccuracy(0), "k = 0");
        AssertOneLineArgumentException(() => new ConfusionMatrix(0), "numClasses = 0");
        AssertOneLineArgumentException(() => new Accuracy().Update(logits, Tensor.Zeros(4)), "[4]", "[3, 4]");
        AssertOneLineArgumentException(() => new Accuracy().Update(logits, Tensor.Zeros(3, 1)), "[3, 1]", "[3, 4]");
        AssertOneLineArgumentException(() => new Accuracy().Update(logits, [0, 1]), "2 targets", "[3, 4]");
        AssertOneLineArgumentException(() => new Accuracy().Update(Tensor.Zeros(3), [0, 1, 2]), "[3]", "[N, C]");
        AssertOneLineArgumentException(() => new Accuracy().Update(logits, TargetTensor([0, 4, 1])), "target[1] = 4", "[0, 4)");
        AssertOneLineArgumentException(() => new TopKAccuracy(2).Update(logits, [0, 1, -1]), "target[2] = -1", "[0, 4)");
        AssertOneLineArgumentException(() => new Accuracy().Update(logits, Tensor.FromArray([0f, 1.5f, 2f], 3)), "target[1] = 1.5");
        AssertOneLineArgumentException(() => new ConfusionMatrix(5).Update(logits, [0, 1, 2]), "[3, 4]", "4 classes", "5");
        AssertOneLineArgumentException(() => new PrecisionRecallF1(3).Update(logits, TargetTensor([0, 1, 2])), "[3, 4]", "3");
    }

    [Fact]
    public void Bad_regression_input_is_one_line_naming_shapes()
    {
        AssertOneLineArgumentException(() => new MeanSquaredError().Update(Tensor.Zeros(4), Tensor.Zeros(4, 1)), "[4, 1]", "[4]");
        AssertOneLineArgumentException(() => new MeanAbsoluteError().Update(Tensor.Zeros(4, 2), Tensor.Zeros(2, 4)), "[2, 4]", "[4, 2]");
        AssertOneLineArgumentException(() => new RootMeanSquaredError().Update(Tensor.Zeros(2, 2, 2), Tensor.Zeros(2, 2, 2)), "[2, 2, 2]", "[N] or [N, K]");
        var r2 = new R2Score();
        r2.Update(Tensor.Zeros(4, 2), Tensor.Zeros(4, 2));
        AssertOneLineArgumentException(() => r2.Update(Tensor.Zeros(4, 3), Tensor.Zeros(4, 3)), "[4, 3]", "3 outputs", "earlier batches 2");
    }
}
