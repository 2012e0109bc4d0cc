using Descent.IO;

namespace Descent.Tests.IO;

public class CsvTableTests
{
    private static CsvTable Read(string csv) => CsvTable.Read(new StringReader(csv), "t.csv");

    private static string Error(string csv) => Assert.Throws<InvalidDataException>(() => Read(csv)).Message;

    [Fact]
    public void Columns_are_numeric_or_categorical_by_their_first_present_cell()
    {
        var t = Read("age,color,score\n34,red,1.5\n,blue,-2e3\n20,NA,\n");
        Assert.Equal(3, t.RowCount);
        Assert.Equal(["age", "color", "score"], t.Columns.Select(c => c.Name));
        var age = Assert.IsType<NumericColumn>(t["age"]);
        Assert.Equal(34, age.Values[0]);
        Assert.True(double.IsNaN(age.Values[1]));
        Assert.Equal(20, age.Values[2]);
        Assert.Equal(1, age.MissingCount);
        var color = Assert.IsType<CategoricalColumn>(t["color"]);
        Assert.Equal(["red", "blue"], color.Categories);
        Assert.Equal([0, 1, -1], color.Codes.ToArray());
        var score = Assert.IsType<NumericColumn>(t["score"]);
        Assert.Equal([1.5, -2000], score.Values[..2].ToArray());
        Assert.True(double.IsNaN(score.Values[2]));
    }

    [Fact]
    public void Rfc_4180_quoting_holds_separators_quotes_and_line_breaks()
    {
        var t = Read("name,note,x\n\"Smith, J\",\"said \"\"hi\"\"\",1\n\"two\nlines\",plain,2\n");
        var name = Assert.IsType<CategoricalColumn>(t["name"]);
        Assert.Equal(["Smith, J", "two\nlines"], name.Categories);
        Assert.Equal(["said \"hi\"", "plain"], Assert.IsType<CategoricalColumn>(t["note"]).Categories);
        Assert.Equal([1.0, 2.0], Assert.IsType<NumericColumn>(t["x"]).Values.ToArray());
    }

    [Fact]
    public void A_column_that_starts_with_text_keeps_numbers_as_categories()
    {
        var t = Read("size\nsmall\n3\nsmall\n");
        Assert.Equal(["small", "3"], Assert.IsType<CategoricalColumn>(t["size"]).Categories);
    }

    [Fact]
    public void Missing_markers_and_an_empty_column()
    {
        var t = Read("a,b\n?,\nnull,\nN/A,\n");
        Assert.Equal(3, t["a"].MissingCount);
        var b = Assert.IsType<NumericColumn>(t["b"]);
        Assert.All(b.Values.ToArray(), v => Assert.True(double.IsNaN(v)));
    }

    [Fact]
    public void Bad_tables_get_one_line_naming_file_row_and_column()
    {
        Assert.Equal("t.csv: the file is empty (a CSV file needs a header row)", Error(""));
        Assert.Equal("t.csv: the file has a header but no data rows", Error("a,b\n"));
        Assert.Equal("t.csv: row 3 has 3 cells but the header has 2", Error("a,b\n1,2\n3,4,5\n"));
        Assert.Equal("t.csv: row 2 has 1 cells but the header has 2", Error("a,b\n1\n"));
        Assert.Equal("t.csv: row 4, column 'b': 'x7' is not a number (the column is numeric from row 2 on)", Error("a,b\n1,2\n3,\n5,x7\n"));
        Assert.Equal("t.csv: row 1: column 'a' appears twice in the header", Error("a,b,a\n1,2,3\n"));
        Assert.Equal("t.csv: row 1, column 2: the header is empty", Error("a,,c\n1,2,3\n"));
        Assert.StartsWith("t.csv: row 3: the CSV is malformed", Error("a,b\n1,2\n\"open,3\n"));
        Assert.DoesNotContain('\n', Error("a,b\n1,2\n\"open,3\n"));
    }

    [Fact]
    public void Unknown_column_names_the_columns_there_are()
    {
        var t = Read("a,b\n1,2\n");
        Assert.Equal("t.csv: no column 'price'; the columns are a, b (Parameter 'name')", Assert.Throws<ArgumentException>(() => t["price"]).Message);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        Assert.Contains("/nonexistent/x.csv", Assert.Throws<FileNotFoundException>(() => CsvTable.Read("/nonexistent/x.csv")).Message);
    }
}
