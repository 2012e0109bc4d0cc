namespace Descent.Tests.Saving;

/// <summary><see cref="StatefulRandom"/> draws exactly what <c>new Random(seed)</c> draws, and its state restores the stream.</summary>
public sealed class StatefulRandomTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(-12345)]
    [InlineData(int.MaxValue)]
    [InlineData(int.MinValue)]
    public void StreamIsSystemRandoms(int seed)
    {
        var reference = new Random(seed);
        var ours = new StatefulRandom(seed);
        for (int i = 0; i < 2000; i++)
        {
            switch (i % 9)
            {
                case 0: Assert.Equal(reference.Next(), ours.Next()); break;
                case 1: Assert.Equal(reference.Next(17), ours.Next(17)); break;
                case 2: Assert.Equal(reference.Next(-5, 1000), ours.Next(-5, 1000)); break;
                case 3: Assert.Equal(reference.Next(int.MinValue, int.MaxValue), ours.Next(int.MinValue, int.MaxValue)); break;
                case 4: Assert.Equal(reference.NextDouble(), ours.NextDouble()); break;
                case 5: Assert.Equal(reference.NextSingle(), ours.NextSingle()); break;
                case 6: Assert.Equal(reference.NextInt64(), ours.NextInt64()); break;
                case 7: Assert.Equal(reference.NextInt64(-3, 1L << 40), ours.NextInt64(-3, 1L << 40)); break;
                default:
                    byte[] a = new byte[5], b = new byte[5];
                    reference.NextBytes(a);
                    ours.NextBytes(b);
                    Assert.Equal(a, b);
                    break;
            }
        }
        int[] x = [.. Enumerable.Range(0, 50)], y = [.. x];
        reference.Shuffle(x);
        ours.Shuffle(y);
        Assert.Equal(x, y);
    }

    [Fact]
    public void StateRestoresTheStream()
    {
        Rng.ManualSeed(3);
        Rng.Default.NextDouble();
        var state = Rng.GetState();
        var first = Enumerable.Range(0, 100).Select(_ => Rng.Default.NextDouble()).ToArray();
        Rng.ManualSeed(99);
        Rng.SetState(state);
        Assert.Equal(first, Enumerable.Range(0, 100).Select(_ => Rng.Default.NextDouble()).ToArray());
    }

    [Fact]
    public void BadStateIsRefused() =>
        Assert.Throws<ArgumentException>(() => new StatefulRandom(new RngState(new int[3], 0, 21)));
}
