using Descent.Data;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Descent.IO;

/// <summary>What to do with a missing cell in a feature column.</summary>
public enum MissingValues
{
    /// <summary>
    /// Replace it by the column's mean over the training rows (a category column: no category), and add a
    /// 0/1 column <c>NAME_missing</c> for every column that has missing cells in the training rows, like
    /// scikit-learn's <c>SimpleImputer(add_indicator=True)</c>.
    /// </summary>
    Impute,
    /// <summary>Refuse the table, naming the first missing cell.</summary>
    Refuse,
}

/// <summary>
/// Turns a <see cref="CsvTable"/> into model inputs and targets, with everything it learns taken from the
/// training rows only (so that nothing of the validation or test rows leaks into training): numeric columns
/// are copied, text columns one-hot encoded (scikit-learn's <c>OneHotEncoder(handle_unknown='ignore')</c>: a
/// category first seen outside the training rows encodes as all zeros), missing cells handled as
/// <see cref="MissingValues"/> says. Standardizing the encoded features is left to the data pipeline
/// (<c>Descent.Data.Standardizer</c>, fitted on the same training rows).
/// </summary>
/// <remarks>
/// The task is inferred when not given: a text target, or a numeric target whose training values are all
/// integers with at most <c>maxClasses</c> distinct values, is classification; any other numeric target is
/// regression. <see cref="TaskReason"/> says which rule decided, so that a command can print it.
/// </remarks>
public sealed class TabularEncoder
{
    private readonly List<FeaturePart> _parts;
    private readonly Dictionary<string, int>? _classIndex;
    // Numeric class labels by value, so that a million integer targets are looked up without formatting each.
    private readonly Dictionary<double, int>? _classByValue;

    private TabularEncoder(string target, TaskKind task, string reason, List<FeaturePart> parts, IReadOnlyList<string> classNames)
    {
        TargetName = target;
        Task = task;
        TaskReason = reason;
        _parts = parts;
        ClassNames = classNames;
        FeatureNames = parts.SelectMany(p => p.Names).ToList();
        if (task == TaskKind.Classification)
        {
            _classIndex = classNames.Select((name, i) => (name, i)).ToDictionary(x => x.name, x => x.i, StringComparer.Ordinal);
            if (classNames.All(name => double.TryParse(name, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
                _classByValue = classNames.Select((name, i) => (value: double.Parse(name, CultureInfo.InvariantCulture), i)).ToDictionary(x => x.value, x => x.i);
        }
    }

    /// <summary>
    /// The fitted encoding as JSON (target, task, classes, and per feature column its kind, imputation mean or
    /// categories, flag and missing-value rule), e.g. for a saved model's metadata; <see cref="FromJson"/> reads it back.
    /// </summary>
    public JsonObject ToJson() => new()
    {
        ["target"] = TargetName,
        ["task"] = Task == TaskKind.Classification ? "classification" : "regression",
        ["task_reason"] = TaskReason,
        ["classes"] = new JsonArray([.. ClassNames.Select(c => (JsonNode?)c)]),
        ["features"] = new JsonArray([.. _parts.Select(p => (JsonNode?)p.ToJson())]),
    };

    /// <summary>Reads an encoding written by <see cref="ToJson"/>.</summary>
    /// <exception cref="InvalidDataException">The JSON is not such an encoding.</exception>
    public static TabularEncoder FromJson(JsonObject json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            var task = (string?)json["task"] switch
            {
                "classification" => TaskKind.Classification,
                "regression" => TaskKind.Regression,
                var t => throw new InvalidDataException($"unknown task '{t}' in the encoding"),
            };
            var classes = json["classes"]!.AsArray().Select(c => (string)c!).ToList();
            var parts = json["features"]!.AsArray().Select(p => FeaturePart.FromJson(p!.AsObject())).ToList();
            return new TabularEncoder((string)json["target"]!, task, (string?)json["task_reason"] ?? "", parts, classes);
        }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"the table encoding is malformed ({e.Message})", e);
        }
    }

    /// <summary>The name of the target column.</summary>
    public string TargetName { get; }

    /// <summary>The names of the table columns the features come from, in order.</summary>
    public IReadOnlyList<string> SourceColumns => _parts.Select(p => p.Column).ToList();

