using System.Globalization;
using System.Text;
using CsvHelper;

namespace Descent.IO;

/// <summary>One column of a <see cref="CsvTable"/>: numbers, or text categories.</summary>
public abstract class TableColumn(string name)
{
    /// <summary>The header of the column.</summary>
    public string Name { get; } = name;

    /// <summary>Cells that were empty or a missing-value marker (<see cref="CsvTable.MissingMarkers"/>).</summary>
    public abstract int MissingCount { get; }

    /// <summary>True when the cell of record <paramref name="row"/> (0-based) was missing.</summary>
    public abstract bool IsMissing(int row);
}

/// <summary>A column whose every present cell is a number; a missing cell is NaN.</summary>
public sealed class NumericColumn : TableColumn
{
    internal NumericColumn(string name, List<double> values, int missing) : base(name)
    {
        ValuesList = values;
        MissingCount = missing;
    }

    internal List<double> ValuesList { get; }

    /// <summary>The values, row by row; NaN where the cell was missing.</summary>
    public ReadOnlySpan<double> Values => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ValuesList);

    /// <inheritdoc />
    public override int MissingCount { get; }

    /// <inheritdoc />
    public override bool IsMissing(int row) => double.IsNaN(ValuesList[row]);
}

/// <summary>A column of text: each distinct text is a category; a missing cell has code −1.</summary>
public sealed class CategoricalColumn : TableColumn
{
    internal CategoricalColumn(string name, List<int> codes, List<string> categories, int missing) : base(name)
    {
        CodesList = codes;
        Categories = categories;
        MissingCount = missing;
    }

    internal List<int> CodesList { get; }

    /// <summary>Each row's index into <see cref="Categories"/>, −1 where the cell was missing.</summary>
    public ReadOnlySpan<int> Codes => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(CodesList);

    /// <summary>The distinct texts in order of first appearance.</summary>
    public IReadOnlyList<string> Categories { get; }

    /// <inheritdoc />
    public override int MissingCount { get; }

    /// <inheritdoc />
    public override bool IsMissing(int row) => CodesList[row] < 0;
}

/// <summary>
/// A CSV file read into typed columns, like <c>pandas.read_csv</c> with its default type inference: a header
/// row, then one record per row (RFC 4180 quoting, parsed by CsvHelper). A column is numeric when its first
/// present cell is a number, and then every present cell must be one; otherwise it holds text categories.
/// </summary>
/// <remarks>
/// Rows are numbered as a spreadsheet shows them: the header is row 1, the first record row 2. Every error
/// names the file, and where it applies the row and the column, in one line.
/// </remarks>
public sealed class CsvTable
{
    /// <summary>Cell texts read as missing values (after trimming), as pandas' default <c>na_values</c> do.</summary>
    public static readonly IReadOnlySet<string> MissingMarkers =
        new HashSet<string>(StringComparer.Ordinal) { "", "NA", "N/A", "NaN", "nan", "null", "NULL", "?", "#N/A" };

    private CsvTable(string source, List<TableColumn> columns, int rows)
    {
        Source = source;
        Columns = columns;
        RowCount = rows;
    }

    /// <summary>The file the table came from.</summary>
    public string Source { get; }

    /// <summary>The columns in file order.</summary>
    public IReadOnlyList<TableColumn> Columns { get; }

    /// <summary>Records below the header.</summary>
    public int RowCount { get; }

    /// <summary>The column named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No such column; the message lists the columns.</exception>
    public TableColumn this[string name] => Find(name, nameof(name));

