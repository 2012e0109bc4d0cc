namespace Descent.TensorBoard;

/// <summary>
/// PyTorch's image preparation for <c>add_image</c>/<c>add_images</c>: any order of the C, H, W (and N)
/// axes, float values scaled by 255 and clipped to [0, 255], grey repeated into RGB, and a batch tiled
/// into a grid of at most 8 columns without padding.
/// </summary>
internal static class ImageLayout
{
    /// <summary>Columns of an image grid, as PyTorch's <c>make_grid(ncols=8)</c>.</summary>
    public const int GridColumns = 8;

    /// <summary>One image from a tensor whose axes <paramref name="dataFormats"/> names (a permutation of CHW, or of HW).</summary>
    public static RasterImage FromTensor(string tag, Tensor image, string dataFormats)
    {
        ArgumentNullException.ThrowIfNull(image);
        string format = CheckFormat(tag, dataFormats, image.Shape, "CHW", "HW");
        var shape = image.Shape.ToArray();
        return Extract(image.Data, shape, format, batchIndex: 0);
    }

    /// <summary>A grid of the images of a batch whose axes <paramref name="dataFormats"/> names (a permutation of NCHW, or of NHW).</summary>
    public static RasterImage GridFromTensor(string tag, Tensor images, string dataFormats)
    {
        ArgumentNullException.ThrowIfNull(images);
        string format = CheckFormat(tag, dataFormats, images.Shape, "NCHW", "NHW");
        var shape = images.Shape.ToArray();
        int n = shape[format.IndexOf('N')];
        var tiles = new RasterImage[n];
        for (int i = 0; i < n; i++) tiles[i] = Extract(images.Data, shape, format, i);
        return Grid(tiles);
    }

    /// <summary>
    /// Tiles <paramref name="images"/> (all the same size) row by row, <see cref="GridColumns"/> per row,
    /// empty cells black; grey tiles become RGB, and the grid is RGBA when any tile is.
    /// </summary>
    public static RasterImage Grid(IReadOnlyList<RasterImage> images)
    {
        if (images.Count == 0) throw new ArgumentException("an image grid needs at least one image", nameof(images));
        int h = images[0].Height, w = images[0].Width;
        foreach (var img in images)
            if (img.Height != h || img.Width != w)
                throw new ArgumentException($"images of a grid must share one size, got {w}×{h} and {img.Width}×{img.Height}", nameof(images));
        int channels = 3;
        foreach (var img in images)
            if (img.Channels == 4) channels = 4;
        int cols = Math.Min(images.Count, GridColumns);
        int rows = (images.Count + cols - 1) / cols;
        int gridW = checked(w * cols), gridH = checked(h * rows);
        var pixels = new byte[checked(gridW * gridH * channels)];
        for (int i = 0; i < images.Count; i++)
        {
            var tile = images[i];
            int x0 = i % cols * w, y0 = i / cols * h;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    int src = (y * w + x) * tile.Channels;
                    int dst = ((y0 + y) * gridW + x0 + x) * channels;
                    for (int c = 0; c < 3; c++) pixels[dst + c] = tile.Pixels[src + (tile.Channels == 1 ? 0 : c)];
                    if (channels == 4) pixels[dst + 3] = tile.Channels == 4 ? tile.Pixels[src + 3] : (byte)255;
                }
        }
        return new RasterImage(gridW, gridH, channels, pixels);
    }

    /// <summary>PyTorch's conversion of a non-uint8 value: × 255, clipped to [0, 255], truncated; NaN becomes 0.</summary>
    public static byte ToByte(float value)
    {
        float scaled = value * 255f;
        return scaled >= 255f ? (byte)255 : scaled > 0f ? (byte)scaled : (byte)0;
    }

    private static string CheckFormat(string tag, string dataFormats, ReadOnlySpan<int> shape, string withChannels, string withoutChannels)
    {
        ArgumentNullException.ThrowIfNull(dataFormats);
        string format = dataFormats.ToUpperInvariant();
        bool known = IsPermutation(format, withChannels) || IsPermutation(format, withoutChannels);
        if (!known)
            throw new ArgumentException($"image '{tag}': dataFormats '{dataFormats}' must order the axes {withChannels} (e.g. '{withChannels}' or '{withChannels[..^3]}HWC') or {withoutChannels}", nameof(dataFormats));
        if (shape.Length != format.Length)
            throw new ArgumentException($"image '{tag}' has shape {ShapeUtil.Format(shape)} (rank {shape.Length}) but dataFormats '{dataFormats}' describes rank {format.Length}", nameof(dataFormats));
        foreach (int d in shape)
            if (d < 1) throw new ArgumentException($"image '{tag}' has shape {ShapeUtil.Format(shape)}; every axis needs at least one element");
        int c = format.IndexOf('C');
        if (c >= 0 && shape[c] is not (1 or 3 or 4))
        {
            string hint = format == "CHW" && shape[^1] is 1 or 3 or 4 ? "; the last axis looks like channels, so try dataFormats 'HWC'"
                : format == "NCHW" && shape[^1] is 1 or 3 or 4 ? "; the last axis looks like channels, so try dataFormats 'NHWC'" : "";
            throw new ArgumentException($"image '{tag}' of shape {ShapeUtil.Format(shape)} in {format} has {shape[c]} channels; TensorBoard images need 1 (grey), 3 (RGB) or 4 (RGBA){hint}");
        }
        return format;
    }

    private static bool IsPermutation(string format, string axes)
    {
        if (format.Length != axes.Length) return false;
        foreach (char axis in axes)
            if (format.IndexOf(axis) < 0 || format.IndexOf(axis) != format.LastIndexOf(axis)) return false;
        return true;
    }

    private static RasterImage Extract(ReadOnlySpan<float> data, int[] shape, string format, int batchIndex)
    {
        var strides = new int[shape.Length];
        int stride = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = stride;
            stride *= shape[i];
        }
        int axisN = format.IndexOf('N'), axisC = format.IndexOf('C'), axisH = format.IndexOf('H'), axisW = format.IndexOf('W');
        int height = shape[axisH], width = shape[axisW];
        int channels = axisC >= 0 ? shape[axisC] : 1;
        int strideC = axisC >= 0 ? strides[axisC] : 0;
        int origin = axisN >= 0 ? batchIndex * strides[axisN] : 0;
        var pixels = new byte[checked(height * width * channels)];
        int at = 0;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int pixel = origin + y * strides[axisH] + x * strides[axisW];
                for (int c = 0; c < channels; c++) pixels[at++] = ToByte(data[pixel + c * strideC]);
            }
        return new RasterImage(width, height, channels, pixels);
    }
}