    /// <summary>Classification or regression.</summary>
    public TaskKind Task { get; }

    /// <summary>Why <see cref="Task"/> was chosen, in words (e.g. "the target holds 3 distinct integers").</summary>
    public string TaskReason { get; }

    /// <summary>The encoded feature columns in order: <c>age</c>, <c>age_missing</c>, <c>color=red</c>, …</summary>
    public IReadOnlyList<string> FeatureNames { get; }

    /// <summary>The number of encoded features, the model's input width.</summary>
    public int Width => FeatureNames.Count;

    /// <summary>The classes in index order (sorted: numerically for integers, ordinally for texts); empty for regression.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Learns the encoding of <paramref name="table"/> from the rows <paramref name="trainRows"/> (0-based record indices).</summary>
    /// <param name="table">The table.</param>
    /// <param name="target">The column to predict.</param>
    /// <param name="features">The columns to predict it from; null for every other column.</param>
    /// <param name="trainRows">The training rows: every statistic (means, categories, classes) comes from these.</param>
    /// <param name="task">The task; null infers it.</param>
    /// <param name="missing">How missing feature cells are handled.</param>
    /// <param name="maxClasses">The most distinct integer targets that are still read as classes when the task is inferred.</param>
    /// <exception cref="ArgumentException">An unknown column, the target among the features, or an empty set of rows.</exception>
    /// <exception cref="InvalidDataException">A missing target, a refused missing feature, a text target for regression, or a column without a value in the training rows; the message names file, row and column.</exception>
    /// <param name="classes">The classes in index order (e.g. those of <see cref="ForTarget"/> over every row, so that a class rare enough to fall wholly outside the training rows keeps its index); null takes the training rows' classes.</param>
    public static TabularEncoder Fit(CsvTable table, string target, IReadOnlyList<string>? features, ReadOnlySpan<int> trainRows,
        TaskKind? task = null, MissingValues missing = MissingValues.Impute, int maxClasses = 20, IReadOnlyList<string>? classes = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (trainRows.IsEmpty) throw new ArgumentException("there are no training rows to fit the encoding on", nameof(trainRows));
        var targetColumn = table.Find(target, nameof(target));
        var featureColumns = features is null
            ? table.Columns.Where(c => c != targetColumn).ToList()
            : features.Select(name => table.Find(name, nameof(features))).ToList();
        if (featureColumns.Contains(targetColumn)) throw new ArgumentException($"the target column '{target}' cannot also be a feature", nameof(features));
        if (featureColumns.Count == 0) throw new ArgumentException($"{table.Source}: there is no column to predict '{target}' from", nameof(features));
        foreach (int row in trainRows) RequireTarget(table, targetColumn, row);

        var (kind, reason, classNames) = DecideTask(table, targetColumn, trainRows, task, maxClasses);
        if (kind == TaskKind.Classification && classes is not null) classNames = classes;
        var parts = new List<FeaturePart>(featureColumns.Count);
        foreach (var column in featureColumns) parts.Add(FeaturePart.Fit(table, column, trainRows, missing));
        return new TabularEncoder(targetColumn.Name, kind, reason, parts, classNames);
    }

