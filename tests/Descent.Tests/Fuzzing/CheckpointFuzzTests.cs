using CsCheck;
using Descent.Nn;
using Descent.Optim;
using Descent.Optim.Schedules;
using Descent.Tests.Logging;
using Descent.Training;
using Xunit.Abstractions;

namespace Descent.Tests.Fuzzing;

/// <summary>
/// Checkpoints: the record in the metadata (counters, optimizer, schedule, generator state) mutated as text and value by
/// value, and the file mutated as bytes. Each loads, or raises <see cref="InvalidDataException"/> and leaves the model as
/// it was; an unmutated checkpoint restores the saved weights.
/// </summary>
public sealed class CheckpointFuzzTests(ITestOutputHelper output)
{
    public sealed record Case(byte[] Bytes, bool Intact);

    private static readonly ModelSpec Spec = new() { Kind = "mlp", InputShape = [3], Hidden = [4], Outputs = 2, BatchNorm = true };

    private static (Sequential Model, Adam Optimizer, LRScheduler Scheduler) Build(int seed)
    {
        Rng.ManualSeed(seed);
        var model = Spec.Build();
        var optimizer = new Adam(model.Parameters());
        var scheduler = new SequentialLR(optimizer, [new LinearLR(optimizer, 0.5, 1, 2), new CosineAnnealingLR(optimizer, 5)], [2]);
        return (model, optimizer, scheduler);
    }

    [Fact]
    public void CheckpointsLoadOrRaiseInvalidDataAndChangeNothing()
    {
        byte[] seed;
        Dictionary<string, float[]> saved;
        using (var dir = new TempDirectory())
        {
            var (model, optimizer, scheduler) = Build(4);
            model.Forward(TestData.Random(1, 4, 3)).Sum().Backward();
            optimizer.Step();
            scheduler.Step();
            seed = File.ReadAllBytes(Checkpoint.Save(dir.Path, model, optimizer, scheduler, 1, 1, metadata: new Dictionary<string, string> { ["loader"] = "3" }));
            saved = model.StateDict().ToDictionary(p => p.Key, p => p.Value.ToArray());
        }
        var (header, data) = SafetensorsBytes.Split(seed);
        var node = System.Text.Json.Nodes.JsonNode.Parse(header)!;
        string record = node["__metadata__"]![Checkpoint.MetadataKey]!.GetValue<string>();
        node["__metadata__"]![Checkpoint.MetadataKey] = "@RECORD@";
        string template = node.ToJsonString();

        // The record is JSON inside a JSON string: it is mutated as text, or one of its values replaced, and put back.
        Gen<Case> RecordMutants(Func<string, Random, string> mutate) => Gen.Int.Select(n =>
        {
            var random = new Random(n);
            string quoted = SafetensorsBytes.Quoted(mutate(record, random));
            return new Case(SafetensorsBytes.Frame(template.Replace("\"@RECORD@\"", quoted), data), false);
        });
        var inner = RecordMutants((json, random) => random.Next(2) == 0 ? JsonMutator.Mutate(json, random) : JsonMutator.ReplaceNested(json, random));
        var headerMutants = Gen.Int.Select(n =>
        {
            var random = new Random(n);
            return new Case(SafetensorsBytes.Frame(JsonMutator.Mutate(header, random), data), false);
        });
        var byteMutants = Mutator.Of(seed).Select(b => new Case(b, false));
        var intact = Gen.Const(new Case(seed, true));

        Fuzz.Run(output, "checkpoint", Gen.OneOf(intact, inner, inner, inner, headerMutants, byteMutants), c =>
        {
            var (model, optimizer, scheduler) = Build(9);
            var before = model.StateDict().ToDictionary(p => p.Key, p => p.Value.ToArray());
            try
            {
                var info = Checkpoint.Load(new MemoryStream(c.Bytes), Fuzz.Source, model, optimizer, scheduler);
                if (c.Intact)
                {
                    Assert.Equal((1, 1L, "3"), (info.Epoch, info.Step, info.Metadata["loader"]));
                    foreach (var (name, tensor) in model.StateDict()) Assert.Equal(saved[name], tensor.ToArray());
                }
                return true;
            }
            catch (InvalidDataException)
            {
                foreach (var (name, tensor) in model.StateDict()) Assert.Equal(before[name], tensor.ToArray());
                throw;
            }
        }, c => Fuzz.Hex(c.Bytes));
    }
}
