namespace Descent.Optim;

/// <summary>Named flat state buffers, one per parameter group, created zero-filled on first use.</summary>
internal sealed class GroupBuffers
{
    private readonly string[] _names;
    private readonly float[]?[][] _buffers;

    public GroupBuffers(int groups, params string[] names)
    {
        _names = names;
        _buffers = names.Select(_ => new float[]?[groups]).ToArray();
    }

    /// <summary>
    /// Buffer <paramref name="name"/> of group <paramref name="group"/>, created when missing. The rules index
    /// it without bounds checks, so a buffer of another length (a hand-made state dict) is refused here.
    /// </summary>
    public float[] Get(string name, int group, int length)
    {
        var buffer = _buffers[Index(name)][group] ??= new float[length];
        if (buffer.Length != length)
            throw new InvalidOperationException($"state buffer '{name}' of group {group} holds {buffer.Length} values but the group holds {length}");
        return buffer;
    }

    public IEnumerable<(string Name, int Group, float[]? Buffer)> All()
    {
        for (int n = 0; n < _names.Length; n++)
            for (int g = 0; g < _buffers[n].Length; g++) yield return (_names[n], g, _buffers[n][g]);
    }

    public void Set(string name, int group, float[]? buffer) => _buffers[Index(name)][group] = buffer;

    private int Index(string name)
    {
        int index = Array.IndexOf(_names, name);
        return index >= 0 ? index : throw new ArgumentException($"unknown state buffer '{name}'");
    }
}
