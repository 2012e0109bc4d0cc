using System.Buffers.Binary;
using System.Reflection;
using Module = Descent.Nn.Module;
using Descent.Autodiff;
using Descent.Nn;
using Google.Protobuf;

namespace Descent.IO;

/// <summary>
/// Writes a model as an ONNX graph (opset 17), like <c>torch.onnx.export(model.eval(), x, path)</c>: the layers as
/// ONNX operators in evaluation mode, the weights as initializers under their state-dict names, a dynamic batch
/// dimension named <c>batch</c>, one input <c>input</c> and one output <c>output</c>.
/// </summary>
/// <remarks>
/// Supported layers: <see cref="Linear"/> (Gemm), <see cref="Conv2d"/> (Conv), <see cref="MaxPool2d"/>,
/// <see cref="AvgPool2d"/> (<c>count_include_pad=1</c>, PyTorch's default), ReLU, LeakyReLU, ELU, Sigmoid, Tanh,
/// GELU (exact, written as 0.5·x·(1 + erf(x/√2)) since Gelu only became an operator in opset 20),
/// <see cref="BatchNorm1d"/>/<see cref="BatchNorm2d"/> with their running statistics, <see cref="Dropout"/> (the
/// identity), <see cref="Flatten"/>, <see cref="LayerNorm"/> (LayerNormalization) and nested <see cref="Sequential"/>s.
/// The messages are encoded by hand with Google.Protobuf's <see cref="CodedOutputStream"/> after onnx.proto's field
/// numbers, so no generated code is needed.
/// </remarks>
public static class OnnxExporter
{
    /// <summary>The operator set the graphs use (LayerNormalization needs 17).</summary>
    public const int Opset = 17;

    private const int IrVersion = 8; // the IR version of opset 17
    private const int FloatType = 1, Int64Type = 7;

    /// <summary>Writes <paramref name="model"/>, taking samples of <paramref name="sampleShape"/>, to <paramref name="path"/> atomically.</summary>
    /// <exception cref="ArgumentException">A layer has no ONNX equivalent, or the sample shape does not fit the model.</exception>
    public static void Export(Module model, IReadOnlyList<int> sampleShape, string path)
    {
        var bytes = ToBytes(model, sampleShape);
        AtomicFile.WriteAllBytes(path, bytes);
    }

    /// <summary>The ONNX model as bytes (a serialized <c>ModelProto</c>).</summary>
    public static byte[] ToBytes(Module model, IReadOnlyList<int> sampleShape)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (sampleShape.Count == 0 || sampleShape.Any(d => d < 1))
            throw new ArgumentException($"the sample shape must be a non-empty list of positive sizes, got {ShapeUtil.Format(sampleShape.ToArray())}");
        var graph = new GraphBuilder();
        bool training = model.Training;
        model.Eval();
        try
        {
            using (Tape.NoGrad())
            {
                // A one-sample batch run through the layers gives every intermediate shape and proves the input fits.
                var x = Tensor.Zeros([1, .. sampleShape]);
                string output = graph.Layer(model, "", "input", ref x);
                graph.Nodes.Add(Node("Identity", [output], ["output"], "output"));
                graph.Outputs.Add(ValueInfo("output", x.Shape));
            }
        }
        finally
        {
            model.Train(training);
        }
        graph.Inputs.Add(ValueInfo("input", [1, .. sampleShape]));

        var g = new Proto();
        foreach (var n in graph.Nodes) g.Message(1, n);
        g.String(2, "descent");
        foreach (var t in graph.Initializers) g.Message(5, t);
        foreach (var i in graph.Inputs) g.Message(11, i);
        foreach (var o in graph.Outputs) g.Message(12, o);

