using System.CommandLine;
using Descent.TensorBoard;
using Descent.Lab;
using Descent.Cli;
using Descent.Training;

// A training command with --logdir pays the logging code's one-time costs on the idle core while the command
// line is parsed and the data loads, rather than during training.
if (args.Length > 0 && args[0] is "train" or "compare"
    && Array.Exists(args, a => a == "--logdir" || a.StartsWith("--logdir=", StringComparison.Ordinal) || a.StartsWith("--logdir:", StringComparison.Ordinal)))
    _ = TensorBoardLogger.WarmUp();
return Cli.Run(args, Console.Out, Console.Error);
