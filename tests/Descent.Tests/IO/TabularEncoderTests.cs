using Descent.Data;
using Descent.IO;

namespace Descent.Tests.IO;

public class TabularEncoderTests
{
    private static CsvTable Read(string csv) => CsvTable.Read(new StringReader(csv), "t.csv");

    private const string Houses =
        "rooms,city,age,price\n" +
        "3,oslo,10,300.5\n" +   // row 0
        "2,bergen,,210.25\n" +  // row 1: age missing
        "4,oslo,30,410\n" +     // row 2
        "1,tromso,20,120\n" +   // row 3: a city the training rows do not have
        "5,,40,500\n";          // row 4: city missing

    [Fact]
    public void Statistics_come_from_the_training_rows_only()
    {
        var t = Read(Houses);
        var enc = TabularEncoder.Fit(t, "price", null, [0, 1, 2]);
        Assert.Equal(TaskKind.Regression, enc.Task);
        Assert.Equal("the target 'price' holds real numbers", enc.TaskReason);
        Assert.Equal(["rooms", "city=oslo", "city=bergen", "age", "age_missing"], enc.FeatureNames);
        // age's mean over rows 0-2 is (10 + 30) / 2 = 20; rows 3 and 4 do not count.
        Assert.Equal(new float[]
        {
            3, 1, 0, 10, 0,
            2, 0, 1, 20, 1,
            4, 1, 0, 30, 0,
            1, 0, 0, 20, 0,   // tromso: unknown category → zeros
            5, 0, 0, 40, 0,   // city missing, no city_missing column (none missing in training)
        }, enc.Features(t, [0, 1, 2, 3, 4]));
        Assert.Equal([300.5f, 210.25f, 410f], enc.Targets(t, [0, 1, 2]));
    }

    [Fact]
    public void Changing_a_held_out_row_changes_nothing_the_encoder_learned()
    {
        var a = TabularEncoder.Fit(Read(Houses), "price", null, [0, 1, 2]);
        var b = TabularEncoder.Fit(Read(Houses.Replace("5,,40,500", "9,paris,99,1")), "price", null, [0, 1, 2]);
        Assert.Equal(a.FeatureNames, b.FeatureNames);
        Assert.Equal(a.Features(Read(Houses), [0, 1, 2]), b.Features(Read(Houses), [0, 1, 2]));
    }

    [Fact]
    public void Task_is_inferred_from_the_target()
    {
        var text = TabularEncoder.Fit(Read("x,label\n1,cat\n2,dog\n3,cat\n"), "label", null, [0, 1, 2]);
        Assert.Equal(TaskKind.Classification, text.Task);
        Assert.Equal(["cat", "dog"], text.ClassNames);
        Assert.Equal([0, 1, 0], text.Classes(Read("x,label\n1,cat\n2,dog\n3,cat\n"), [0, 1, 2]));

        var digits = Read("x,y\n1,7\n2,3\n3,10\n4,3\n");
        var few = TabularEncoder.Fit(digits, "y", null, [0, 1, 2, 3]);
        Assert.Equal(TaskKind.Classification, few.Task);
        Assert.Equal(["3", "7", "10"], few.ClassNames);   // numeric order, not text order
        Assert.Equal([1, 0, 2, 0], few.Classes(digits, [0, 1, 2, 3]));
        Assert.Equal("the target 'y' holds 3 distinct integers (at most 20 are read as classes)", few.TaskReason);

        var many = TabularEncoder.Fit(digits, "y", null, [0, 1, 2, 3], maxClasses: 2);
        Assert.Equal(TaskKind.Regression, many.Task);
        Assert.Equal(TaskKind.Regression, TabularEncoder.Fit(digits, "y", null, [0, 1], task: TaskKind.Regression).Task);
    }

    [Fact]
    public void Features_can_be_chosen()
    {
        var t = Read(Houses);
        var enc = TabularEncoder.Fit(t, "price", ["age", "rooms"], [0, 2]);
        Assert.Equal(["age", "rooms"], enc.FeatureNames);
        Assert.Equal(new float[] { 10, 3, 30, 4 }, enc.Features(t, [0, 2]));
    }

    [Fact]
    public void Refused_missing_values_and_bad_targets_name_file_row_and_column()
    {
        var t = Read(Houses);
        Assert.Equal("t.csv: row 3, column 'age': the value is missing (missing values are refused)",
            Assert.Throws<InvalidDataException>(() => TabularEncoder.Fit(t, "price", null, [0, 1], missing: MissingValues.Refuse)).Message);
        var refusing = TabularEncoder.Fit(t, "price", ["city"], [0, 1], missing: MissingValues.Refuse);
        Assert.Equal("t.csv: row 6, column 'city': the value is missing (missing values are refused)",
            Assert.Throws<InvalidDataException>(() => refusing.Features(t, [4])).Message);

        var noTarget = Read("x,y\n1,2\n2,\n");
        Assert.Equal("t.csv: row 3, column 'y': the target is missing",
            Assert.Throws<InvalidDataException>(() => TabularEncoder.Fit(noTarget, "y", null, [0, 1])).Message);
        Assert.Equal("t.csv: column 'city' holds text, so it cannot be a regression target",
            Assert.Throws<InvalidDataException>(() => TabularEncoder.Fit(t, "city", null, [0, 1], task: TaskKind.Regression)).Message);
        Assert.Equal("t.csv: column 'price' holds non-integer numbers, so it cannot be a classification target",
            Assert.Throws<InvalidDataException>(() => TabularEncoder.Fit(t, "price", null, [0, 1], task: TaskKind.Classification)).Message);

        var labels = Read("x,label\n1,cat\n2,dog\n3,emu\n");
        var enc = TabularEncoder.Fit(labels, "label", null, [0, 1]);
        Assert.Equal("t.csv: row 4, column 'label': class 'emu' does not occur in the training rows",
            Assert.Throws<InvalidDataException>(() => enc.Classes(labels, [2])).Message);
    }

    [Fact]
    public void Bad_arguments_name_the_parameter()
    {
        var t = Read(Houses);
        Assert.Equal("target", Assert.Throws<ArgumentException>(() => TabularEncoder.Fit(t, "cost", null, [0])).ParamName);
        Assert.Equal("features", Assert.Throws<ArgumentException>(() => TabularEncoder.Fit(t, "price", ["size"], [0])).ParamName);
        Assert.Equal("features", Assert.Throws<ArgumentException>(() => TabularEncoder.Fit(t, "price", ["price"], [0])).ParamName);
        Assert.Equal("trainRows", Assert.Throws<ArgumentException>(() => TabularEncoder.Fit(t, "price", null, [])).ParamName);
        Assert.Equal("t.csv: column 'age' has no value in the training rows",
            Assert.Throws<InvalidDataException>(() => TabularEncoder.Fit(t, "price", ["age"], [1])).Message);
    }
}