    /// <summary>
    /// An encoding of the target alone (no feature columns, <see cref="Width"/> 0): the task and classes of
    /// <paramref name="target"/> over <paramref name="rows"/>, e.g. to stratify a split before the features are fitted
    /// on its training part.
    /// </summary>
    public static TabularEncoder ForTarget(CsvTable table, string target, ReadOnlySpan<int> rows, TaskKind? task = null, int maxClasses = 20)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (rows.IsEmpty) throw new ArgumentException("there are no rows to read the target from", nameof(rows));
        var targetColumn = table.Find(target, nameof(target));
        foreach (int row in rows) RequireTarget(table, targetColumn, row);
        var (kind, reason, classNames) = DecideTask(table, targetColumn, rows, task, maxClasses);
        return new TabularEncoder(targetColumn.Name, kind, reason, [], classNames);
    }

    /// <summary>
    /// The encoded features of <paramref name="rows"/>, row-major [rows, <see cref="Width"/>]. The table may be
    /// another file than the one the encoding was fitted on (a test file, new data to predict): its columns are
    /// found by name, in any order, and extra columns (the target among them) are ignored.
    /// </summary>
    /// <exception cref="InvalidDataException">A feature column is absent, holds text where numbers were fitted, or (when refused) a cell is missing.</exception>
    public float[] Features(CsvTable table, ReadOnlySpan<int> rows)
    {
        ArgumentNullException.ThrowIfNull(table);
        var x = new float[checked(rows.Length * Width)];
        int offset = 0;
        // Column by column: each part reads its column once, in a tight loop over the rows.
        foreach (var part in _parts)
        {
            part.Encode(table, rows, x, Width, offset);
            offset += part.Names.Count;
        }
        return x;
    }

    /// <summary>The class index of each of <paramref name="rows"/> (classification).</summary>
    /// <exception cref="InvalidDataException">A missing target, or a class that the training rows do not have.</exception>
    public int[] Classes(CsvTable table, ReadOnlySpan<int> rows)
    {
        if (_classIndex is null) throw new InvalidOperationException("the task is regression: read the targets with Targets");
        var target = TargetColumn(table);
        var classes = new int[rows.Length];
        if (target is NumericColumn numeric && _classByValue is { } byValue)
        {
            var values = numeric.Values;
            for (int i = 0; i < rows.Length; i++)
            {
                RequireTarget(table, target, rows[i]);
                if (!byValue.TryGetValue(values[rows[i]], out classes[i]))
                    throw new InvalidDataException($"{table.Source}: row {rows[i] + 2}, column '{target.Name}': class '{ClassName(target, rows[i])}' does not occur in the training rows");
            }
            return classes;
        }
        for (int i = 0; i < rows.Length; i++)
        {
            RequireTarget(table, target, rows[i]);
            string name = ClassName(target, rows[i]);
            classes[i] = _classIndex.TryGetValue(name, out int index) ? index
                : throw new InvalidDataException($"{table.Source}: row {rows[i] + 2}, column '{target.Name}': class '{name}' does not occur in the training rows");
        }
        return classes;
    }

    /// <summary>The target value of each of <paramref name="rows"/> (regression).</summary>
    /// <exception cref="InvalidDataException">A missing target.</exception>
    public float[] Targets(CsvTable table, ReadOnlySpan<int> rows)
    {
        if (Task != TaskKind.Regression) throw new InvalidOperationException("the task is classification: read the targets with Classes");
        if (TargetColumn(table) is not NumericColumn numeric)
            throw new InvalidDataException($"{table.Source}: column '{TargetName}' holds text, but the regression target must be numbers");
        var y = new float[rows.Length];
        var values = numeric.Values;
        for (int i = 0; i < rows.Length; i++)
        {
            RequireTarget(table, numeric, rows[i]);
            y[i] = (float)values[rows[i]];
        }
        return y;
    }

    /// <summary>Whether <paramref name="table"/> has the target column (a file to predict on need not).</summary>
    public bool HasTarget(CsvTable table) => table.Columns.Any(c => c.Name == TargetName);

    private TableColumn TargetColumn(CsvTable table) =>
        table.Columns.FirstOrDefault(c => c.Name == TargetName)
        ?? throw new InvalidDataException($"{table.Source}: no target column '{TargetName}'");

    private static void RequireTarget(CsvTable table, TableColumn target, int row)
    {
        if (target.IsMissing(row)) throw new InvalidDataException($"{table.Source}: row {row + 2}, column '{target.Name}': the target is missing");
    }

    private static string ClassName(TableColumn target, int row) => target switch
    {
        CategoricalColumn c => c.Categories[c.Codes[row]],
        NumericColumn n => n.Values[row].ToString("R", CultureInfo.InvariantCulture),
        _ => throw new InvalidOperationException(),
    };

    private static (TaskKind, string, IReadOnlyList<string>) DecideTask(CsvTable table, TableColumn target, ReadOnlySpan<int> rows, TaskKind? task, int maxClasses)
    {
        if (target is CategoricalColumn text)
        {
            if (task == TaskKind.Regression)
                throw new InvalidDataException($"{table.Source}: column '{target.Name}' holds text, so it cannot be a regression target");
            var names = new SortedSet<string>(StringComparer.Ordinal);
            foreach (int row in rows) names.Add(text.Categories[text.Codes[row]]);
            return (TaskKind.Classification, $"the target '{target.Name}' holds text ({names.Count} classes)", names.ToList());
        }
        var numeric = (NumericColumn)target;
        if (task == TaskKind.Regression) return (TaskKind.Regression, "given", []);
        // Inferring needs only to know whether there are more than maxClasses values; a given task needs them all.
        int keep = task == TaskKind.Classification ? int.MaxValue : maxClasses + 1;
        var distinct = new SortedSet<double>();
        bool integers = true;
        var values = numeric.Values;
        foreach (int row in rows)
        {
            double v = values[row];
            integers &= v == Math.Floor(v);
            if (distinct.Count < keep) distinct.Add(v);
        }
        var classNames = distinct.Select(v => v.ToString("R", CultureInfo.InvariantCulture)).ToList();
        if (task == TaskKind.Classification)
        {
            if (!integers) throw new InvalidDataException($"{table.Source}: column '{target.Name}' holds non-integer numbers, so it cannot be a classification target");
            return (TaskKind.Classification, "given", classNames);
        }
        if (integers && distinct.Count <= maxClasses)
            return (TaskKind.Classification, $"the target '{target.Name}' holds {distinct.Count} distinct integers (at most {maxClasses} are read as classes)", classNames);
        return (TaskKind.Regression, integers
            ? $"the target '{target.Name}' holds more than {maxClasses} distinct integers"
            : $"the target '{target.Name}' holds real numbers", []);
    }

    /// <summary>
    /// The encoded columns that one table column becomes, with what was fitted on the training rows; it binds to
    /// any table that has a column of its name.
    /// </summary>
    private abstract class FeaturePart(string column)
    {
        public string Column { get; } = column;

        public List<string> Names { get; } = [];

        /// <summary>
        /// Encodes <paramref name="table"/>'s column of this name for <paramref name="rows"/> into columns
        /// [<paramref name="offset"/>, offset + Names.Count) of the row-major features <paramref name="x"/> of <paramref name="width"/> columns.
        /// </summary>
        public abstract void Encode(CsvTable table, ReadOnlySpan<int> rows, float[] x, int width, int offset);

        public static FeaturePart Fit(CsvTable table, TableColumn column, ReadOnlySpan<int> rows, MissingValues missing)
        {
            int missingInTraining = 0;
            foreach (int row in rows)
                if (column.IsMissing(row))
                {
                    if (missing == MissingValues.Refuse) RefuseMissing(table, column, row);
                    missingInTraining++;
                }
            return column switch
            {
                NumericColumn n => new NumericPart(table, n, rows, missing, missingInTraining > 0),
                CategoricalColumn c => new OneHotPart(c, rows, missing, missingInTraining > 0),
                _ => throw new InvalidOperationException(),
            };
        }

        public abstract JsonObject ToJson();

        public static FeaturePart FromJson(JsonObject json) => (string?)json["kind"] switch
        {
            "numeric" => new NumericPart(json),
            "one_hot" => new OneHotPart(json),
            var kind => throw new InvalidDataException($"unknown feature kind '{kind}' in the encoding"),
        };

        protected TableColumn Find(CsvTable table) =>
            table.Columns.FirstOrDefault(c => c.Name == Column)
            ?? throw new InvalidDataException($"{table.Source}: no column '{Column}' (the model reads it as a feature)");

        protected static void RefuseMissing(CsvTable table, TableColumn column, int row) =>
            throw new InvalidDataException($"{table.Source}: row {row + 2}, column '{column.Name}': the value is missing (missing values are refused)");
    }

    private sealed class NumericPart : FeaturePart
    {
        private readonly double _mean;
        private readonly bool _flag, _refuse;

        public NumericPart(CsvTable table, NumericColumn column, ReadOnlySpan<int> rows, MissingValues missing, bool flag) : base(column.Name)
        {
            _flag = flag;
            _refuse = missing == MissingValues.Refuse;
            double sum = 0;
            int count = 0;
            var values = column.Values;
            foreach (int row in rows)
                if (!double.IsNaN(values[row]))
                {
                    sum += values[row];
                    count++;
                }
            if (count == 0) throw new InvalidDataException($"{table.Source}: column '{column.Name}' has no value in the training rows");
            _mean = sum / count;
            Names.Add(column.Name);
            if (flag) Names.Add(column.Name + "_missing");
        }

        public NumericPart(JsonObject json) : base((string)json["column"]!)
        {
            _mean = (double)json["mean"]!;
            _flag = (bool)json["missing_flag"]!;
            _refuse = (bool)json["refuse_missing"]!;
            Names.Add(Column);
            if (_flag) Names.Add(Column + "_missing");
        }

        public override JsonObject ToJson() => new()
        {
            ["kind"] = "numeric", ["column"] = Column, ["mean"] = _mean, ["missing_flag"] = _flag, ["refuse_missing"] = _refuse,
        };

        public override void Encode(CsvTable table, ReadOnlySpan<int> rows, float[] x, int width, int offset)
        {
            if (Find(table) is not NumericColumn column)
                throw new InvalidDataException($"{table.Source}: column '{Column}' holds text, but the model was trained on numbers there");
            var values = column.Values;
            for (int i = 0; i < rows.Length; i++)
            {
                double v = values[rows[i]];
                bool missing = double.IsNaN(v);
                if (missing && _refuse) RefuseMissing(table, column, rows[i]);
                int at = i * width + offset;
                x[at] = (float)(missing ? _mean : v);
                if (_flag) x[at + 1] = missing ? 1f : 0f;
            }
        }
    }

    private sealed class OneHotPart : FeaturePart
    {
        // Category → one-hot position; a category the training rows do not have encodes as all zeros.
        private readonly Dictionary<string, int> _position = new(StringComparer.Ordinal);
        private readonly bool _flag, _refuse;

        public OneHotPart(CategoricalColumn column, ReadOnlySpan<int> rows, MissingValues missing, bool flag) : base(column.Name)
        {
            _flag = flag;
            _refuse = missing == MissingValues.Refuse;
            foreach (int row in rows)
            {
                int code = column.Codes[row];
                if (code >= 0) _position.TryAdd(column.Categories[code], _position.Count);
            }
            Names.AddRange(_position.Keys.Select(category => $"{column.Name}={category}"));
            if (flag) Names.Add(column.Name + "_missing");
        }

        public OneHotPart(JsonObject json) : base((string)json["column"]!)
        {
            foreach (var category in json["categories"]!.AsArray()) _position.Add((string)category!, _position.Count);
            _flag = (bool)json["missing_flag"]!;
            _refuse = (bool)json["refuse_missing"]!;
            Names.AddRange(_position.Keys.Select(category => $"{Column}={category}"));
            if (_flag) Names.Add(Column + "_missing");
        }

        public override JsonObject ToJson() => new()
        {
            ["kind"] = "one_hot", ["column"] = Column,
            ["categories"] = new JsonArray([.. _position.Keys.Select(c => (JsonNode?)c)]),
            ["missing_flag"] = _flag, ["refuse_missing"] = _refuse,
        };

        public override void Encode(CsvTable table, ReadOnlySpan<int> rows, float[] x, int width, int offset)
        {
            var column = Find(table);
            // This table's category codes → one-hot positions (−1: unseen in training; −2: missing). A column of
            // another file that happens to hold only numbers is read as the texts of those numbers.
            var categorical = column as CategoricalColumn;
            var byCode = categorical?.Categories.Select(Position).ToArray();
            for (int i = 0; i < rows.Length; i++)
            {
                int row = rows[i];
                int position = categorical is not null
                    ? (categorical.Codes[row] is var code && code < 0 ? -2 : byCode![code])
                    : ((NumericColumn)column).Values[row] is var v && double.IsNaN(v) ? -2 : Position(v.ToString("R", CultureInfo.InvariantCulture));
                int at = i * width + offset;
                if (position == -2)
                {
                    if (_refuse) RefuseMissing(table, column, row);
                    if (_flag) x[at + Names.Count - 1] = 1f;
                }
                else if (position >= 0) x[at + position] = 1f;
            }
        }

        private int Position(string category) => _position.TryGetValue(category, out int p) ? p : -1;
    }
}
