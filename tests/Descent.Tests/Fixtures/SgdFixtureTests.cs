using System.Text.Json;
using Descent.Nn;
using Descent.Optim;

namespace Descent.Tests.Fixtures;

/// <summary>SGD trajectories (plain, momentum, dampening, Nesterov, weight decay, maximize, groups, lr change) against torch.optim.SGD.</summary>
public class SgdFixtureTests
{
    private static readonly JsonElement Root = Fixture.Load("sgd.json");

    public static TheoryData<string> Runs() => new(Root.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetString()!));

    [Theory]
    [MemberData(nameof(Runs))]
    public void Trajectory_matches_pytorch(string id)
    {
        var run = Root.GetProperty("runs").EnumerateArray().First(r => r.GetProperty("id").GetString() == id);
        var problem = Root.GetProperty("problems").GetProperty(run.GetProperty("problem").GetString()!);
        var rows = run.GetProperty("params").EnumerateArray().Select(Fixture.Floats).ToArray();
        bool negated = run.GetProperty("objective").GetString() == "negated";

        // One parameter per group slice, so groups map onto PyTorch's param_groups.
        var groups = new List<ParamGroup<SgdOptions>>();
        var slices = new List<(int Start, Parameter P)>();
        foreach (var g in run.GetProperty("groups").EnumerateArray())
        {
            int start = g.GetProperty("start").GetInt32(), end = g.GetProperty("end").GetInt32();
            var p = new Parameter(Tensor.FromArray(rows[0][start..end], end - start));
            slices.Add((start, p));
            groups.Add(new ParamGroup<SgdOptions>([p], new SgdOptions
            {
                Lr = g.GetProperty("lr").GetDouble(),
                Momentum = g.GetProperty("momentum").GetDouble(),
                Dampening = g.GetProperty("dampening").GetDouble(),
                Nesterov = g.GetProperty("nesterov").GetBoolean(),
                WeightDecay = g.GetProperty("weight_decay").GetDouble(),
                Maximize = g.GetProperty("maximize").GetBoolean(),
            }));
        }
        var sgd = new SGD(groups);
        double[]? schedule = run.GetProperty("lr_schedule").ValueKind == JsonValueKind.Array
            ? run.GetProperty("lr_schedule").EnumerateArray().Select(v => v.GetDouble()).ToArray() : null;

        int n = rows[0].Length;
        var x = new float[n];
        for (int step = 0; step < rows.Length - 1; step++)
        {
            foreach (var (start, p) in slices) p.Data.CopyTo(x.AsSpan(start));
            var g = FixtureProblems.Gradient(problem, run.GetProperty("problem").GetString()!, x);
            if (negated) for (int i = 0; i < n; i++) g[i] = -g[i];
            foreach (var (start, p) in slices) g.AsSpan(start, p.Numel).CopyTo(p.Grad!.Data);
            if (schedule is not null) foreach (var grp in sgd.ParamGroups) grp.Options.Lr = schedule[step];
            sgd.Step();
            foreach (var (start, p) in slices) p.Data.CopyTo(x.AsSpan(start));
            Fixture.AssertClose(rows[step + 1], x, 1e-6, 1e-5, $"{id} step {step + 1}");
        }
    }

    [Fact]
    public void Invalid_hyperparameters_use_pytorch_wording()
    {
        var p = new Parameter(2);
        Assert.Equal("Invalid learning rate: -1", Assert.ThrowsAny<ArgumentException>(() => new SGD([p], lr: -1)).Message.Split(" (Parameter")[0]);
        Assert.StartsWith("Invalid momentum value: -0.5", Assert.ThrowsAny<ArgumentException>(() => new SGD([p], lr: 0.1, momentum: -0.5)).Message);
        Assert.StartsWith("Invalid weight_decay value: -1", Assert.ThrowsAny<ArgumentException>(() => new SGD([p], lr: 0.1, weightDecay: -1)).Message);
        Assert.StartsWith("Nesterov momentum requires a momentum and zero dampening", Assert.ThrowsAny<ArgumentException>(() => new SGD([p], lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true)).Message);
        var q = new Parameter(3);
        Assert.Contains("more than one parameter group", Assert.ThrowsAny<ArgumentException>(() => new SGD([new ParamGroup<SgdOptions>([q], new SgdOptions { Lr = 0.1 }), new ParamGroup<SgdOptions>([q], new SgdOptions { Lr = 0.2 })])).Message);
    }

    [Fact]
    public void State_dict_round_trip_resumes_bit_for_bit()
    {
        float[] Run(bool resume)
        {
            var p = new Parameter(Tensor.FromArray([1f, -2f, 3f], 3));
            var sgd = new SGD([p], lr: 0.1, momentum: 0.9, nesterov: true);
            for (int i = 0; i < 10; i++)
            {
                if (resume && i == 5)
                {
                    var saved = sgd.StateDict();
                    var values = p.Clone();
                    p = new Parameter(values);
                    sgd = new SGD([p], lr: 0.5);
                    Assert.Throws<ArgumentException>(() => new SGD([new Parameter(4)], lr: 0.1).LoadStateDict(saved));
                    sgd.LoadStateDict(saved);
                }
                for (int j = 0; j < 3; j++) p.Grad!.Data[j] = p.Data[j] * p.Data[j] - 1f;
                sgd.Step();
            }
            return p.ToArray();
        }
        Assert.Equal(Run(false), Run(true));
    }

    [Fact]
    public void Lecture_momentum_form_equals_pytorch_form_under_constant_lr()
    {
        // v ← αv − εg, θ ← θ + v (the lectures) against b ← μb + g, θ ← θ − εb (PyTorch).
        const float lr = 0.05f, mu = 0.9f;
        var p = new Parameter(Tensor.FromArray([2f, -1f], 2));
        var sgd = new SGD([p], lr: lr, momentum: mu);
        float[] theta = [2f, -1f], v = [0f, 0f];
        for (int step = 0; step < 50; step++)
        {
            for (int i = 0; i < 2; i++) p.Grad!.Data[i] = 3f * p.Data[i];
            sgd.Step();
            for (int i = 0; i < 2; i++) { v[i] = mu * v[i] - lr * 3f * theta[i]; theta[i] += v[i]; }
            for (int i = 0; i < 2; i++) Assert.True(Math.Abs(theta[i] - p.Data[i]) <= 1e-5 * (1 + Math.Abs(theta[i])), $"step {step}: lecture form {theta[i]}, PyTorch form {p.Data[i]}");
        }
    }
}
