using System.Text.Json;

namespace Descent.Tests.Fixtures;

/// <summary>Reads the PyTorch golden files under tests/fixtures (copied next to the test assembly).</summary>
internal static class Fixture
{
    public static JsonElement Load(string file)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "fixtures", file);
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement;
    }

    public static float[] Floats(JsonElement array) => array.EnumerateArray().Select(v => v.GetSingle()).ToArray();

    public static int[] Ints(JsonElement array) => array.EnumerateArray().Select(v => v.GetInt32()).ToArray();

    public static Tensor Tensor(JsonElement t) => Descent.Tensor.FromArray(Floats(t.GetProperty("data")), Ints(t.GetProperty("shape")));

    public static void AssertClose(float[] expected, ReadOnlySpan<float> actual, double atol, double rtol, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: expected {expected.Length} values, got {actual.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(expected[i] - actual[i]);
            Assert.True(err <= atol + rtol * Math.Abs(expected[i]), $"{what}[{i}]: PyTorch {expected[i]:R}, Descent {actual[i]:R} (error {err:G3})");
        }
    }
}
