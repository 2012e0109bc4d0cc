using System.Buffers.Binary;
using System.Text;
using Descent.Nn;
using Descent.Tests.Logging;

namespace Descent.Tests.Saving;

/// <summary>The safetensors codec on its own: the byte layout, round trips, hostile headers, atomic replacement.</summary>
public sealed class SafetensorsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A file with the given header text and <paramref name="dataBytes"/> zero bytes of data.</summary>
    private string Crafted(string header, int dataBytes, ulong? headerLength = null)
    {
        var path = _dir.Sub(Guid.NewGuid().ToString("N") + ".safetensors");
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void LayoutIsTheReferenceOne()
    {
        var path = _dir.Sub("a.safetensors");
        Safetensors.Write(path, [new("w", Tensor.FromArray([1f, -2f, 0.5f], 3)), new("n", Tensor.Scalar(5f))], new Dictionary<string, string> { ["k"] = "v" },
            new HashSet<string> { "n" });
        var bytes = File.ReadAllBytes(path);
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        Assert.Equal(0, (8 + headerLength) % 8);
        var header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
        Assert.Equal("""{"__metadata__":{"k":"v"},"n":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[3],"data_offsets":[8,20]}}""",
            header.TrimEnd(' '));
        var data = bytes.AsSpan(8 + (int)headerLength);
        Assert.Equal(5L, BinaryPrimitives.ReadInt64LittleEndian(data));
        Assert.Equal(-2f, BinaryPrimitives.ReadSingleLittleEndian(data[12..]));
        Assert.Equal(20, data.Length);
    }

    [Fact]
    public void ModelRoundTripsWithItsArchitecture()
    {
        var spec = new ModelSpec { Kind = "mlp", InputShape = [2, 3], Hidden = [5], Outputs = 2, Activation = "tanh", BatchNorm = true, Dropout = 0.5 };
        var model = spec.Build();
        model.Forward(TestData.Random(1, 4, 2, 3)); // moves the running statistics
        var path = _dir.Sub("m.safetensors");
        ModelFile.Save(path, model, spec, new Dictionary<string, string> { ["classes"] = "[\"a\",\"b\"]" });
        var loaded = ModelFile.Load(path);
        Assert.Equal(spec.ToJson(), loaded.Spec.ToJson());
        Assert.Equal("[\"a\",\"b\"]", loaded.Metadata["classes"]);
        foreach (var (name, tensor) in model.StateDict())
            Assert.Equal(tensor.ToArray(), loaded.Model.StateDict()[name].ToArray());
        Assert.False(loaded.Model.Training);
    }

    [Theory]
    [InlineData("", 0, 4ul, "exceeds the 0 bytes")]
    [InlineData("{}", 0, 1000ul, "exceeds the 2 bytes")]
    [InlineData("[1,2]", 0, null, "not a JSON object")]
    [InlineData("{\"w\":", 0, null, "not valid JSON")]
    [InlineData("{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, null, "dtype F16")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, null, "does not fit")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,8]}}", 8, null, "does not fit")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, null, "bad shape")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4000000000]}}", 4, null, "outside the 4 bytes")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"v\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, null, "overlap")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, null, "cover 4 bytes but the file holds 8")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, null, "twice")]
    [InlineData("{\"__metadata__\":{\"k\":1}}", 0, null, "not a string")]
    [InlineData("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, null, "no dtype")]
    public void HostileHeadersRaiseOneMessageNamingTheFile(string header, int dataBytes, ulong? headerLength, string problem)
    {
        var path = Crafted(header, dataBytes, headerLength);
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.Read(path));
        Assert.StartsWith(path, e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void FileShorterThanTheLengthFieldIsRefused()
    {
        var path = _dir.Sub("short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("too short", Assert.Throws<InvalidDataException>(() => Safetensors.Read(path)).Message);
    }

    [Fact]
    public void FileThatDoesNotFitTheModelChangesNothing()
    {
        var model = new Sequential(new Linear(3, 2), new ReLU(), new Linear(2, 2));
        var before = model.StateDict();
        var path = _dir.Sub("other.safetensors");
        var other = new Sequential(new Linear(3, 2), new ReLU(), new Linear(2, 3));
        other.Save(path);
        var e = Assert.Throws<InvalidDataException>(() => model.Load(path));
        Assert.Contains("'2.weight' has shape [3, 2]", e.Message);
        foreach (var (name, tensor) in model.StateDict()) Assert.Equal(before[name].ToArray(), tensor.ToArray());
    }

    [Fact]
    public void ArchitectureLargerThanTheFileIsRefusedBeforeBuilding()
    {
        var path = _dir.Sub("lie.safetensors");
        var spec = new ModelSpec { Kind = "mlp", InputShape = [3], Hidden = [1_000_000_000], Outputs = 2 };
        new Sequential(new Linear(3, 2)).Save(path, new Dictionary<string, string> { [ModelSpec.MetadataKey] = spec.ToJson() });
        var e = Assert.Throws<InvalidDataException>(() => ModelFile.Load(path));
        Assert.Contains("holds 6000000002 values but the file holds 8", e.Message);
    }

    [Theory]
    [InlineData("{\"kind\":\"rnn\",\"input_shape\":[3],\"outputs\":2}", "model kind 'rnn' is unknown")]
    [InlineData("{\"kind\":\"cnn\",\"input_shape\":[3],\"outputs\":2}", "a cnn model needs input_shape")]
    [InlineData("{\"kind\":\"mlp\",\"input_shape\":[3],\"outputs\":0}", "outputs must be positive")]
    [InlineData("{\"kind\":\"mlp\",\"input_shape\":[3],\"outputs\":2,\"dropout\":1.5}", "dropout")]
    [InlineData("not json", "not valid JSON")]
    public void BadArchitecturesAreRefused(string json, string problem)
    {
        var e = Assert.Throws<InvalidDataException>(() => ModelSpec.FromJson(json));
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void FailedWriteLeavesThePreviousFileAndNoTemporary()
    {
        var path = _dir.Sub("keep.bin");
        File.WriteAllText(path, "previous");
        Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write("partial"u8);
            throw new IOException("disk full");
        }));
        Assert.Equal("previous", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_dir.Path));
    }
}
