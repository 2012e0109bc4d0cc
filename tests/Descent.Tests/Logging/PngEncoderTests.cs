using Descent.TensorBoard;

namespace Descent.Tests.Logging;

public class PngEncoderTests
{
    [Fact]
    public void Png_crc32_matches_the_check_value()
    {
        Assert.Equal(0xCBF43926u, PngDecoding.Crc32("123456789"u8));
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 5, 1)]
    [InlineData(3, 9, 2)]
    [InlineData(17, 4, 3)]
    [InlineData(5, 6, 4)]
    [InlineData(64, 48, 3)]
    [InlineData(128, 64, 3)]
    public void Encoded_pixels_decode_back_exactly(int width, int height, int channels)
    {
        var rng = new Random(width * 100 + height * 10 + channels);
        var pixels = new byte[width * height * channels];
        // Half noise, half smooth gradients, so that every filter type gets chosen somewhere.
        for (int i = 0; i < pixels.Length; i++) pixels[i] = i % 2 == 0 ? (byte)rng.Next(256) : (byte)(i * 3 / channels);
        var png = PngEncoder.Encode(pixels, width, height, channels);
        var decoded = PngDecoding.Decode(png);
        Assert.Equal(width, decoded.Width);
        Assert.Equal(height, decoded.Height);
        Assert.Equal(channels, decoded.Channels);
        Assert.Equal(pixels, decoded.Pixels);
        Assert.Equal(["IHDR", "IDAT", "IEND"], decoded.Chunks);
    }

    [Fact]
    public void Small_images_are_stored_and_larger_ones_compressed()
    {
        // The zlib header's second byte gives the level: 0x01 for stored blocks, 0xDA for the best compression.
        static byte ZlibFlags(byte[] png) => png[8 + 8 + 13 + 4 + 8 + 1];
        Assert.Equal(0x01, ZlibFlags(PngEncoder.Encode(new byte[32 * 64], 64, 32, 1)));
        Assert.NotEqual(0x01, ZlibFlags(PngEncoder.Encode(new byte[224 * 112], 224, 112, 1)));
    }

    [Fact]
    public void Stored_zlib_streams_inflate_with_zlib_across_block_boundaries()
    {
        Assert.Equal(0x11E60398u, PngEncoder.Adler32("Wikipedia"u8));
        var data = new byte[70_000 + 65_535];
        new Random(4).NextBytes(data);
        foreach (int length in new[] { 0, 1, 65_535, 65_536, data.Length })
        {
            using var inflated = new MemoryStream();
            using (var zlib = new System.IO.Compression.ZLibStream(new MemoryStream(PngEncoder.Stored(data.AsSpan(0, length))), System.IO.Compression.CompressionMode.Decompress))
                zlib.CopyTo(inflated);
            Assert.Equal(data.AsSpan(0, length).ToArray(), inflated.ToArray());
        }
    }

    [Fact]
    public void A_flat_image_compresses_well()
    {
        var pixels = new byte[256 * 256 * 3];
        Array.Fill(pixels, (byte)200);
        Assert.True(PngEncoder.Encode(pixels, 256, 256, 3).Length < 1000);
    }

    [Fact]
    public void Wrong_sizes_are_refused()
    {
        Assert.Throws<ArgumentException>(() => PngEncoder.Encode(new byte[11], 2, 2, 3));
        Assert.Throws<ArgumentException>(() => PngEncoder.Encode(new byte[10], 5, 1, 5));
        Assert.Throws<ArgumentException>(() => PngEncoder.Encode([], 0, 0, 3));
    }
}
