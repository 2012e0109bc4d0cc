using Descent.TensorBoard;

namespace Descent.Tests.Logging;

public class ReusedThreadsTests
{
    [Fact]
    public void Work_started_one_after_another_runs_on_a_few_reused_background_threads()
    {
        var threads = new HashSet<int>();
        for (int i = 0; i < 40; i++)
        {
            using var done = new ManualResetEventSlim();
            int id = 0;
            bool background = false;
            string? name = null;
            ReusedThreads.Start(() =>
            {
                id = Environment.CurrentManagedThreadId;
                background = Thread.CurrentThread.IsBackground;
                name = Thread.CurrentThread.Name;
                done.Set();
            });
            Assert.True(done.Wait(TimeSpan.FromSeconds(10)), "the work never ran");
            Assert.True(background);
            Assert.Equal("TensorBoard event writer", name);
            threads.Add(id);
            // The thread goes back to the idle stack just after the work returns.
            Thread.Sleep(2);
        }
        // Without reuse there would be 40; writers of tests running alongside may take an idle thread now and then.
        Assert.True(threads.Count <= 10, $"40 runs used {threads.Count} threads");
    }

    [Fact]
    public void Several_works_at_once_each_get_a_thread()
    {
        using var allStarted = new CountdownEvent(4);
        using var release = new ManualResetEventSlim();
        for (int i = 0; i < 4; i++)
            ReusedThreads.Start(() =>
            {
                allStarted.Signal();
                release.Wait();
            });
        Assert.True(allStarted.Wait(TimeSpan.FromSeconds(10)), "four works waiting on each other did not all start");
        release.Set();
    }
}
