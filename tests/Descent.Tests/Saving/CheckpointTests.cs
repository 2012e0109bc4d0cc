using Descent.Nn;
using Descent.Optim;
using Descent.Optim.Schedules;
using Descent.Tests.Logging;
using Descent.Training;

namespace Descent.Tests.Saving;

/// <summary>
/// Exact resume: N steps straight and k steps, a checkpoint, a fresh model/optimizer/schedule that loads it and the
/// remaining N − k steps give the same bits (weights, BatchNorm buffers, optimizer state, learning rates, dropout masks).
/// </summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private sealed record Run(Sequential Model, Adam Optimizer, LRScheduler Scheduler);

    private const int Steps = 12, Classes = 4;

    private static Run Build(ModelSpec spec, int seed, bool mlp)
    {
        Rng.ManualSeed(seed);
        var model = spec.Build();
        var optimizer = new Adam(model.Parameters(), lr: 3e-3, weightDecay: 1e-4);
        // OneCycleLR also cycles Adam's beta1, so the betas must come back exactly; SequentialLR nests two schedules.
        LRScheduler scheduler = mlp
            ? new OneCycleLR(optimizer, 1e-2, totalSteps: Steps)
            : new SequentialLR(optimizer, [new LinearLR(optimizer, 0.2, 1.0, 4), new CosineAnnealingLR(optimizer, 8)], [4]);
        return new Run(model, optimizer, scheduler);
    }

    private static void Train(Run run, ModelSpec spec, int from, int to)
    {
        run.Model.Train();
        for (int step = from; step < to; step++)
        {
            var x = TestData.Random(1000 + step, [6, .. spec.InputShape]);
            var y = Enumerable.Range(0, 6).Select(i => (step * 7 + i) % Classes).ToArray();
            run.Optimizer.ZeroGrad();
            Functional.CrossEntropy(run.Model.Forward(x), y).Backward();
            run.Optimizer.Step();
            run.Scheduler.Step();
        }
    }

    public static TheoryData<string> Kinds => new() { "mlp", "cnn" };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ResumeIsBitIdentical(string kind)
    {
        var spec = kind == "mlp"
            ? new ModelSpec { Kind = "mlp", InputShape = [10], Hidden = [16, 12], Outputs = Classes, BatchNorm = true, Dropout = 0.3 }
            : new ModelSpec { Kind = "cnn", InputShape = [1, 6, 6], Outputs = Classes, BatchNorm = true, Dropout = 0.2 };
        bool mlp = kind == "mlp";

        var straight = Build(spec, 7, mlp);
        Train(straight, spec, 0, Steps);
        var straightRng = Rng.GetState();

        var first = Build(spec, 7, mlp);
        Train(first, spec, 0, 5);
        var path = Checkpoint.Save(_dir.Path, first.Model, first.Optimizer, first.Scheduler, epoch: 1, step: 5,
            metadata: new Dictionary<string, string> { ["loader"] = "batch 5" });
        Train(first, spec, 5, 6); // moves the generator and the weights on, so the load has to put them back

        var resumed = Build(spec, 12345, mlp); // other initial weights and another generator stream
        var info = Checkpoint.Load(path, resumed.Model, resumed.Optimizer, resumed.Scheduler);
        Assert.Equal((1, 5L, "batch 5"), (info.Epoch, info.Step, info.Metadata["loader"]));
        Train(resumed, spec, 5, Steps);

        foreach (var (name, tensor) in straight.Model.StateDict())
            Assert.Equal(tensor.ToArray(), resumed.Model.StateDict()[name].ToArray());
        var expected = straight.Optimizer.StateDict();
        var actual = resumed.Optimizer.StateDict();
        Assert.Equal(expected.Step, actual.Step);
        Assert.Equal(expected.ParamGroups, actual.ParamGroups);
        Assert.Equal(expected.Scalars, actual.Scalars);
        Assert.Equal(expected.Buffers.Keys.Order(), actual.Buffers.Keys.Order());
        foreach (var (name, buffer) in expected.Buffers) Assert.Equal(buffer, actual.Buffers[name]);
        Assert.Equal(straight.Scheduler.GetLastLr(), resumed.Scheduler.GetLastLr());
        Assert.Equal(straight.Scheduler.LastEpoch, resumed.Scheduler.LastEpoch);
        Assert.Equal(straightRng.Values, Rng.GetState().Values); // the resumed run's generator ended where the straight one did
        Assert.Equal((straightRng.Index, straightRng.LagIndex), (Rng.GetState().Index, Rng.GetState().LagIndex));
    }

    [Fact]
    public void CnnTrainingIsReproducible()
    {
        var spec = new ModelSpec { Kind = "cnn", InputShape = [1, 6, 6], Outputs = Classes, BatchNorm = true, Dropout = 0.2 };
        var a = Build(spec, 7, false);
        Train(a, spec, 0, Steps);
        var b = Build(spec, 7, false);
        Train(b, spec, 0, Steps);
        foreach (var (name, tensor) in a.Model.StateDict())
            Assert.True(tensor.ToArray().SequenceEqual(b.Model.StateDict()[name].ToArray()), name);
    }

    [Fact]
    public void KeepDeletesTheOldestAndLatestIsTheLargestStep()
    {
        var run = Build(new ModelSpec { Kind = "linear", InputShape = [3], Outputs = 2 }, 1, mlp: true);
        foreach (long step in new long[] { 5, 100, 20, 1000, 7 })
            Checkpoint.Save(_dir.Path, run.Model, run.Optimizer, run.Scheduler, 0, step, keep: 2);
        Assert.Equal(["checkpoint-000000000100.safetensors", "checkpoint-000000001000.safetensors"],
            Directory.GetFiles(_dir.Path).Select(Path.GetFileName).Order());
        Assert.EndsWith("checkpoint-000000001000.safetensors", Checkpoint.Latest(_dir.Path));
        Assert.Null(Checkpoint.Latest(_dir.Sub("none")));
    }

    [Fact]
    public void CheckpointThatDoesNotFitChangesNothing()
    {
        var spec = new ModelSpec { Kind = "mlp", InputShape = [3], Hidden = [4], Outputs = Classes };
        var saved = Build(spec, 1, mlp: true);
        Train(saved, spec, 0, 2);
        var path = Checkpoint.Save(_dir.Path, saved.Model, saved.Optimizer, saved.Scheduler, 0, 2);

        // Same model, but an SGD optimizer: the model would load, the optimizer refuses, so the model must roll back.
        Rng.ManualSeed(2);
        var model = spec.Build();
        var sgd = new SGD(model.Parameters(), lr: 0.1);
        var before = model.StateDict();
        var rngBefore = Rng.GetState();
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, model, sgd, new StepLR(sgd, 3)));
        Assert.StartsWith(path, e.Message);
        foreach (var (name, tensor) in model.StateDict()) Assert.Equal(before[name].ToArray(), tensor.ToArray());
        Assert.Equal(rngBefore.Values, Rng.GetState().Values);
    }

    [Fact]
    public void DivergedWeightsAreNeverCheckpointed()
    {
        var run = Build(new ModelSpec { Kind = "linear", InputShape = [3], Outputs = Classes }, 1, mlp: true);
        Checkpoint.Save(_dir.Path, run.Model, run.Optimizer, run.Scheduler, 0, 1, keep: 1);
        run.Model.Parameters()[0].Data[2] = float.NaN;
        var e = Assert.Throws<ArgumentException>(() => Checkpoint.Save(_dir.Path, run.Model, run.Optimizer, run.Scheduler, 0, 2, keep: 1));
        Assert.Contains("'model.0.weight' holds NaN", e.Message);
        Assert.EndsWith("checkpoint-000000000001.safetensors", Assert.Single(Directory.GetFiles(_dir.Path)));
    }

    [Fact]
    public void ModelFileIsNotACheckpoint()
    {
        var run = Build(new ModelSpec { Kind = "linear", InputShape = [3], Outputs = 2 }, 1, mlp: true);
        run.Model.Save(_dir.Sub("model.safetensors"));
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(_dir.Sub("model.safetensors"), run.Model, run.Optimizer, run.Scheduler));
        Assert.Contains("not a Descent checkpoint", e.Message);
    }
}

