using System.Text.Json;

namespace Descent.Tests.Cli;

/// <summary><c>descent summary</c>: the layers train would build, with shapes and parameter counts from their closed forms.</summary>
public class SummaryCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => Descent.Tests.Cli.CliRunner.Run(args);

    [Fact]
    public void The_digits_cnn_has_the_shapes_and_parameter_counts_of_its_layers()
    {
        var (code, output, err) = Run("summary", "--model", "cnn", "--json");
        Assert.True(code == 0, err);
        var json = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]).RootElement;
        var layers = json.GetProperty("layers").EnumerateArray().ToList();
        // conv 1→32 3×3: 32·9 + 32; conv 32→64 3×3: 64·32·9 + 64; linear 256→128: 256·128 + 128; linear 128→10: 128·10 + 10.
        long[] expected = [32 * 9 + 32, 0, 0, 64 * 32 * 9 + 64, 0, 0, 0, 256 * 128 + 128, 0, 128 * 10 + 10];
        Assert.Equal(expected, layers.Select(l => l.GetProperty("parameters").GetInt64()));
        Assert.Equal([-1, 64, 2, 2], layers[5].GetProperty("output_shape").EnumerateArray().Select(v => v.GetInt32()));
        Assert.Equal([-1, 10], layers[^1].GetProperty("output_shape").EnumerateArray().Select(v => v.GetInt32()));
        Assert.Equal(expected.Sum(), json.GetProperty("parameters").GetInt64());
        Assert.Equal(4 * expected.Sum(), json.GetProperty("bytes").GetInt64());
    }

    [Fact]
    public void A_table_sizes_the_model_from_its_encoded_columns_and_training_options_are_refused()
    {
        string csv = Path.GetTempFileName();
        try
        {
            File.WriteAllText(csv, "a,colour,y\n1,red,0.5\n2,blue,1.5\n3,green,2.5\n4,red,3.5\n5,blue,4.5\n6,green,5.5\n7,red,6.5\n8,blue,7.5\n9,green,8.5\n10,red,9.5\n");
            var (code, output, err) = Run("summary", "--data", csv, "--target", "y", "--hidden", "16", "--json");
            Assert.True(code == 0, err);
            var json = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]).RootElement;
            // a + three one-hot colours = 4 inputs: 4·16 + 16, then 16·1 + 1 for the one regression output.
            Assert.Equal(4 * 16 + 16 + 16 + 1, json.GetProperty("parameters").GetInt64());
            Assert.Equal(2, Run("summary", "--epochs", "3").Code);
            Assert.Contains("--batch-size does not apply", Run("summary", "--batch-size", "8").Err);
        }
        finally
        {
            File.Delete(csv);
        }
    }
}
