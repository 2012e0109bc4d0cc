namespace Descent.TensorBoard;

/// <summary>
/// An 8-bit image in row-major HWC order: <see cref="Height"/> rows of <see cref="Width"/> pixels of
/// <see cref="Channels"/> bytes (1 grey, 3 RGB, 4 RGBA) — a numpy <c>uint8</c> array of shape (H, W, C).
/// </summary>
public sealed class RasterImage
{
    /// <summary>Wraps <paramref name="pixels"/> (not copied); its length must be height × width × channels.</summary>
    public RasterImage(int width, int height, int channels, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (width < 1 || height < 1) throw new ArgumentException($"an image needs at least one pixel, got width {width} and height {height}");
        if (channels is not (1 or 3 or 4))
            throw new ArgumentException($"an image has 1 (grey), 3 (RGB) or 4 (RGBA) channels, got {channels}", nameof(channels));
        if ((long)width * height * channels != pixels.Length)
            throw new ArgumentException($"a {width}×{height} image with {channels} channels needs {(long)width * height * channels} bytes, got {pixels.Length}", nameof(pixels));
        Width = width;
        Height = height;
        Channels = channels;
        Pixels = pixels;
    }

    /// <summary>Pixels per row.</summary>
    public int Width { get; }

    /// <summary>Rows.</summary>
    public int Height { get; }

    /// <summary>Bytes per pixel: 1, 3 or 4.</summary>
    public int Channels { get; }

    /// <summary>The pixels, row after row.</summary>
    public byte[] Pixels { get; }

    /// <summary>A white RGB image.</summary>
    public static RasterImage White(int width, int height)
    {
        var pixels = new byte[checked(width * height * 3)];
        Array.Fill(pixels, (byte)255);
        return new RasterImage(width, height, 3, pixels);
    }

    /// <summary>This image with grey repeated into RGB (PyTorch writes grey images as RGB); others unchanged.</summary>
    public RasterImage ToColor()
    {
        if (Channels != 1) return this;
        var rgb = new byte[Pixels.Length * 3];
        for (int i = 0; i < Pixels.Length; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = Pixels[i];
        return new RasterImage(Width, Height, 3, rgb);
    }

    /// <summary>This image as a PNG file.</summary>
    public byte[] ToPng() => PngEncoder.Encode(Pixels, Width, Height, Channels);
}

/// <summary>Something that can draw itself as a <see cref="RasterImage"/>, for <see cref="SummaryWriter.AddFigure(string, IRasterFigure, long, double?)"/>.</summary>
public interface IRasterFigure
{
    /// <summary>Draws the figure.</summary>
    RasterImage Render();
}
