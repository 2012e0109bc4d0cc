using System.CommandLine;
using Descent.Cli;
using Descent.Training;

// With --logdir, the logging code's one-time costs are paid on the idle core while the command line is parsed
// and the data loads, rather than during training.
if (Array.Exists(args, a => a == "--logdir" || a.StartsWith("--logdir=", StringComparison.Ordinal) || a.StartsWith("--logdir:", StringComparison.Ordinal)))
    _ = TensorBoardLogger.WarmUp();
return Cli.Run(args, Console.Out, Console.Error);