    /// <summary>The column named <paramref name="name"/>; an error names <paramref name="parameter"/>, the argument it came in.</summary>
    internal TableColumn Find(string name, string parameter) =>
        Columns.FirstOrDefault(c => c.Name == name)
        ?? throw new ArgumentException($"{Source}: no column '{name}'; the columns are {string.Join(", ", Columns.Select(c => c.Name))}", parameter);

    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// An empty file, no data rows, a repeated or empty header, a row with more or fewer cells than the header,
    /// broken quoting, or a text in a numeric column: the message names the file, row and column.
    /// </exception>
    public static CsvTable Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        // From the bytes: the parser works on UTF-8, so a stream spares it decoding to UTF-16 and back.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return Read(stream, path);
    }

    /// <summary>Reads UTF-8 CSV bytes from <paramref name="stream"/>; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">As for <see cref="Read(string)"/>.</exception>
    public static CsvTable Read(Stream stream, string source)
    {
        using var reader = CsvReader.Create(stream, Options, leaveOpen: true);
        return Read(reader, source);
    }

    /// <summary>Reads CSV text from <paramref name="text"/>; <paramref name="source"/> names it in errors.</summary>
    public static CsvTable Read(TextReader text, string source)
    {
        using var reader = CsvReader.Create(text, Options, leaveOpen: true);
        return Read(reader, source);
    }

    private static CsvReaderOptions Options => new()
        {
            HasHeader = true,
            Separator = ',',
            Mode = CsvMode.Rfc4180,
            AllowLineBreaksInQuotes = true,
            TrimWhitespace = true,
            MalformedData = CsvMalformedDataHandling.Throw,
            // Ragged rows are counted here, so that the message names the row.
            FieldCountMismatch = CsvFieldCountHandling.Allow,
            PoolStrings = true,
        };

    private static CsvTable Read(CsvReader reader, string source)
    {
        int row = 1;
        try
        {
            if (!reader.Read() && reader.Headers.Count == 0) throw Invalid($"{source}: the file is empty (a CSV file needs a header row)");
            var header = reader.Headers;
            for (int c = 0; c < header.Count; c++)
            {
                if (header[c].Length == 0) throw Invalid($"{source}: row 1, column {c + 1}: the header is empty");
                if (header.Take(c).Contains(header[c])) throw Invalid($"{source}: row 1: column '{header[c]}' appears twice in the header");
            }
            var builders = header.Select(name => new ColumnBuilder(name)).ToArray();
            if (reader.FieldCount == 0) throw Invalid($"{source}: the file has a header but no data rows");
            do
            {
                row++;
                if (reader.FieldCount != header.Count)
                    throw Invalid($"{source}: row {row} has {reader.FieldCount} cells but the header has {header.Count}");
                for (int c = 0; c < builders.Length; c++) builders[c].Add(reader, c, source, row);
            }
            while (reader.Read());
            return new CsvTable(source, builders.Select(b => b.Build()).ToList(), row - 1);
        }
        catch (CsvFormatException e)
        {
            throw Invalid($"{source}: row {row + 1}: the CSV is malformed ({OneLine(e.Message)})");
        }
    }

    private static InvalidDataException Invalid(string message) => new(Printable.Escape(message));

    private static string OneLine(string message) => string.Join(" ", message.Split(['\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static readonly byte[][] MissingMarkersUtf8 = MissingMarkers.Select(Encoding.UTF8.GetBytes).ToArray();

    private static bool IsMissing(ReadOnlySpan<byte> cell)
    {
        foreach (var marker in MissingMarkersUtf8)
            if (cell.SequenceEqual(marker)) return true;
        return false;
    }

    /// <summary>Collects one column's cells and decides its kind from its first present cell.</summary>
    private sealed class ColumnBuilder(string name)
    {
        private List<double>? _numbers;
        private List<int>? _codes;
        private Dictionary<string, int>? _categoryCodes;
        private List<string>? _categories;
        private int _missing, _rows, _firstNumberRow;

        public void Add(CsvReader reader, int index, string source, int row)
        {
            var cell = reader.GetSpan(index);
            cell = cell[System.Text.Ascii.Trim(cell)];
            bool missing = IsMissing(cell);
            if (_numbers is null && _codes is null && !missing)
            {
                // The first present cell decides; earlier missing cells become NaN or −1.
                if (double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                {
                    _numbers = new List<double>(Enumerable.Repeat(double.NaN, _rows));
                    _firstNumberRow = row;
                }
                else
                {
                    _codes = new List<int>(Enumerable.Repeat(-1, _rows));
                    _categoryCodes = new Dictionary<string, int>(StringComparer.Ordinal);
                    _categories = [];
                }
            }
            _rows++;
            if (missing) _missing++;
            if (_numbers is not null)
            {
                if (missing) _numbers.Add(double.NaN);
                else if (double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)) _numbers.Add(value);
                else throw Invalid($"{source}: row {row}, column '{name}': '{reader.GetString(index).Trim()}' is not a number (the column is numeric from row {_firstNumberRow} on)");
            }
            else if (_codes is not null)
            {
                if (missing)
                {
                    _codes.Add(-1);
                    return;
                }
                string text = reader.GetString(index).Trim();
                if (!_categoryCodes!.TryGetValue(text, out int code))
                {
                    code = _categories!.Count;
                    _categoryCodes[text] = code;
                    _categories.Add(text);
                }
                _codes.Add(code);
            }
        }

        public TableColumn Build() =>
            _codes is not null ? new CategoricalColumn(name, _codes, _categories!, _missing)
            // A column with no present cell at all is numeric and entirely missing.
            : new NumericColumn(name, _numbers ?? new List<double>(Enumerable.Repeat(double.NaN, _rows)), _missing);
    }
}
