using System.Globalization;
using System.Text;
using CsCheck;
using Descent.IO;
using Xunit.Abstractions;

namespace Descent.Tests.Fuzzing;

/// <summary>
/// CSV tables: generated well-formed tables (RFC 4180 quoting of separators, quotes and line breaks; missing markers;
/// numeric and text columns) read back to the cells they were written from, and mutants of well-formed files load or
/// raise <see cref="InvalidDataException"/>.
/// </summary>
public sealed class CsvFuzzTests(ITestOutputHelper output)
{
    /// <summary>A CSV file, and for a well-formed one its columns: numbers (NaN where missing) or texts (null where missing).</summary>
    public sealed record Case(byte[] Bytes, List<object?[]>? Columns);

    private static readonly string[] Missing = ["", "NA", "?", "null", "NaN"];

    /// <summary>Texts that are neither numbers nor missing markers, with the characters that need quoting.</summary>
    private static readonly Gen<string> Text =
        Gen.OneOf("x", "red", "a,b", "say \"hi\"", "two\nlines", "cr\r\nlf", "é ü", "x y", "z'", "日本", "#")
            .Array[1, 2].Select(parts => "t" + string.Concat(parts));

    private static readonly Gen<double> Number = Gen.OneOf(Gen.Int[-1000, 1000].Select(i => (double)i), Gen.Double[-1e6, 1e6]);

    /// <summary>One column: numbers or texts, each cell possibly missing; the first cell is present so that it decides the kind.</summary>
    private static Gen<object?[]> Column(int rows) =>
        Gen.Bool.SelectMany(numeric => (numeric ? Number.Select(n => (object?)n) : Text.Select(t => (object?)t))
            .Array[rows]
            .SelectMany(cells => Gen.Int[0, 3].Array[rows].Select(missing =>
                cells.Select((c, i) => i > 0 && missing[i] == 0 ? null : c).ToArray())));

    private static readonly Gen<Case> WellFormed =
        from rows in Gen.Int[1, 5]
        from columns in Gen.Int[1, 4].SelectMany(n => Column(rows).List[n])
        from missingText in Gen.OneOf(Missing)
        // With one column an empty missing cell is a blank line, which CSV readers (pandas too) skip.
        let missing = columns.Count == 1 && missingText == "" ? "NA" : missingText
        select new Case(Encoding.UTF8.GetBytes(Write(columns, missing)), columns);

    private static string Write(List<object?[]> columns, string missing)
    {
        static string Quote(string s) => s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
        var text = new StringBuilder(string.Join(",", columns.Select((_, c) => $"col{c}")) + "\n");
        for (int r = 0; r < columns[0].Length; r++)
            text.Append(string.Join(",", columns.Select(col => col[r] switch
            {
                null => missing,
                double d => d.ToString("R", CultureInfo.InvariantCulture),
                var s => Quote((string)s),
            }))).Append(r % 2 == 0 ? "\n" : "\r\n");
        return text.ToString();
    }

    private static bool Parse(Case c)
    {
        var table = CsvTable.Read(new MemoryStream(c.Bytes), Fuzz.Source);
        if (c.Columns is { } expected)
        {
            Assert.Equal(expected.Count, table.Columns.Count);
            Assert.Equal(expected[0].Length, table.RowCount);
            for (int i = 0; i < expected.Count; i++)
            {
                if (expected[i][0] is double)
                {
                    var column = Assert.IsType<NumericColumn>(table.Columns[i]);
                    Assert.Equal(expected[i].Select(v => v is double d ? d : double.NaN), column.Values.ToArray());
                }
                else
                {
                    var column = Assert.IsType<CategoricalColumn>(table.Columns[i]);
                    Assert.Equal(expected[i].Select(v => (string?)v), column.Codes.ToArray().Select(k => k < 0 ? null : column.Categories[k]));
                }
            }
        }
        return true;
    }

    [Fact]
    public void TablesLoadOrRaiseInvalidData()
    {
        var seeds = new[]
        {
            "age,color,score\n34,red,1.5\n,blue,-2e3\n20,NA,\n",
            "name,note,x\n\"Smith, J\",\"said \"\"hi\"\"\",1\n\"two\nlines\",plain,2\n",
            "a\n1\n",
            "h1,h2\r\n\"\",x\r\n3,\"y\"\r\n",
        }.Select(Encoding.UTF8.GetBytes).ToArray();
        var mutants = Mutator.Of(seeds).Select(b => new Case(b, null));
        Fuzz.Run(output, "CSV", Gen.OneOf(WellFormed, mutants, mutants), Parse, c => Fuzz.Hex(c.Bytes));
    }
}
