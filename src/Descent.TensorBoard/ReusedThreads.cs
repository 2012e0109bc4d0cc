namespace Descent.TensorBoard;

/// <summary>
/// Background threads for event writers that are kept for the next writer when one is done: starting a
/// thread costs about 0.3 ms (the runtime waits for the new thread to report in), which a short training
/// run would pay for its writer. A thread left idle for a minute ends.
/// </summary>
internal static class ReusedThreads
{
    private static readonly TimeSpan IdleLife = TimeSpan.FromMinutes(1);
    private static readonly object Gate = new();
    private static readonly Stack<Worker> Idle = new();

    /// <summary>Runs <paramref name="work"/> on an idle thread, or on a new one when none is idle.</summary>
    public static void Start(Action work)
    {
        lock (Gate)
        {
            if (Idle.TryPop(out var idle))
            {
                idle.Work = work;
                Monitor.PulseAll(Gate);
                return;
            }
        }
        var worker = new Worker { Work = work };
        new Thread(worker.Loop) { IsBackground = true, Name = "TensorBoard event writer" }.Start();
    }

    private sealed class Worker
    {
        public Action? Work;

        public void Loop()
        {
            while (true)
            {
                Action work;
                lock (Gate)
                {
                    while (Work is null)
                        if (!Monitor.Wait(Gate, IdleLife) && Work is null)
                        {
                            // Still idle after a minute: no starter can take this thread once it is off the stack.
                            RemoveIdle(this);
                            return;
                        }
                    work = Work;
                    Work = null;
                }
                // A failure ends the thread, as it would end a thread of its own: work catches what it expects.
                work();
                lock (Gate) Idle.Push(this);
            }
        }
    }

    private static void RemoveIdle(Worker worker)
    {
        var kept = Idle.Where(w => w != worker).Reverse().ToArray();
        Idle.Clear();
        foreach (var w in kept) Idle.Push(w);
    }
}