        var version = typeof(Module).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "";
        return new Proto()
            .Int(1, IrVersion)
            .String(2, "Descent")
            .String(3, version.Split('+')[0])
            .Message(7, g)
            .Message(8, new Proto().Int(2, Opset))
            .ToArray();
    }

    /// <summary>The nodes and initializers of a graph being built, with unique names for intermediate values.</summary>
    private sealed class GraphBuilder
    {
        public List<Proto> Nodes { get; } = [];
        public List<Proto> Initializers { get; } = [];
        public List<Proto> Inputs { get; } = [];
        public List<Proto> Outputs { get; } = [];

        private string Initializer(string name, Tensor value)
        {
            Initializers.Add(FloatTensor(name, value.Shape, value.Data));
            return name;
        }

        private string Constant(string name, float value) => Initializer(name, Tensor.Scalar(value));

        private string Int64s(string name, long[] values)
        {
            var raw = new byte[values.Length * 8];
            for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * 8), values[i]);
            var t = new Proto();
            t.Int(1, values.Length).Int(2, Int64Type).String(8, name).Bytes(9, raw);
            Initializers.Add(t);
            return name;
        }

        private string Add(string op, string name, string[] inputs, params Proto[] attributes)
        {
            Nodes.Add(Node(op, inputs, [name], name, attributes));
            return name;
        }

        /// <summary>Emits <paramref name="layer"/> reading <paramref name="input"/>; returns its output's name and runs it on <paramref name="x"/>.</summary>
        public string Layer(Module layer, string path, string input, ref Tensor x)
        {
            if (layer is Sequential sequential)
            {
                for (int i = 0; i < sequential.Layers.Count; i++)
                    input = Layer(sequential.Layers[i], $"{path}{i}.", input, ref x);
                return input;
            }
            string name = path.Length > 0 ? path.TrimEnd('.') : layer.GetType().Name;
            // Refused before the sample runs through the layer, whose own error would say less.
            if (layer is not (Linear or Conv2d or MaxPool2d or AvgPool2d or ReLU or LeakyReLU or ELU or Sigmoid or Tanh or GELU or BatchNorm or Dropout or Flatten or LayerNorm))
                throw new ArgumentException($"ONNX export does not support {layer.Describe()} (layer {name})");
            if (layer is BatchNorm { RunningMean: null } noStatistics)
                throw new ArgumentException($"ONNX export needs running statistics, but {noStatistics.Describe()} (layer {name}) has none (track_running_stats=False normalizes with each batch's own statistics)");
            var inShape = x.Shape.ToArray();
            x = layer.Forward(x);
            switch (layer)
            {
                case Linear linear when inShape.Length == 2:
                    return Add("Gemm", name, linear.Bias is null ? [input, Initializer(path + "weight", linear.Weight)]
                        : [input, Initializer(path + "weight", linear.Weight), Initializer(path + "bias", linear.Bias)], Attribute("transB", 1));
                case Linear linear:
                    var transposed = Add("Transpose", name + ".weight_t", [Initializer(path + "weight", linear.Weight)]);
                    var product = Add("MatMul", linear.Bias is null ? name : name + ".matmul", [input, transposed]);
                    return linear.Bias is null ? product : Add("Add", name, [product, Initializer(path + "bias", linear.Bias)]);
                case Conv2d conv:
                    return Add("Conv", name, conv.Bias is null ? [input, Initializer(path + "weight", conv.Weight)]
                            : [input, Initializer(path + "weight", conv.Weight), Initializer(path + "bias", conv.Bias)],
                        Attribute("kernel_shape", conv.KernelSize.H, conv.KernelSize.W), Attribute("strides", conv.Stride.H, conv.Stride.W),
                        Attribute("pads", conv.Padding.H, conv.Padding.W, conv.Padding.H, conv.Padding.W));
                case MaxPool2d pool:
                    return Add("MaxPool", name, [input], Attribute("kernel_shape", pool.KernelSize, pool.KernelSize),
                        Attribute("strides", pool.Stride, pool.Stride), Attribute("pads", pool.Padding, pool.Padding, pool.Padding, pool.Padding));
                case AvgPool2d pool:
                    return Add("AveragePool", name, [input], Attribute("kernel_shape", pool.KernelSize, pool.KernelSize),
                        Attribute("strides", pool.Stride, pool.Stride), Attribute("pads", pool.Padding, pool.Padding, pool.Padding, pool.Padding),
                        Attribute("count_include_pad", 1));
                case ReLU:
                    return Add("Relu", name, [input]);
                case LeakyReLU leaky:
                    return Add("LeakyRelu", name, [input], Attribute("alpha", leaky.NegativeSlope));
                case ELU elu:
                    return Add("Elu", name, [input], Attribute("alpha", elu.Alpha));
                case Sigmoid:
                    return Add("Sigmoid", name, [input]);
                case Tanh:
                    return Add("Tanh", name, [input]);
                case GELU:
                    var scaled = Add("Div", name + ".div", [input, Constant(path + "sqrt2", MathF.Sqrt(2f))]);
                    var erf = Add("Erf", name + ".erf", [scaled]);
                    var plusOne = Add("Add", name + ".add", [erf, Constant(path + "one", 1f)]);
                    var times = Add("Mul", name + ".mul", [input, plusOne]);
                    return Add("Mul", name, [times, Constant(path + "half", 0.5f)]);
                case BatchNorm norm:
                    return Add("BatchNormalization", name,
                        [input, Initializer(path + "weight", norm.Weight ?? Tensor.Full(1f, norm.NumFeatures)), Initializer(path + "bias", norm.Bias ?? Tensor.Zeros(norm.NumFeatures)),
                         Initializer(path + "running_mean", norm.RunningMean!), Initializer(path + "running_var", norm.RunningVar!)],
                        Attribute("epsilon", (float)norm.Eps));
                case Dropout:
                    return Add("Identity", name, [input]);
                case Flatten flatten:
                    int start = ShapeUtil.NormalizeAxis(flatten.StartDim, inShape.Length);
                    return start == 1
                        ? Add("Flatten", name, [input], Attribute("axis", 1))
                        : Add("Reshape", name, [input, Int64s(path + "shape", [.. Enumerable.Repeat(0L, start), -1L])]);
                case LayerNorm norm:
                    var shape = norm.NormalizedShape.ToArray();
                    return Add("LayerNormalization", name,
                        [input, Initializer(path + "weight", norm.Weight ?? Tensor.Full(1f, shape)), Initializer(path + "bias", norm.Bias ?? Tensor.Zeros(shape))],
                        Attribute("axis", -shape.Length), Attribute("epsilon", (float)norm.Eps));
                default:
                    throw new InvalidOperationException($"{layer.Describe()} passed the support check but has no ONNX translation");
            }
        }
    }

    private static Proto Node(string op, string[] inputs, string[] outputs, string name, params Proto[] attributes)
    {
        var node = new Proto();
        foreach (var i in inputs) node.String(1, i);
        foreach (var o in outputs) node.String(2, o);
        node.String(3, name).String(4, op);
        foreach (var a in attributes) node.Message(5, a);
        return node;
    }

    // AttributeProto: name 1, f 2, i 3, ints 8, type 20 (FLOAT 1, INT 2, INTS 7).
    private static Proto Attribute(string name, float value) => new Proto().String(1, name).Float(2, value).Int(20, 1);

    private static Proto Attribute(string name, long value) => new Proto().String(1, name).Int(3, value).Int(20, 2);

    private static Proto Attribute(string name, long first, long second, params long[] rest)
    {
        var a = new Proto().String(1, name);
        foreach (var v in (long[])[first, second, .. rest]) a.Int(8, v);
        return a.Int(20, 7);
    }

    // TensorProto: dims 1, data_type 2, name 8, raw_data 9 (little-endian).
    private static Proto FloatTensor(string name, ReadOnlySpan<int> shape, ReadOnlySpan<float> values)
    {
        var t = new Proto();
        foreach (int d in shape) t.Int(1, d);
        var raw = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), values[i]);
        return t.Int(2, FloatType).String(8, name).Bytes(9, raw);
    }

    // ValueInfoProto { name 1, type 2: TypeProto { tensor_type 1: { elem_type 1, shape 2: { dim 1: { dim_value 1 | dim_param 2 } } } } }
    private static Proto ValueInfo(string name, ReadOnlySpan<int> shape)
    {
        var dims = new Proto();
        for (int i = 0; i < shape.Length; i++)
            dims.Message(1, i == 0 ? new Proto().String(2, "batch") : new Proto().Int(1, shape[i]));
        var tensorType = new Proto().Int(1, FloatType).Message(2, dims);
        return new Proto().String(1, name).Message(2, new Proto().Message(1, tensorType));
    }

    /// <summary>One protobuf message being encoded; nested messages are encoded first and written as length-delimited bytes.</summary>
    private sealed class Proto
    {
        private readonly MemoryStream _bytes = new();
        private readonly CodedOutputStream _out;

        public Proto() => _out = new CodedOutputStream(_bytes, leaveOpen: true);

        public Proto Int(int field, long value)
        {
            _out.WriteTag(field, WireFormat.WireType.Varint);
            _out.WriteInt64(value);
            return this;
        }

        public Proto Float(int field, float value)
        {
            _out.WriteTag(field, WireFormat.WireType.Fixed32);
            _out.WriteFloat(value);
            return this;
        }

        public Proto String(int field, string value)
        {
            _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
            _out.WriteString(value);
            return this;
        }

        public Proto Bytes(int field, byte[] value)
        {
            _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
            _out.WriteBytes(ByteString.CopyFrom(value));
            return this;
        }

        public Proto Message(int field, Proto message) => Bytes(field, message.ToArray());

        public byte[] ToArray()
        {
            _out.Flush();
            return _bytes.ToArray();
        }
    }
}
