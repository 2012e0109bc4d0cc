namespace Descent.Nn;

public abstract partial class Module
{
    /// <summary>
    /// Writes every parameter and buffer to a safetensors file under its state-dict name, like
    /// <c>safetensors.torch.save_file(model.state_dict(), path, metadata)</c>. The names are those of the equivalent
    /// PyTorch module (<c>0.weight</c>, <c>1.running_mean</c>, …), so PyTorch loads the file with
    /// <c>load_state_dict(strict=True)</c>. The write is atomic: a crash leaves the previous file intact.
    /// </summary>
    /// <param name="path">The file to write (conventionally <c>*.safetensors</c>).</param>
    /// <param name="metadata">Strings stored in the header's <c>__metadata__</c>, e.g. <see cref="ModelSpec.MetadataKey"/>
    /// with the architecture, so that <see cref="ModelFile.Load(string)"/> can rebuild the model from the file alone.</param>
    public void Save(string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var tensors = NamedParameters().Select(p => KeyValuePair.Create(p.Name, (Tensor)p.Parameter))
            .Concat(NamedBuffers().Select(b => KeyValuePair.Create(b.Name, b.Buffer)));
        Safetensors.Write(path, tensors, metadata, IntegerBufferNames());
    }

    /// <summary>
    /// Loads parameters and buffers from a safetensors file written by <see cref="Save"/> or by PyTorch, like
    /// <c>model.load_state_dict(load_file(path), strict=True)</c>; returns the file's metadata.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not valid safetensors, or its names or shapes do not fit this module
    /// (nothing is changed then).</exception>
    public IReadOnlyDictionary<string, string> Load(string path)
    {
        var file = Safetensors.Read(path);
        try
        {
            LoadStateDict(file.Tensors);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException(Printable.Escape($"{path}: {e.Message}"), e);
        }
        return file.Metadata;
    }
}
