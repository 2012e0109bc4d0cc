using System.CommandLine;
using Descent.Cli;

return Cli.Run(args, Console.Out, Console.Error);
