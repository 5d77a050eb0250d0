package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"c10klab/runner/internal/report"
	"c10klab/runner/internal/results"
)

// chromium is Debian's browser, package chromium (make deps installs it).
const chromium = "/usr/bin/chromium"

// TestReportInBrowser opens REPORT.html of the report's fixture run in a
// real, headless Chromium and checks through the DevTools protocol what a
// reader would see: no console error, one summary row per model, sorting
// by capacity, the family filter, one model's section opening alone,
// every chart drawn with its points under the pointer, no page-wide
// scrolling at phone width; then again with JavaScript off. It saves a
// screenshot at desktop and at phone width into $C10K_SCREENSHOTS (else a
// temporary folder) and logs their paths. Set C10K_NO_BROWSER=1 to skip
// it on a machine without Chromium.
func TestReportInBrowser(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("C10K_NO_BROWSER") != "" {
			t.Skipf("%s: %v; C10K_NO_BROWSER is set", chromium, err)
		}
		t.Fatalf("%s: %v: install Debian's package chromium (apt-get install chromium; make deps does), or set C10K_NO_BROWSER=1 to skip this test", chromium, err)
	}
	dir, models := familyRun(t)
	if err := Render(dir); err != nil {
		t.Fatal(err)
	}
	shots := os.Getenv("C10K_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	svgs, _ := filepath.Glob(filepath.Join(dir, "*.svg"))
	page := "file://" + filepath.Join(dir, report.HTMLFile)

	b := newBrowser(t)
	ctx := b.tab(t, false)
	run(t, ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("table.summary")))

	const rowNames = `[...document.querySelectorAll("table.summary tbody tr")].filter(r => r.getClientRects().length > 0).map(r => r.cells[0].firstChild.textContent)`
	const capacities = `[...document.querySelectorAll("table.summary tbody tr")].map(r => r.cells[2].dataset.v).filter(v => v !== "").map(Number)`
	initial := eval[[]string](t, ctx, rowNames)
	if !sameSet(initial, models) {
		t.Fatalf("summary rows %v, want one per model %v", initial, models)
	}

	// Sorting: the first click on a figure's column sorts it largest
	// first, the second smallest first, by the numbers behind the text.
	run(t, ctx, chromedp.Click(chromedp.CSS("table.summary thead th:nth-child(3) button")))
	if got := eval[[]float64](t, ctx, capacities); !sort.IsSorted(sort.Reverse(sort.Float64Slice(got))) {
		t.Errorf("capacity sorted largest first: %v", got)
	}
	run(t, ctx, chromedp.Click(chromedp.CSS("table.summary thead th:nth-child(3) button")))
	if got := eval[[]float64](t, ctx, capacities); !sort.Float64sAreSorted(got) || len(got) < 2 {
		t.Errorf("capacity sorted smallest first: %v", got)
	}
	if got := eval[[]string](t, ctx, rowNames); slices.Equal(got, initial) {
		t.Errorf("sorting by capacity did not reorder the rows: %v", got)
	}
	if got := eval[string](t, ctx, `document.querySelector("table.summary thead th:nth-child(3)").getAttribute("aria-sort")`); got != "ascending" {
		t.Errorf("capacity header says aria-sort=%q, want ascending", got)
	}

	checkFilter(t, ctx, rowNames, len(models))
	checkSections(t, ctx, models)
	checkCharts(t, ctx, len(svgs))
	run(t, ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	shoot(t, ctx, filepath.Join(shots, "report-desktop.png"))

	// At phone width the page itself must not scroll sideways: the wide
	// tables scroll in their own boxes and the charts scale down.
	run(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	if w := eval[float64](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("at 390 px the page is %.0f px wide: something does not fit", w)
	}
	if w := eval[float64](t, ctx, `Math.max(...[...document.querySelectorAll("figure svg")].map(s => s.getBoundingClientRect().width))`); w > 390 {
		t.Errorf("at 390 px a chart is %.0f px wide", w)
	}
	shoot(t, ctx, filepath.Join(shots, "report-phone.png"))
	b.checkConsole(t)

	// JavaScript off: no sort buttons, but the table, the filter (CSS),
	// the sections (<details>) and the charts (inline SVG) all work.
	off := b.tab(t, true)
	run(t, off, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("table.summary")))
	if n := eval[int](t, off, `document.querySelectorAll("table.summary th button").length`); n != 0 {
		t.Errorf("with JavaScript off the page still ran its script (%d sort buttons)", n)
	}
	if got := eval[[]string](t, off, rowNames); !sameSet(got, models) {
		t.Errorf("with JavaScript off, summary rows %v, want %v", got, models)
	}
	checkFilter(t, off, rowNames, len(models))
	checkSections(t, off, models)
	checkCharts(t, off, len(svgs))
	b.checkConsole(t)
}

// familyRun is the report's fixture run in a temporary folder, its models
// given families so that the filter has something to filter.
func familyRun(t *testing.T) (dir string, models []string) {
	t.Helper()
	dir = copyFixture(t)
	l, err := results.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	l.Run.Families = map[string]string{"epoll": "Go reactor", "goroutine": "Go goroutines", "threaded": "Go thread/process"}
	if err := results.WriteRun(dir, &l.Run); err != nil {
		t.Fatal(err)
	}
	return dir, l.Models()
}

