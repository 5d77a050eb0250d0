package report

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"c10klab/runner/internal/plot"
	"c10klab/runner/internal/results"
)

// drawnRun is run-small copied to a temporary folder with its charts
// drawn there, as a run leaves it: what REPORT.html inlines.
func drawnRun(t *testing.T) (*results.Loaded, []string) {
	t.Helper()
	dir := copyRun(t, runSmall)
	l := mustLoad(t, dir)
	charts, err := plot.Render(l, dir)
	if err != nil {
		t.Fatal(err)
	}
	return l, charts
}

// inlineSVGs matches each inline chart's drawing, kept by its label.
var inlineSVGs = regexp.MustCompile(`(?s)(<svg role="img" aria-label="[^"]*")[^>]*>.*?</svg>`)

// TestHTMLGolden compares REPORT.html with its golden file. The charts'
// drawings are plot's (tested there) and are folded to their labels
// here, so a change of a chart's look does not churn this file.
func TestHTMLGolden(t *testing.T) {
	l, charts := drawnRun(t)
	page, err := HTML(l, charts)
	if err != nil {
		t.Fatal(err)
	}
	got := inlineSVGs.ReplaceAll(page, []byte("$1>…</svg>"))
	path := filepath.Join("testdata", "REPORT.golden.html")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("REPORT.html differs from %s (run with -update after checking):\n%s", path, got)
	}
}

// TestHTMLContent checks what the page must hold, so an -update cannot
// bless a page that lost it: the same figures as REPORT.md, every chart
// inline with titled points, a section per model, nothing fetched.
func TestHTMLContent(t *testing.T) {
	l, charts := drawnRun(t)
	b, err := HTML(l, charts)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	md, err := Markdown(l, charts)
	if err != nil {
		t.Fatal(err)
	}
	// Every figure of REPORT.md's summary is in the page's, row by row.
	summary, _ := summaryTable(rows(l))
	for _, r := range summary.rows {
		mdRow := "| " + mdCell(r[0])
		if !strings.Contains(string(md), mdRow) {
			t.Fatalf("REPORT.md has no row %q", mdRow)
		}
		at := strings.Index(page, `<a href="#`+modelID(r[0].Text)+`">`)
		if at < 0 {
			t.Fatalf("no summary row links %s's section", r[0].Text)
		}
		row := page[at:]
		row = row[:strings.Index(row, "</tr>")]
		for _, c := range r[1:] {
			if !strings.Contains(row, ">"+htmlText(c.Text)+"</td>") {
				t.Errorf("%s's summary row lacks the cell %q: %s", r[0].Text, c.Text, row)
			}
		}
	}
	for _, want := range []string{
		`<td class="num" data-v="3983">3.98k</td>`,               // a figure sorts by its number
		`<td class="num" data-v="">—</td>`,                       // no figure: "—", sorted last
		`<a href="#m-threaded">threaded</a><sup>*</sup>`,         // derived, marked
		`<details class="model" id="m-goroutine">`,               // a section per model
		"accept failed with EMFILE",                              // its diagnosis
		"machine: open files (soft)",                             // the warnings, at the top
		`<td><strong>no</strong></td>`,                           // a failed step says so
		"<title>goroutine at 4k offered: p99 ",                   // a titled point
		`<a href="timeline-epoll.png">PNG</a>`,                   // the chart files beside it
		`<label for="fam-0">no family</label>`,                   // the filter
		`body:has(#fam-0:checked) .summary tbody tr:not(.fam-0)`, // works without script
	} {
		if !strings.Contains(page, want) {
			t.Errorf("REPORT.html lacks %q", want)
		}
	}
	if n, want := strings.Count(page, `<details class="model"`), len(l.Models()); n != want {
		t.Errorf("%d model sections, want %d", n, want)
	}
	if n, want := strings.Count(page, `<svg role="img"`), len(charts)/2; n != want {
		t.Errorf("%d charts inline, want %d (one per chart drawn)", n, want)
	}
	if i, j := strings.Index(page, `id="warnings"`), strings.Index(page, `id="summary"`); i < 0 || i > j {
		t.Errorf("the warnings are not above the summary")
	}
	// Self-contained: nothing the browser would fetch.
	for _, bad := range []string{"NaN", "Inf ", "0.00 ms", "src=", `href="http`, "url(", "@import", "<link"} {
		if strings.Contains(page, bad) {
			t.Errorf("REPORT.html holds %q", bad)
		}
	}
}

// htmlText is s as html/template prints it in a cell.
func htmlText(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;", "'", "&#39;", `"`, "&#34;", "&", "&amp;").Replace(s)
}
