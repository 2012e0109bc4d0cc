using CsCheck;
using Descent.Data;
using Descent.IO;
using Descent.Tests.Logging;
using Xunit.Abstractions;

namespace Descent.Tests.Fuzzing;

/// <summary>
/// The preprocessing a model file records for <c>descent predict</c> (table encoding and standardization, image classes,
/// size and channel statistics): mutants of real descriptions are read back or refused with <see cref="InvalidDataException"/>.
/// </summary>
public sealed class PreprocessingFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void DescriptionsLoadOrRaiseInvalidData()
    {
        string table;
        using (var dir = new TempDirectory())
        {
            string train = dir.Sub("train.csv");
            File.WriteAllText(train, "colour,size,price\nred,1.5,10\ngreen,,12\n\"blue, dark\",3,15\nred,4,11\ngreen,5,19\nred,,13\nblue,7,21\ngreen,8,25\nred,9,24\ngreen,10,30\n");
            table = UserData.Table(train, new TableOptions { Target = "price", TestFraction = 0.3, ValFraction = 0 }).Preprocessing.ToJson();
        }
        string image = new ImagePreprocessing(["cat", "dog"], Standardizer.FromStatistics(StandardizationMode.PerChannel, [0.1f, 0.2f, 0.3f], [0.5f, 0.6f, 0.7f]), 32, false, 32, 32).ToJson();
        string[] seeds = [table, image];
        var mutants = Gen.Int.Select(n =>
        {
            var random = new Random(n);
            string seed = seeds[random.Next(seeds.Length)];
            return random.Next(4) switch
            {
                0 => seed,
                1 => JsonMutator.Mutate(seed, random),
                _ => JsonMutator.ReplaceNested(seed, random),
            };
        });
        Fuzz.Run(output, "preprocessing", mutants, json =>
        {
            if (json.Contains("\"kind\":\"table\"", StringComparison.Ordinal)) TablePreprocessing.FromJson(json);
            else ImagePreprocessing.FromJson(json);
            return true;
        }, json => json, messageStart: ""); // the description has no name of its own: predict puts the model file's in front
    }
}
