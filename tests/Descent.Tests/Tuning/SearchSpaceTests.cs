using Descent.Tuning;

namespace Descent.Tests.Tuning;

public class SearchSpaceTests
{
    [Fact]
    public void The_text_form_gives_each_kind_of_range_in_order()
    {
        var space = SearchSpace.Parse("lr=log:1e-4..1e-1, batch-size=32|64|128, optimizer=sgd|momentum|adam, hidden=128,64|256,128, "
            + "weight-decay=0|1e-4, dropout=0..0.5, layers=int:1..4, units=int:log:16..512, p=0..1:0.25, seed=7");
        Assert.Equal(["lr", "batch-size", "optimizer", "hidden", "weight-decay", "dropout", "layers", "units", "p", "seed"],
            space.Parameters.Select(p => p.Key));
        var d = space.Parameters.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(new FloatDistribution(1e-4, 0.1, Log: true), d["lr"]);
        Assert.Equal(new CategoricalDistribution(["32", "64", "128"]), d["batch-size"]);
        Assert.Equal(new CategoricalDistribution(["128,64", "256,128"]), d["hidden"]);
        Assert.Equal(new CategoricalDistribution(["0", "1e-4"]), d["weight-decay"]);
        Assert.Equal(new FloatDistribution(0, 0.5), d["dropout"]);
        Assert.Equal(new IntDistribution(1, 4), d["layers"]);
        Assert.Equal(new IntDistribution(16, 512, Log: true), d["units"]);
        Assert.Equal(new FloatDistribution(0, 1, Step: 0.25), d["p"]);
        Assert.Equal(new CategoricalDistribution(["7"]), d["seed"]);
    }

    [Theory]
    [InlineData("", "search space is empty")]
    [InlineData("lr", "search space entry 'lr': expected name=range")]
    [InlineData("lr=", "search space entry 'lr=': the range is empty")]
    [InlineData("lr=log:0..1", "parameter 'lr': a log range needs low > 0")]
    [InlineData("lr=1..0.1", "parameter 'lr': the range 1..0.1 is empty")]
    [InlineData("lr=a..b", "search space entry 'lr=a..b': 'a' is not a number")]
    [InlineData("layers=int:1..2.5", "search space entry 'layers=int:1..2.5': '1' and '2.5' must be integers")]
    [InlineData("opt=sgd||adam", "search space entry 'opt=sgd||adam': a choice is empty")]
    [InlineData("opt=sgd|sgd", "parameter 'opt': the choice 'sgd' is listed twice")]
    [InlineData("x=0..1, x=1|2", "the parameter 'x' is given twice")]
    [InlineData("x=0..1:0", "parameter 'x': a step must be positive")]
    [InlineData("x=log:1", "search space entry 'x=log:1': '1' is not lo..hi")]
    [InlineData("units=int:log:0..8", "parameter 'units': a log range needs low >= 1")]
    public void Bad_text_is_refused_naming_the_entry(string spec, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => SearchSpace.Parse(spec));
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void The_json_form_reads_every_kind_and_names_the_file_in_errors()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, """
                {"lr": {"type": "float", "low": 1e-4, "high": 0.1, "log": true},
                 "dropout": {"type": "float", "low": 0, "high": 0.5, "step": 0.1},
                 "layers": {"type": "int", "low": 1, "high": 4},
                 "optimizer": {"type": "categorical", "choices": ["sgd", "adam"]},
                 "batch": {"type": "categorical", "choices": [32, 64]}}
                """);
            var space = SearchSpace.FromJsonFile(path);
            Assert.Equal(
                [new("lr", new FloatDistribution(1e-4, 0.1, Log: true)), new("dropout", new FloatDistribution(0, 0.5, Step: 0.1)),
                 new("layers", new IntDistribution(1, 4)), new("optimizer", new CategoricalDistribution(["sgd", "adam"])),
                 new KeyValuePair<string, Distribution>("batch", new CategoricalDistribution(["32", "64"]))],
                space.Parameters);

            File.WriteAllText(path, """{"lr": {"type": "float", "low": 1e-4}}""");
            var e = Assert.Throws<ArgumentException>(() => SearchSpace.FromJsonFile(path));
            Assert.Equal($"search space file '{path}', parameter 'lr': \"high\" must be a number", e.Message);
            File.WriteAllText(path, """{"lr": {"type": "uniform", "low": 0, "high": 1}}""");
            Assert.Contains("\"type\" must be \"float\", \"int\" or \"categorical\"", Assert.Throws<ArgumentException>(() => SearchSpace.FromJsonFile(path)).Message);
            File.WriteAllText(path, "{not json");
            Assert.StartsWith($"search space file '{path}' is not JSON", Assert.Throws<ArgumentException>(() => SearchSpace.FromJsonFile(path)).Message);
        }
        finally { File.Delete(path); }
        Assert.Equal($"search space file '{path}' does not exist", Assert.Throws<ArgumentException>(() => SearchSpace.FromJsonFile(path)).Message);
    }

    [Fact]
    public void Suggest_asks_the_trial_for_every_parameter_within_its_range()
    {
        var space = SearchSpace.Parse("lr=log:1e-4..1e-1, optimizer=sgd|adam, layers=int:1..4, p=0..1:0.25");
        var study = Study.Create("s", StudyStorage.Open("memory"), StudyDirection.Minimize, new RandomSampler(0));
        for (int i = 0; i < 50; i++)
        {
            var trial = study.Ask();
            var values = space.Suggest(trial);
            Assert.All(space.Parameters, p => Assert.True(p.Value.Contains(values[p.Key]), $"{p.Key}={values[p.Key]}"));
            Assert.Contains((double)values["p"], new[] { 0, 0.25, 0.5, 0.75, 1 });
            study.Tell(trial, 0);
        }
    }
}
