using System.Globalization;
using System.Text;

namespace Descent;

/// <summary>Text read from a file (a tensor name, a tag, a CSV cell), made safe to print in a one-line message or a terminal table.</summary>
public static class Printable
{
    /// <summary>
    /// <paramref name="text"/> with every control character, invisible format character (such as a right-to-left
    /// override) and line or paragraph separator written as an escape: <c>\n</c>, <c>\r</c>, <c>\t</c>, else <c>\uXXXX</c>.
    /// Other text, non-ASCII letters included, is kept as it is.
    /// </summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.Any(NeedsEscape)) return text;
        var escaped = new StringBuilder(text.Length + 8);
        foreach (char c in text)
            escaped.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when NeedsEscape(c) => $"\\u{(int)c:X4}",
                _ => c.ToString(),
            });
        return escaped.ToString();
    }

    private static bool NeedsEscape(char c) => char.GetUnicodeCategory(c) is UnicodeCategory.Control or UnicodeCategory.Format
        or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
}
