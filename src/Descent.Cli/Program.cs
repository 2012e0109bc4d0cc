using System.CommandLine;
using Descent.Lab;
using Descent.Cli;
using Descent.Training;

return Cli.Run(args, Console.Out, Console.Error);
