using System.Diagnostics;
using System.Runtime.Intrinsics;
using Descent.Kernels;
using Descent.Optim;

namespace Descent.Tests.Kernels;

/// <summary>
/// The kernel, element-wise and optimizer tests again, in child test processes whose runtime is told to use
/// narrower vectors: <c>DOTNET_EnableAVX512=0</c> (AVX2 only, 256-bit) and <c>DOTNET_EnableAVX2=0</c> (128-bit
/// vectors without FMA, the code paths an ARM64 NEON or a pre-AVX2 x86 takes). Vector-width branches that test
/// <c>Vector256.IsHardwareAccelerated</c> are fixed when a method is compiled, so they can only be forced this
/// way, not from inside one process.
/// </summary>
public class InstructionSetTests
{
    /// <summary>Set in the child processes: the vector width their runtime is expected to have.</summary>
    private const string ExpectedBitsVariable = "DESCENT_TEST_EXPECTED_VECTOR_BITS";

    /// <summary>The tests the children run: everything whose code branches on the vector width.</summary>
    private const string Filter =
        "(FullyQualifiedName~Descent.Tests.Kernels|FullyQualifiedName~Descent.Tests.Ops.ElementwiseKernelTests"
        + "|FullyQualifiedName~Descent.Tests.Optim|FullyQualifiedName~Descent.Tests.Fixtures.OpsFixtureTests)"
        + "&FullyQualifiedName!~InstructionSetTests.Kernels_pass_with";

    [Theory]
    [InlineData("DOTNET_EnableAVX512", 256)]
    [InlineData("DOTNET_EnableAVX2", 128)]
    public async Task Kernels_pass_with_narrower_vectors(string switchedOff, int expectedBits)
    {
        // Only meaningful where the switched-off width is there to lose: an x86 with AVX-512 (or AVX2).
        if (expectedBits == 256 ? !Vector512.IsHardwareAccelerated : !Vector256.IsHardwareAccelerated) return;
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "test", typeof(InstructionSetTests).Assembly.Location, "--filter", Filter }) start.ArgumentList.Add(arg);
        start.Environment[switchedOff] = "0";
        start.Environment[ExpectedBitsVariable] = expectedBits.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.Start(start)!;
        var stderrRead = process.StandardError.ReadToEndAsync();
        string stdout = await process.StandardOutput.ReadToEndAsync();
        string stderr = await stderrRead;
        await process.WaitForExitAsync();
        string tail = stdout.Length > 4000 ? stdout[^4000..] : stdout;
        Assert.True(process.ExitCode == 0, $"{switchedOff}=0: child test run failed (exit {process.ExitCode}):\n{tail}\n{stderr}");
        Assert.Contains("Passed!", stdout);
    }

    /// <summary>
    /// In a child process: the switch took effect (the runtime has exactly the width the parent asked for) and
    /// the kernels chose the code for it. In a plain run: nothing to check.
    /// </summary>
    [Fact]
    public void Child_process_runs_the_width_it_was_given()
    {
        string? expected = Environment.GetEnvironmentVariable(ExpectedBitsVariable);
        if (expected is null) return;
        int bits = Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : Vector128.IsHardwareAccelerated ? 128 : 0;
        Assert.Equal(int.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), bits);
        var expectedWidth = bits == 256 ? VectorWidth.Bits256 : VectorWidth.Bits128;
        Assert.Equal(expectedWidth, UpdateRules.DefaultWidth);
        var expectedKernel = bits == 256 ? GemmKernel.Avx2 : System.Runtime.Intrinsics.X86.Avx.IsSupported ? GemmKernel.Avx : GemmKernel.Vector128;
        Assert.Equal(expectedKernel, Gemm.BestKernel);
    }
}
