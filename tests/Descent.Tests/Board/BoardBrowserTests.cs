using System.Text.RegularExpressions;
using Descent.Board;
using Descent.TensorBoard;
using Descent.Tests.Logging;
using Microsoft.Playwright;

namespace Descent.Tests.Board;

/// <summary>
/// The board's page in a real browser: Debian's chromium, driven by Playwright through its executable path
/// (no browser download). Skipped where chromium is not installed.
/// </summary>
public sealed class BoardBrowserTests
{

    // Generous: a two-core machine busy with other builds may take many seconds to start a browser, and the
    // page looks at the board every 5 seconds.
    private static readonly float PatienceMs = 60_000;

    [SkippableFact]
    public async Task The_page_draws_every_run_and_a_point_appended_while_it_is_open()
    {
        SystemPackages.Chromium.Require();
        using var dir = new TempDirectory();
        WriteRun(dir.Sub("runs/b"), "train/loss", 4, 3, 2);
        WriteRun(dir.Sub("runs/c"), "eval/accuracy", 0.5, 0.75, 0.875);
        using var live = new SummaryWriter(dir.Sub("runs/a"));
        foreach (var (step, loss) in new[] { (0, 3.0), (1, 2.5), (2, 1.5) }) live.AddScalar("train/loss", loss, step);
        live.Flush();

        using var board = BoardServer.Start(dir.Path, port: 0);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = SystemPackages.OnPath("chromium"),
            Headless = true,
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
            Timeout = PatienceMs,
        });
        var page = await browser.NewPageAsync();
        await page.GotoAsync(board.Url.ToString(), new() { Timeout = PatienceMs });

        // Every run's curve on its tag's chart, with the three points written.
        foreach (var (tag, run) in new[] { ("train/loss", "runs/a"), ("train/loss", "runs/b"), ("eval/accuracy", "runs/c") })
            await Assertions.Expect(Curve(page, tag, run)).ToHaveAttributeAsync("data-points", "3", new() { Timeout = PatienceMs });
        Assert.Equal(3, Vertices(await Curve(page, "train/loss", "runs/a").GetAttributeAsync("d")));

        // A point written while the page is open shows up without a reload.
        live.AddScalar("train/loss", 1.0, 3);
        live.Flush();
        await Assertions.Expect(Curve(page, "train/loss", "runs/a")).ToHaveAttributeAsync("data-points", "4", new() { Timeout = PatienceMs });
        Assert.Equal(4, Vertices(await Curve(page, "train/loss", "runs/a").GetAttributeAsync("d")));
        Assert.Equal("3", await Curve(page, "train/loss", "runs/b").GetAttributeAsync("data-points"));
    }

    private static void WriteRun(string dir, string tag, params double[] values)
    {
        using var writer = new SummaryWriter(dir);
        for (int i = 0; i < values.Length; i++) writer.AddScalar(tag, values[i], i);
    }

    /// <summary>The drawn (smoothed) curve of <paramref name="run"/> on the chart of <paramref name="tag"/>.</summary>
    private static ILocator Curve(IPage page, string tag, string run) =>
        page.Locator($".card[data-tag=\"{tag}\"] svg path[data-run=\"{run}\"]");

    /// <summary>How many points an SVG path's <c>d</c> visits: one per move-to or line-to.</summary>
    private static int Vertices(string? d) => Regex.Count(d ?? "", "[ML]");
}
