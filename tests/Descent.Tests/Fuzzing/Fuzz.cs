using CsCheck;
using Xunit.Abstractions;

namespace Descent.Tests.Fuzzing;

/// <summary>
/// Runs a parser on generated inputs: each must load, or raise the parser's one documented exception with a message that
/// starts with the name of the source; any other exception, or a run that does not finish, fails the test. CsCheck
/// generates the inputs, and on a failure shrinks it and prints the seed that reproduces it.
/// </summary>
internal static class Fuzz
{
    /// <summary>Inputs per parser: the acceptance figure.</summary>
    public const long Inputs = 100_000;

    /// <summary>The name every input is read under; error messages must start with it.</summary>
    public const string Source = "fuzz-input";

    /// <summary>Long enough for a loaded two-core machine; a parser that loops forever still ends the test.</summary>
    private static readonly TimeSpan HangLimit = TimeSpan.FromMinutes(5);

    /// <summary>What <paramref name="parse"/> returns: true when the input loaded.</summary>
    public static void Run<T>(ITestOutputHelper output, string parser, Gen<T> inputs, Func<T, bool> parse, Func<T, string> print,
        long count = Inputs, string messageStart = Source) => Run<T, InvalidDataException>(output, parser, inputs, parse, print, count, messageStart);

    /// <param name="messageStart">What every refusal's message starts with: the source's name, for the parsers of files.</param>
    public static void Run<T, TDocumented>(ITestOutputHelper output, string parser, Gen<T> inputs, Func<T, bool> parse, Func<T, string> print,
        long count = Inputs, string messageStart = Source) where TDocumented : Exception
    {
        long tried = 0, loaded = 0, refused = 0;
        var run = Task.Run(() => inputs.Sample(input =>
        {
            Interlocked.Increment(ref tried);
            try
            {
                if (parse(input)) Interlocked.Increment(ref loaded);
                else Interlocked.Increment(ref refused);
            }
            catch (TDocumented e)
            {
                if (!e.Message.StartsWith(messageStart, StringComparison.Ordinal))
                    throw new InvalidOperationException($"the message does not name the source: {e.Message}", e);
                if (e.Message.Contains('\n') || e.Message.Contains('\r'))
                    throw new InvalidOperationException($"the message is not one line: {e.Message}", e);
                Interlocked.Increment(ref refused);
            }
        }, iter: count, print: print, writeLine: output.WriteLine));
        if (!run.Wait(HangLimit)) Assert.Fail($"{parser}: no result after {HangLimit.TotalMinutes} minutes ({Interlocked.Read(ref tried)} inputs tried): a parser hangs");
        output.WriteLine($"{parser}: {tried} inputs, {loaded} loaded, {refused} refused with {typeof(TDocumented).Name}, 0 failures");
        Assert.True(tried >= count, $"{parser}: only {tried} of {count} inputs ran");
        // Both outcomes must occur, or the generator is not exercising the parser.
        Assert.True(loaded > 0 && refused > 0, $"{parser}: {loaded} loaded, {refused} refused");
    }

    /// <summary>Hex of the first bytes, for CsCheck's report of a failing input.</summary>
    public static string Hex(byte[] bytes) =>
        $"{bytes.Length} bytes: {Convert.ToHexString(bytes.AsSpan(0, Math.Min(bytes.Length, 256)))}{(bytes.Length > 256 ? "…" : "")}";
}

/// <summary>
/// Byte-level mutations of valid files, the kinds a damaged disk, a bad download or a hostile author produce: flipped
/// bits, bytes set to boundary values, 32- and 64-bit fields set to boundary values, insertions, deletions, truncation,
/// a repeated range. Half of the positions fall in the first 64 bytes, where headers and size fields are.
/// </summary>
internal static class Mutator
{
    private static readonly byte[] Bytes = [0x00, 0x01, 0x7F, 0x80, 0xFF, (byte)'"', (byte)'{', (byte)'[', (byte)'-', (byte)'9', (byte)',', (byte)'\n', (byte)'\r', 0xC3];
    private static readonly ulong[] Words = [0, 1, 0x7F, 0xFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000, long.MaxValue, ulong.MaxValue, 0x8000_0000_0000_0000];

    /// <summary>Mutants of the <paramref name="seeds"/>, each reproducible from the generated number.</summary>
    public static Gen<byte[]> Of(params byte[][] seeds) =>
        Gen.Int.Select(n => Mutate(seeds, new Random(n)));

    public static byte[] Mutate(byte[][] seeds, Random random) => Mutate(seeds[random.Next(seeds.Length)], random);

    public static byte[] Mutate(byte[] seed, Random random)
    {
        var bytes = new List<byte>(seed);
        for (int k = random.Next(1, 5); k > 0; k--)
        {
            int At(int extra = 0) => bytes.Count + extra == 0 ? 0 : random.Next(2) == 0
                ? random.Next(Math.Min(bytes.Count + extra, 64))
                : random.Next(bytes.Count + extra);
            switch (random.Next(8))
            {
                case 0 when bytes.Count > 0:
                    bytes[At()] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when bytes.Count > 0:
                    bytes[At()] = Bytes[random.Next(Bytes.Length)];
                    break;
                case 2 when bytes.Count >= 8:
                {
                    int at = Math.Min(At(), bytes.Count - 8);
                    ulong word = Words[random.Next(Words.Length)];
                    int width = random.Next(2) == 0 ? 4 : 8;
                    bool bigEndian = random.Next(2) == 0;
                    for (int i = 0; i < width; i++)
                        bytes[at + i] = (byte)(word >> (8 * (bigEndian ? width - 1 - i : i)));
                    break;
                }
                case 3:
                {
                    var insert = new byte[random.Next(1, 9)];
                    random.NextBytes(insert);
                    bytes.InsertRange(At(1), insert);
                    break;
                }
                case 4 when bytes.Count > 0:
                {
                    int at = At();
                    bytes.RemoveRange(at, Math.Min(random.Next(1, 17), bytes.Count - at));
                    break;
                }
                case 5:
                {
                    int keep = random.Next(bytes.Count + 1);
                    bytes.RemoveRange(keep, bytes.Count - keep);
                    break;
                }
                case 6 when bytes.Count > 0:
                {
                    int at = At(), length = Math.Min(random.Next(1, 33), bytes.Count - at);
                    bytes.InsertRange(At(1), bytes.GetRange(at, length));
                    break;
                }
                default:
                    if (bytes.Count > 0) bytes[random.Next(bytes.Count)] = (byte)random.Next(256);
                    break;
            }
        }
        return bytes.ToArray();
    }
}
