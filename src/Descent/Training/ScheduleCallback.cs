using Descent.Optim.Schedules;

namespace Descent.Training;

/// <summary>
/// Steps a learning-rate schedule from the training loop: after every optimizer step, or after every epoch
/// (a metric-driven schedule such as ReduceLROnPlateau gets the validation loss, or the training loss when
/// there is no validation split).
/// </summary>
public sealed class ScheduleCallback(LRScheduler scheduler, bool perStep) : ITrainerCallback
{
    /// <summary>The schedule being stepped.</summary>
    public LRScheduler Scheduler { get; } = scheduler;

    /// <inheritdoc />
    public void OnOptimizerStep(long globalStep)
    {
        if (perStep && !Scheduler.UsesMetric) Scheduler.Step();
    }

    /// <inheritdoc />
    public void OnEpochEnd(EpochResult result)
    {
        if (Scheduler.UsesMetric) Scheduler.Step(result.ValLoss ?? result.TrainLoss);
        else if (!perStep) Scheduler.Step();
    }
}
