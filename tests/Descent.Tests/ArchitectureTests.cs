using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Descent.Tests;

/// <summary>
/// Holds the layering of docs/architecture.md: assemblies reference only assemblies below them, the core's
/// one package is System.Numerics.Tensors, and inside the core each folder uses only the folders below it.
/// </summary>
public class ArchitectureTests
{
    /// <summary>Each assembly under src/ and its level: a project may reference only lower levels.</summary>
    internal static readonly Dictionary<string, int> AssemblyLevels = new()
    {
        ["Descent"] = 0,
        ["Descent.IO"] = 1,
        ["Descent.TensorBoard"] = 1,
        ["Descent.Tuning"] = 1,
        ["Descent.Lab"] = 2,
        ["Descent.Board"] = 2,
        ["Descent.Cli"] = 3,
    };

    /// <summary>The core's folders bottom-up; a folder may name the namespaces of its own level and those below.</summary>
    internal static readonly string[][] CoreLayers =
    [
        ["Kernels", "Distributed"],
        ["Tensors"],
        ["Autodiff"],
        ["Ops"],
        ["Nn", "Init"],
        ["Optim", "Regularization", "Data"],
        ["Training"],
    ];

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Descent.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"no Descent.slnx above {AppContext.BaseDirectory}");
    }

    private static IEnumerable<(string Name, XDocument Project)> SourceProjects() =>
        Directory.GetDirectories(Path.Combine(RepoRoot(), "src"))
            .SelectMany(d => Directory.GetFiles(d, "*.csproj"))
            .Select(p => (Path.GetFileNameWithoutExtension(p), XDocument.Load(p)));

    private static IEnumerable<string> Items(XDocument project, string item) =>
        project.Descendants(item).Select(e => (string?)e.Attribute("Include")).OfType<string>();

    /// <summary>The references of <paramref name="project"/> that do not point strictly down the stack.</summary>
    internal static List<string> UpwardReferences(string project, IEnumerable<string> referencedProjects)
    {
        if (!AssemblyLevels.TryGetValue(project, out int level))
            return [$"{project} is not in the layer table of ArchitectureTests (add it, and to docs/architecture.md)"];
        var violations = new List<string>();
        foreach (var reference in referencedProjects)
        {
            string target = Path.GetFileNameWithoutExtension(reference.Replace('\\', '/'));
            if (!AssemblyLevels.TryGetValue(target, out int targetLevel))
                violations.Add($"{project} references {target}, which is not in the layer table");
            else if (targetLevel >= level)
                violations.Add($"{project} (level {level}) references {target} (level {targetLevel}): references must point down the stack");
        }
        return violations;
    }

    [Fact]
    public void Every_project_reference_points_down_the_stack()
    {
        var projects = SourceProjects().ToList();
        Assert.Equal(AssemblyLevels.Keys.Order(), projects.Select(p => p.Name).Order());
        var violations = projects.SelectMany(p => UpwardReferences(p.Name, Items(p.Project, "ProjectReference"))).ToList();
        Assert.True(violations.Count == 0, string.Join("\n", violations));
    }

    [Fact]
    public void The_check_rejects_an_upward_or_sideways_reference()
    {
        Assert.Empty(UpwardReferences("Descent.Lab", ["../Descent/Descent.csproj", "../Descent.TensorBoard/Descent.TensorBoard.csproj"]));
        Assert.Single(UpwardReferences("Descent", ["../Descent.TensorBoard/Descent.TensorBoard.csproj"]));
        Assert.Single(UpwardReferences("Descent.TensorBoard", ["..\\Descent.Board\\Descent.Board.csproj"]));
        Assert.Single(UpwardReferences("Descent.Lab", ["../Descent.Board/Descent.Board.csproj"]));
        Assert.Single(UpwardReferences("Descent.Lab", ["../Descent.Lab/Descent.Lab.csproj"]));
        Assert.Single(UpwardReferences("Descent.Extra", []));
    }

    [Fact]
    public void The_core_depends_only_on_System_Numerics_Tensors()
    {
        var core = SourceProjects().Single(p => p.Name == "Descent").Project;
        Assert.Equal(["System.Numerics.Tensors"], Items(core, "PackageReference"));
        Assert.Empty(Items(core, "FrameworkReference"));
        Assert.Empty(Items(core, "ProjectReference"));
    }

    [Fact]
    public void Core_folders_use_only_the_folders_below_them()
    {
        string core = Path.Combine(RepoRoot(), "src", "Descent");
        var levelOf = CoreLayers.SelectMany((folders, level) => folders.Select(f => (f, level))).ToDictionary(x => x.f, x => x.level);
        Assert.Equal(levelOf.Keys.Order(), Directory.GetDirectories(core).Select(Path.GetFileName).Where(d => d is not ("bin" or "obj")).Order());
        var mention = new Regex(@"\bDescent\.(" + string.Join("|", levelOf.Keys) + @")\b");
        var violations = new List<string>();
        foreach (var (folder, level) in levelOf)
            foreach (var file in Directory.GetFiles(Path.Combine(core, folder), "*.cs", SearchOption.AllDirectories))
            {
                var lines = File.ReadAllLines(file);
                for (int i = 0; i < lines.Length; i++)
                    foreach (Match m in mention.Matches(lines[i]))
                        if (levelOf[m.Groups[1].Value] > level)
                            violations.Add($"{Path.GetRelativePath(core, file)}:{i + 1} ({folder}) names Descent.{m.Groups[1].Value}, a higher layer");
            }
        Assert.True(violations.Count == 0, string.Join("\n", violations));
    }
}
