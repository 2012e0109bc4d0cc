using System.Text;
using System.Text.Json;

namespace Descent.Board;

/// <summary>
/// The board as one self-contained HTML file: the page with every API answer and every image and picture
/// embedded, for a CI artifact or a reader without a server. It shows the log directory as it was.
/// </summary>
public static class BoardExport
{
    /// <summary>The snapshot page of <paramref name="logDir"/>.</summary>
    public static string Html(BoardLogDir logDir)
    {
        ArgumentNullException.ThrowIfNull(logDir);
        var snapshot = logDir.Refresh();
        // Each answer under the name the page asks for it by; pictures and images as data: URLs under the
        // URL the page would load them from, so the page's code is the same with or without a server.
        var blobs = new Dictionary<string, string>(StringComparer.Ordinal);
        var images = snapshot.Images();
        foreach (var series in images)
            foreach (var item in series.Items)
                if (snapshot.Image(series.Run, series.Tag, item.Index) is { } image)
                    blobs[item.Url] = DataUrl(BoardApi.ImageType(image.Encoded), image.Encoded);
        var pictures = snapshot.Pictures;
        var urls = pictures.Pictures.Select(p => p.Url)
            .Concat(pictures.Playground.SelectMany(p => new[] { p.Contour, p.Loss, p.Animation }.OfType<string>()));
        foreach (var url in urls)
        {
            string path = url[..url.IndexOf('?')];
            var answer = BoardApi.Handle(logDir, "GET", "/" + path, TimeSpan.MaxValue);
            if (answer.Status != 200) continue;
            try
            {
                blobs[url] = DataUrl(answer.ContentType, answer.FilePath is { } file ? File.ReadAllBytes(file) : answer.Body);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Unreadable: the page shows the picture as missing, as the server would answer 404.
            }
        }
        var data = new Dictionary<string, object>
        {
            ["runs"] = snapshot.RunList(),
            ["scalars"] = snapshot.Scalars(),
            ["histograms"] = snapshot.Histograms(),
            ["images"] = images,
            ["texts"] = snapshot.Texts(),
            ["hparams"] = snapshot.HParams(),
            ["pictures"] = pictures,
            ["blobs"] = blobs,
            ["exported"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture),
        };
        // The default encoder writes '<' as \u003C, so no string in the data can close the script element.
        string json = JsonSerializer.Serialize(data, BoardApi.JsonOptions);
        const string Marker = "<!--SNAPSHOT-->";
        string page = BoardApi.Page();
        int at = page.IndexOf(Marker, StringComparison.Ordinal);
        if (at < 0) throw new InvalidOperationException("the board page has no place for a snapshot");
        return new StringBuilder(page.Length + json.Length + 64)
            .Append(page, 0, at).Append("<script>window.BOARD_SNAPSHOT = ").Append(json).Append(";</script>")
            .Append(page, at + Marker.Length, page.Length - at - Marker.Length).ToString();
    }

    private static string DataUrl(string contentType, byte[] bytes) =>
        $"data:{contentType.Split(';')[0]};base64,{Convert.ToBase64String(bytes)}";
}
