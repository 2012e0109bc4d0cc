using System.CommandLine;
using Descent.IO;
using Descent.Nn;

namespace Descent.Cli.Commands;

/// <summary>
/// <c>descent export --model FILE.safetensors --onnx FILE.onnx</c>: rebuilds the model recorded in a model file
/// and writes it as an ONNX graph for ONNX Runtime and other inference engines.
/// </summary>
public static class ExportCommand
{
    public static Command Create(TextWriter stdout)
    {
        var cmd = new Command("export", "Write a saved model (a .safetensors file from train --save) as an ONNX graph (opset 17, evaluation mode).");
        var model = new Option<string>("--model") { Description = "The model file (safetensors with the architecture in its metadata)", Required = true };
        var onnx = new Option<string>("--onnx") { Description = "The ONNX file to write (replaced atomically)", Required = true };
        cmd.Options.Add(model);
        cmd.Options.Add(onnx);
        cmd.SetAction(parse =>
        {
            Export(parse.GetValue(model)!, parse.GetValue(onnx)!, stdout);
            return 0;
        });
        return cmd;
    }

    private static void Export(string modelPath, string onnxPath, TextWriter stdout)
    {
        if (!File.Exists(modelPath)) throw new UsageException($"--model: {modelPath} does not exist");
        if (Directory.Exists(onnxPath)) throw new UsageException($"--onnx: {onnxPath} is a directory; name the .onnx file to write");
        var file = ModelFile.Load(modelPath);
        OnnxExporter.Export(file.Model, file.Spec.InputShape, onnxPath);
        stdout.WriteLine($"wrote {onnxPath}: {file.Spec.Kind} with {file.Model.ParameterCount:N0} parameters, input [batch, {string.Join(", ", file.Spec.InputShape)}], " +
            $"output [batch, {file.Spec.Outputs}], ONNX opset {OnnxExporter.Opset}");
    }
}