/// <summary>Checkpoints whose record was tampered with load or raise <see cref="InvalidDataException"/>, and a refused one changes nothing.</summary>
public sealed class CheckpointMutationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Every way of spoiling one JSON value: removed, null, another type, another number.</summary>
    private static IEnumerable<System.Text.Json.Nodes.JsonNode?> Replacements(Random random) =>
        [null, "x", true, new System.Text.Json.Nodes.JsonArray(), new System.Text.Json.Nodes.JsonObject(), -1, 0, 1e300, random.Next(-3, 60), int.MaxValue, 2.5];

    [Fact]
    public void TamperedRecordsLoadOrRaiseInvalidData()
    {
        Rng.ManualSeed(4);
        var model = new ModelSpec { Kind = "mlp", InputShape = [3], Hidden = [4], Outputs = 2, BatchNorm = true }.Build();
        var optimizer = new Adam(model.Parameters());
        var scheduler = new SequentialLR(optimizer, [new LinearLR(optimizer, 0.5, 1, 2), new CosineAnnealingLR(optimizer, 5)], [2]);
        model.Forward(TestData.Random(1, 4, 3)).Sum().Backward();
        optimizer.Step();
        var path = Checkpoint.Save(_dir.Path, model, optimizer, scheduler, 1, 1);
        var file = Safetensors.Read(path);
        var record = System.Text.Json.Nodes.JsonNode.Parse(file.Metadata[Checkpoint.MetadataKey])!;

        // Every value in the record, by its path of keys and indices.
        var paths = new List<List<object>>();
        void Walk(System.Text.Json.Nodes.JsonNode? node, List<object> at)
        {
            if (at.Count > 0) paths.Add(at);
            if (node is System.Text.Json.Nodes.JsonObject o) foreach (var (k, v) in o) Walk(v, [.. at, k]);
            else if (node is System.Text.Json.Nodes.JsonArray a) for (int i = 0; i < a.Count; i++) Walk(a[i], [.. at, i]);
        }
        Walk(record, []);

        var random = new Random(5);
        var target = _dir.Sub("tampered.safetensors");
        int loaded = 0, refused = 0;
        foreach (var at in paths)
            foreach (var replacement in Replacements(random).Prepend(System.Text.Json.Nodes.JsonValue.Create("remove")))
            {
                var copy = record.DeepClone();
                var parent = at.SkipLast(1).Aggregate(copy, (n, key) => key is string s ? n[s]! : n[(int)key]!);
                bool remove = replacement?.GetValueKind() == System.Text.Json.JsonValueKind.String && replacement.GetValue<string>() == "remove";
                if (at[^1] is string key)
                {
                    if (remove) parent.AsObject().Remove(key);
                    else parent[key] = replacement?.DeepClone();
                }
                else if (remove) parent.AsArray().RemoveAt((int)at[^1]);
                else parent[(int)at[^1]] = replacement?.DeepClone();
                var metadata = new Dictionary<string, string>(file.Metadata) { [Checkpoint.MetadataKey] = copy.ToJsonString() };
                Safetensors.Write(target, file.Tensors, metadata, new HashSet<string> { "model.1.num_batches_tracked" });

                Rng.ManualSeed(9);
                var fresh = new ModelSpec { Kind = "mlp", InputShape = [3], Hidden = [4], Outputs = 2, BatchNorm = true }.Build();
                var freshOptimizer = new Adam(fresh.Parameters());
                var freshScheduler = new SequentialLR(freshOptimizer, [new LinearLR(freshOptimizer, 0.5, 1, 2), new CosineAnnealingLR(freshOptimizer, 5)], [2]);
                var before = fresh.StateDict();
                try
                {
                    Checkpoint.Load(target, fresh, freshOptimizer, freshScheduler);
                    loaded++;
                }
                catch (InvalidDataException e)
                {
                    Assert.StartsWith(target, e.Message);
                    foreach (var (name, tensor) in fresh.StateDict()) Assert.Equal(before[name].ToArray(), tensor.ToArray());
                    refused++;
                }
            }
        Assert.True(refused > 100 && loaded > 10, $"{loaded} loaded, {refused} refused of {paths.Count} values");
    }
}
