using Descent.Kernels;
using Xunit;

namespace Descent.Tests.Kernels;

public class WorkerPoolTests
{
    private struct CountingBody : IParallelBody
    {
        public int[] Hits;
        public int Total;

        public void Run(int index)
        {
            Interlocked.Increment(ref Hits[index]);
            Interlocked.Increment(ref Total);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(1000)]
    [InlineData(100_003)]
    public void RunsEveryIndexExactlyOnceAndCopiesFieldsBack(int count)
    {
        var body = new CountingBody { Hits = new int[count] };
        WorkerPool.For(count, ref body);
        Assert.All(body.Hits, hits => Assert.Equal(1, hits));
        Assert.Equal(count, body.Total);
    }

    [Fact]
    public void ManyBackToBackLoopsAllComplete()
    {
        var hits = new int[64];
        for (int round = 0; round < 2000; round++)
        {
            var body = new CountingBody { Hits = hits };
            WorkerPool.For(hits.Length, ref body);
        }
        Assert.All(hits, h => Assert.Equal(2000, h));
    }

    [Fact]
    public void LoopsAfterTheWorkersFellAsleepStillComplete()
    {
        var hits = new int[16];
        for (int round = 0; round < 3; round++)
        {
            Thread.Sleep(20);
            var body = new CountingBody { Hits = hits };
            WorkerPool.For(hits.Length, ref body);
        }
        Assert.All(hits, h => Assert.Equal(3, h));
    }

    private struct NestingBody : IParallelBody
    {
        public int[] Inner;

        public void Run(int index)
        {
            Assert.False(WorkerPool.CanParallelize);
            var inner = new CountingBody { Hits = new int[10] };
            WorkerPool.For(10, ref inner);
            Interlocked.Add(ref Inner[index], inner.Total);
        }
    }

    [Fact]
    public void NestedLoopsRunInlineWithoutDeadlock()
    {
        var body = new NestingBody { Inner = new int[8] };
        WorkerPool.For(8, ref body);
        Assert.All(body.Inner, total => Assert.Equal(10, total));
    }

    private struct SlotBody : IParallelBody
    {
        public int[] Slots;

        public void Run(int index)
        {
            Slots[index] = WorkerPool.CurrentSlot;
            Thread.SpinWait(2000);
        }
    }

    [Fact]
    public void CurrentSlotIsWithinTheWorkerCount()
    {
        var body = new SlotBody { Slots = new int[256] };
        WorkerPool.For(body.Slots.Length, ref body);
        Assert.All(body.Slots, slot => Assert.InRange(slot, 0, WorkerPool.Workers - 1));
    }

    private struct ThrowingBody : IParallelBody
    {
        public void Run(int index)
        {
            if (index == 37) throw new InvalidOperationException("index 37");
        }
    }

    [Fact]
    public void AnExceptionInABodyReachesTheCallerAndThePoolStaysUsable()
    {
        var throwing = new ThrowingBody();
        var error = Assert.Throws<InvalidOperationException>(() => WorkerPool.For(100, ref throwing));
        Assert.Equal("index 37", error.Message);

        var body = new CountingBody { Hits = new int[100] };
        WorkerPool.For(100, ref body);
        Assert.Equal(100, body.Total);
    }

    [Fact]
    public void ConcurrentCallersFromSeveralThreadsAllComplete()
    {
        var results = new int[4];
        var threads = Enumerable.Range(0, results.Length).Select(t => new Thread(() =>
        {
            int total = 0;
            for (int round = 0; round < 300; round++)
            {
                var body = new CountingBody { Hits = new int[33] };
                WorkerPool.For(33, ref body);
                total += body.Total;
            }
            results[t] = total;
        })).ToArray();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) thread.Join();
        Assert.All(results, total => Assert.Equal(300 * 33, total));
    }
}
