using System.Buffers.Binary;
using CsCheck;
using Descent.TensorBoard;
using Descent.TensorBoard.Proto;
using Descent.Tests.Logging;
using Google.Protobuf;
using Xunit.Abstractions;

namespace Descent.Tests.Fuzzing;

/// <summary>
/// Event files: generated files of scalars read back to their values; mutants of a file holding every kind of summary
/// (scalars in both forms, histograms, images, text, hparams) load or raise <see cref="InvalidDataException"/>, whether
/// the bytes are mutated as they lie (the checksums then catch most) or one record's payload is mutated and framed again
/// with valid checksums (which reaches the protobuf and summary decoding).
/// </summary>
public sealed class EventFileFuzzTests(ITestOutputHelper output)
{
    public sealed record Case(byte[] Bytes, (string Tag, long Step, float Value)[]? Scalars);

    private static byte[] Frame(IEnumerable<byte[]> payloads) => [.. payloads.SelectMany(p => TfRecord.Frame(p))];

    private static readonly byte[] Version = new Event { WallTime = 1700000000, FileVersion = "brain.Event:2" }.ToByteArray();

    private static readonly Gen<Case> WellFormed =
        Gen.Select(Gen.OneOf("loss", "acc/val", "a b", "ü"), Gen.Long[0, 1000], Gen.Float).Array[0, 5].Select(scalars => new Case(
            Frame(scalars.Select(s => new Event
            {
                WallTime = 1700000001,
                Step = s.Item2,
                Summary = new Summary { Value = { new Summary.Types.Value { Tag = s.Item1, SimpleValue = s.Item3 } } },
            }.ToByteArray()).Prepend(Version)),
            scalars));

    private static bool Parse(Case c)
    {
        var contents = EventFileReader.ReadFile(new MemoryStream(c.Bytes), Fuzz.Source);
        var run = EventFileReader.DecodeRun("run", ".", [contents]);
        if (c.Scalars is not null)
        {
            Assert.Equal(0, contents.PartialTailBytes);
            foreach (var group in c.Scalars.GroupBy(s => s.Tag))
                Assert.Equal(group.Select(s => ((double)s.Value, s.Step)), run.Scalars[group.Key].Select(e => (e.Value, e.Step)));
        }
        return true;
    }

    /// <summary>The payloads of a well-formed file, record by record.</summary>
    private static List<byte[]> Payloads(byte[] file)
    {
        var payloads = new List<byte[]>();
        for (int at = 0; at < file.Length;)
        {
            int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(at));
            payloads.Add(file[(at + TfRecord.HeaderLength)..(at + TfRecord.HeaderLength + length)]);
            at += TfRecord.HeaderLength + length + TfRecord.FooterLength;
        }
        return payloads;
    }

    [Fact]
    public void EventFilesLoadOrRaiseInvalidData()
    {
        byte[] seed;
        using (var dir = new TempDirectory())
        {
            string path;
            using (var writer = new SummaryWriter(dir.Path))
            {
                path = writer.FilePath;
                writer.AddScalar("loss", 0.5, 1);
                writer.AddScalar("loss/new", 0.25, 2, newStyle: true);
                writer.AddHistogram("w", [0.1f, -2f, 3f, 3f], 1);
                writer.AddImage("img", TestData.Uniform(3, 0, 1, 1, 2, 2), 1);
                writer.AddText("note", "hello\nworld", 1);
                writer.AddHParams(new Dictionary<string, object?> { ["lr"] = 0.1, ["opt"] = "adam", ["bn"] = true }, new Dictionary<string, double> { ["acc"] = 0.9 });
            }
            seed = File.ReadAllBytes(path);
        }
        var payloads = Payloads(seed);
        var payloadMutants = Gen.Int.Select(n =>
        {
            var random = new Random(n);
            var mutated = payloads.ToList();
            int at = random.Next(mutated.Count);
            mutated[at] = Mutator.Mutate(mutated[at], random);
            return new Case(Frame(mutated), null);
        });
        var byteMutants = Mutator.Of(seed).Select(b => new Case(b, null));
        Fuzz.Run(output, "event file", Gen.OneOf(WellFormed, payloadMutants, payloadMutants, byteMutants), Parse, c => Fuzz.Hex(c.Bytes));
    }
}
