using System.Globalization;
using System.Text;

namespace Descent.TensorBoard;

/// <summary>
/// Tag rules. TensorBoard's readers accept any UTF-8 tag and PyTorch writes tags unchanged, so by default
/// a tag is kept as given; only tags no reader can use are refused: empty or blank ones, control
/// characters (they break TensorBoard's tag filter and the run/tag URLs), and text that is not valid
/// UTF-16 (it has no UTF-8 form). <see cref="Normalize"/> is TensorFlow's <c>clean_tag</c>, which
/// tensorboardX applies to every tag.
/// </summary>
public static class TensorBoardTags
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the problem when <paramref name="tag"/> cannot be written.</summary>
    public static void Validate(string tag, string parameterName = "tag")
    {
        ArgumentNullException.ThrowIfNull(tag, parameterName);
        if (string.IsNullOrWhiteSpace(tag))
            throw new ArgumentException($"a TensorBoard tag must not be empty or blank, got '{tag}'", parameterName);
        for (int i = 0; i < tag.Length; i++)
        {
            char c = tag[i];
            if (char.IsControl(c))
                throw new ArgumentException($"tag '{Escape(tag)}' holds the control character U+{(int)c:X4} at index {i}; TensorBoard cannot filter or link such tags", parameterName);
            if (char.IsSurrogate(c))
            {
                if (char.IsHighSurrogate(c) && i + 1 < tag.Length && char.IsLowSurrogate(tag[i + 1])) { i++; continue; }
                throw new ArgumentException($"tag '{Escape(tag)}' holds an unpaired UTF-16 surrogate at index {i}, which has no UTF-8 form", parameterName);
            }
        }
    }

    /// <summary>True when <see cref="Validate"/> would accept <paramref name="tag"/>.</summary>
    public static bool IsValid(string? tag)
    {
        if (tag is null) return false;
        try
        {
            Validate(tag);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// TensorFlow's <c>clean_tag</c>: every character other than a Unicode letter or digit, <c>_</c>,
    /// <c>-</c>, <c>/</c> and <c>.</c> becomes <c>_</c>, and leading slashes are removed
    /// (<c>"loss (train)"</c> → <c>"loss__train_"</c>).
    /// </summary>
    public static string Normalize(string tag)
    {
        ArgumentNullException.ThrowIfNull(tag);
        var cleaned = new StringBuilder(tag.Length);
        foreach (var rune in tag.EnumerateRunes())
            cleaned.Append(IsKept(rune) ? rune.ToString() : "_");
        return cleaned.ToString().TrimStart('/');
    }

    private static bool IsKept(Rune rune)
    {
        if (rune.Value is '-' or '/' or '.' or '_') return true;
        // Python's \w: letters and digits of every script (str.isalnum) and the underscore.
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter
            or UnicodeCategory.TitlecaseLetter or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
            or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;
    }

    private static string Escape(string tag)
    {
        var sb = new StringBuilder(tag.Length);
        foreach (char c in tag)
            sb.Append(char.IsControl(c) || char.IsSurrogate(c) ? $"\\u{(int)c:X4}" : c);
        return sb.ToString();
    }
}
