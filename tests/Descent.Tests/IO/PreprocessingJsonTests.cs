using Descent.Data;
using Descent.IO;

namespace Descent.Tests.IO;

/// <summary>
/// What training fitted survives being written as JSON (a saved model's metadata): read back, it turns a new file
/// into exactly the inputs the original turns it into, including one-hot columns, imputed cells and missing flags.
/// </summary>
public sealed class PreprocessingJsonTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-prep-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_table_preprocessing_read_back_from_json_encodes_new_rows_identically()
    {
        string train = Path.Combine(_dir, "train.csv");
        File.WriteAllText(train, "colour,size,price\nred,1.5,10\ngreen,,12\n\"blue, dark\",3,15\nred,4,11\ngreen,5,19\nred,,13\nblue,7,21\ngreen,8,25\nred,9,24\ngreen,10,30\n");
        var prepared = UserData.Table(train, new TableOptions { Target = "price", Task = TaskKind.Regression, TestFraction = 0.3, ValFraction = 0 });
        var restored = TablePreprocessing.FromJson(prepared.Preprocessing.ToJson());
        Assert.Equal(TaskKind.Regression, restored.Encoder.Task);
        Assert.Equal(prepared.Preprocessing.Encoder.FeatureNames, restored.Encoder.FeatureNames);
        Assert.Equal(prepared.Preprocessing.TargetStd, restored.TargetStd);

        // New rows: an unseen category, a missing size, columns in another order, no target.
        var fresh = CsvTable.Read(new StringReader("size,colour\n2,purple\n,red\n6,\"blue, dark\"\n"), "new.csv");
        Assert.Equal(prepared.Preprocessing.Inputs(fresh).Data.ToArray(), restored.Inputs(fresh).Data.ToArray());
    }

    [Fact]
    public void Malformed_json_is_one_invalid_data_error()
    {
        Assert.Throws<InvalidDataException>(() => TablePreprocessing.FromJson("{\"kind\":\"table\"}"));
        Assert.Throws<InvalidDataException>(() => TablePreprocessing.FromJson("not json"));
        Assert.Throws<InvalidDataException>(() => ImagePreprocessing.FromJson("{\"kind\":\"table\"}"));
    }

    [Fact]
    public void An_image_preprocessing_read_back_from_json_keeps_classes_size_and_statistics()
    {
        var original = new ImagePreprocessing(["cat", "dog"], Standardizer.FromStatistics(StandardizationMode.PerChannel, [0.1f, 0.2f, 0.3f], [0.5f, 0.6f, 0.7f]), 32, false, 32, 32);
        var restored = ImagePreprocessing.FromJson(original.ToJson());
        Assert.Equal(original.ClassNames, restored.ClassNames);
        Assert.Equal(original.Standardizer.Mean, restored.Standardizer.Mean);
        Assert.Equal(original.Standardizer.Std, restored.Standardizer.Std);
        Assert.Equal((original.ImageSize, original.Grayscale, original.Height, original.Width), (restored.ImageSize, restored.Grayscale, restored.Height, restored.Width));
    }
}