// checkFilter picks each family in turn (a click on its label, as a
// reader does) and expects fewer rows, then all of them again.
func checkFilter(t *testing.T, ctx context.Context, rowNames string, all int) {
	t.Helper()
	families := eval[int](t, ctx, `document.querySelectorAll(".filter input:not(#fam-all)").length`)
	if families < 2 {
		t.Fatalf("the filter offers %d families", families)
	}
	shown := 0
	for i := range families {
		run(t, ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`label[for="fam-%d"]`, i))))
		got := eval[[]string](t, ctx, rowNames)
		if len(got) == 0 || len(got) >= all {
			t.Errorf("family %d shows %d of %d rows: %v", i, len(got), all, got)
		}
		shown += len(got)
	}
	if shown != all {
		t.Errorf("the families together show %d rows, want %d", shown, all)
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(`label[for="fam-all"]`)))
	if got := eval[[]string](t, ctx, rowNames); len(got) != all {
		t.Errorf("\"all\" shows %d rows, want %d", len(got), all)
	}
}

// checkSections opens each model's section with a click on its summary:
// each opens alone, and all are open afterwards (so the charts in them
// are laid out for checkCharts and the screenshots).
func checkSections(t *testing.T, ctx context.Context, models []string) {
	t.Helper()
	if n := eval[int](t, ctx, `document.querySelectorAll("details.model[open]").length`); n != 0 {
		t.Errorf("%d model sections open at first, want none", n)
	}
	for i, m := range models {
		run(t, ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`details#m-%s > summary`, results.FileName(m)))))
		open := eval[[]string](t, ctx, `[...document.querySelectorAll("details.model[open]")].map(d => d.id)`)
		if len(open) != i+1 || !slices.Contains(open, "m-"+results.FileName(m)) {
			t.Errorf("after opening %s, open sections: %v", m, open)
		}
	}
}

// chart is what the page says of one inline chart.
type chart struct {
	Label  string
	W, H   float64
	Drawn  int
	Titles int
}

// checkCharts expects every chart drawn: a box of some size with shapes
// and text in it, its points titled, and a point under the pointer when
// the pointer is on it (the invisible titled shape is on top).
func checkCharts(t *testing.T, ctx context.Context, want int) {
	t.Helper()
	charts := eval[[]chart](t, ctx, `[...document.querySelectorAll("figure svg")].map(s => {
		const r = s.getBoundingClientRect();
		return {Label: s.getAttribute("aria-label"), W: r.width, H: r.height,
			Drawn: s.querySelectorAll("path, text").length, Titles: s.querySelectorAll(".hover title").length};
	})`)
	if len(charts) != want {
		t.Errorf("%d charts on the page, %d drawn", len(charts), want)
	}
	for _, c := range charts {
		if c.W < 100 || c.H < 50 || c.Drawn < 20 || c.Titles == 0 {
			t.Errorf("chart %q: %.0f×%.0f px, %d shapes and texts, %d titled points", c.Label, c.W, c.H, c.Drawn, c.Titles)
		}
	}
	hit := eval[string](t, ctx, `(() => {
		const c = document.querySelector("figure svg .hover circle");
		c.scrollIntoView({block: "center"});
		const r = c.getBoundingClientRect();
		const at = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
		return at === c ? c.querySelector("title").textContent : "under the pointer: " + (at && at.outerHTML.slice(0, 80));
	})()`)
	if !strings.Contains(hit, " offered, ") {
		t.Errorf("the first chart's first point does not answer the pointer: %s", hit)
	}
}

// browser is one headless Chromium for the test, and what its pages wrote
// to the console.
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	// The flags keep Chromium off the network (this machine's is closed:
	// its background connections are refused) and out of the user's
	// profile.
	actx, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()))
	t.Cleanup(cancel)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(cancelCtx)
	// Bound the whole test: a browser that hangs must not hang the suite.
	watchdog := time.AfterFunc(2*time.Minute, cancel)
	t.Cleanup(func() { watchdog.Stop() })
	return &browser{ctx: ctx}
}

// tab opens a tab (the first call starts the browser), listening for
// console errors and uncaught exceptions; noScript turns JavaScript off
// in it before anything loads.
func (b *browser) tab(t *testing.T, noScript bool) context.Context {
	t.Helper()
	ctx := b.ctx
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[chromedp.Void]("1")); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	if noScript {
		var cancel context.CancelFunc
		ctx, cancel = chromedp.NewContext(b.ctx)
		t.Cleanup(cancel)
		if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatalf("turn JavaScript off: %v", err)
		}
	}
	err := chromedp.Listen(ctx, func(ev any) {
		var p string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			p = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				p += " " + ev.ExceptionDetails.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				p = "console.error"
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				p = fmt.Sprintf("log %s: %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
			}
		}
		if p != "" {
			b.mu.Lock()
			b.problems = append(b.problems, p)
			b.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("listen to the console: %v", err)
	}
	return ctx
}

func (b *browser) checkConsole(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		t.Errorf("the page's console: %s", p)
	}
	b.problems = nil
}

func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

func shoot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

func sameSet(a, b []string) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(s string) bool { return !slices.Contains(b, s) })
}
