package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"c10klab/runner/internal/results"
)

// HTMLFile is the HTML report's name in a run folder.
const HTMLFile = "REPORT.html"

// The page is one file with nothing to fetch: its style, its script and
// every chart are inside it, so it opens the same from a laptop, a CI
// artifact or a host with no network.
//
//go:embed report.html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{"prose": prose, "tableOf": tableOf}).Parse(htmlSource))

// HTML renders REPORT.html for a loaded run: the same cells and prose as
// REPORT.md (the tables of cells.go), with the summary sortable (a small
// script) and filterable by family (CSS alone), each model's story in a
// section of its own that opens on demand, and the charts inline. charts
// are the files plot.Render wrote; each SVG is read and inlined (its
// points carry titles a browser shows on hover). A chart that cannot be
// read is named in its place; the page works without JavaScript except
// for sorting.
func HTML(l *results.Loaded, charts []string) ([]byte, error) {
	run := l.Run
	rs := rows(l)
	svgs := chartFiles(charts, ".svg")
	links := chartLinks(l.Dir, charts)

	summary, order := summaryTable(rs)
	p := htmlPage{
		ID:               run.ID,
		Facts:            factsOf(run),
		NotFinished:      notFinished,
		Warnings:         collectWarnings(l, rs),
		Explained:        summaryExplained,
		DerivedNote:      derivedNote,
		RepeatsExplained: repeatsExplained,
		HostileExplained: hostileExplained,
		Repeat:           run.Config.Repeat,
		Machine:          machineFacts(run.Env),
		Settings:         htmlTableOf(settingsTable(run.Config), false),
		Versions:         versions(run),
	}
	if len(l.Damaged) > 0 {
		p.DamagedNote = damagedNote
		for _, d := range l.Damaged {
			p.Damaged = append(p.Damaged, d.String())
		}
	}
	if anyStored(rs) {
		p.Stored = storedNote
	}

	// The families present, in the order the charts group them; a model of
	// no known family is in "—".
	for _, r := range order {
		if !slices.Contains(p.Families, r.family) {
			p.Families = append(p.Families, r.family)
		}
	}
	slices.SortStableFunc(p.Families, func(a, b string) int { return familyIndex(a) - familyIndex(b) })
	p.Summary = htmlTableOf(summary, true)
	capacities := map[string]string{}
	for i, r := range order {
		p.Summary.Rows[i].Fam = slices.Index(p.Families, r.family)
		p.Summary.Rows[i].Cells[0].Link = "#" + modelID(r.Model)
		p.AnyDerived = p.AnyDerived || r.derived
		capacities[r.Model] = summary.rows[i][2].Text
	}
	if run.Config.Repeat > 1 {
		t := htmlTableOf(repeatsTable(l), false)
		p.Repeats = &t
	}
	if h := hostileTable(rs); len(h.rows) > 0 {
		t := htmlTableOf(h, false)
		p.Hostile = &t
	}
	if w, ok := workTable(rs); ok {
		t := htmlTableOf(w, false)
		p.Work, p.WorkExplained = &t, workExplained
		if ch, ok := chartOf(svgs, links, results.WorkChart, "Capacity under the work each message costs"); ok {
			p.WorkChart = &ch
		}
	}
	for _, c := range chartCaptions {
		if ch, ok := chartOf(svgs, links, c.name, c.alt); ok {
			p.Charts = append(p.Charts, ch)
		}
	}
	for _, r := range rs {
		m := htmlModel{Name: r.Model, ID: modelID(r.Model), Family: r.family, Capacity: capacities[r.Model], Stop: string(r.Stop),
			Diagnosis: diagnosisOf(r), Derived: r.derived, Steps: htmlTableOf(stepsTable(l.Steps(r.Model)), false)}
		if t := reportsTable(l, r.Model); len(t.rows) > 0 {
			h := htmlTableOf(t, false)
			m.Reports = &h
		}
		if t := eventsTable(l, r.Model); len(t.rows) > 0 {
			h := htmlTableOf(t, false)
			m.Events = &h
		}
		for _, c := range []struct{ name, alt string }{
			{results.FailuresChart(r.Model), "Failures by class: " + r.Model},
			{results.TimelineChart(r.Model), "Timeline: " + r.Model},
		} {
			if ch, ok := chartOf(svgs, links, c.name, c.alt); ok {
				m.Charts = append(m.Charts, ch)
			}
		}
		p.Models = append(p.Models, m)
	}
	if len(run.Env.Limits) > 0 {
		t := htmlTableOf(limitsTable(run.Env), false)
		p.Limits = &t
	}

	var b bytes.Buffer
	if err := htmlTemplate.Execute(&b, p); err != nil {
		return nil, fmt.Errorf("render %s: %w", HTMLFile, err)
	}
	return b.Bytes(), nil
}

type htmlPage struct {
	ID          string
	Facts       runFacts
	NotFinished string
	DamagedNote string
	Damaged     []string
	Warnings    []string

	Families    []string
	Summary     htmlTable
	AnyDerived  bool
	DerivedNote string
	Explained   string
	Stored      string

	Repeat           int
	Repeats          *htmlTable
	RepeatsExplained string
	Hostile          *htmlTable
	HostileExplained string
	Work             *htmlTable
	WorkExplained    string
	WorkChart        *htmlChart

	Charts []htmlChart
	Models []htmlModel

	Machine  [][2]string
	Limits   *htmlTable
	Settings htmlTable
	Versions [][2]string
}

type htmlModel struct {
	Name, ID, Family, Capacity, Stop, Diagnosis string
	Derived                                     bool
	Steps                                       htmlTable
	Reports, Events                             *htmlTable
	Charts                                      []htmlChart
}

// htmlTable is a table of cells as the page prints it.
type htmlTable struct {
	Head     []htmlHead
	Rows     []htmlRow
	Sortable bool
}

type htmlHead struct {
	Text string
	Num  bool // a column of figures: right-aligned, sorted as numbers
}

type htmlRow struct {
	Fam   int // index into htmlPage.Families, for the filter
	Cells []htmlCell
}

type htmlCell struct {
	Cell
	Num bool // in a column of figures
	// Sort is the figure to sort by ("" for none: sorted last), printed
	// only in a sortable table.
	Sort string
	Link string
}

func htmlTableOf(t table, sortable bool) htmlTable {
	out := htmlTable{Sortable: sortable}
	for i, h := range t.head {
		out.Head = append(out.Head, htmlHead{Text: h, Num: t.right[i]})
	}
	for _, r := range t.rows {
		row := htmlRow{}
		for i, c := range r {
			hc := htmlCell{Cell: c, Num: t.right[i]}
			if c.HasNum {
				hc.Sort = strconv.FormatFloat(c.Num, 'g', -1, 64)
			}
			row.Cells = append(row.Cells, hc)
		}
		out.Rows = append(out.Rows, row)
	}
	return out
}

// tableArgs is what the template's "table" prints: a table and its class.
type tableArgs struct {
	T     htmlTable
	Class string
}

func tableOf(t any, class string) (tableArgs, error) {
	switch t := t.(type) {
	case htmlTable:
		return tableArgs{T: t, Class: class}, nil
	case *htmlTable:
		return tableArgs{T: *t, Class: class}, nil
	}
	return tableArgs{}, fmt.Errorf("tableOf: %T is not a table", t)
}

// htmlChart is one chart inline, with links to its files beside the page.
type htmlChart struct {
	Alt     string
	SVG     template.HTML // the drawing, as plot wrote it
	PNG     string
	SVGFile string
	Missing string // why the drawing is not here
}

// chartOf is the named chart, when plot drew it.
func chartOf(svgs, links map[string]string, name, alt string) (htmlChart, bool) {
	path, ok := svgs[name]
	if !ok {
		return htmlChart{}, false
	}
	c := htmlChart{Alt: alt, PNG: links[name]}
	if c.PNG != "" {
		c.SVGFile = strings.TrimSuffix(c.PNG, ".png") + ".svg"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		c.Missing = fmt.Sprintf("not drawn: %v", err)
		return c, true
	}
	svg, err := inlineSVG(b, alt)
	if err != nil {
		c.Missing = fmt.Sprintf("not drawn: %s: %v", filepath.Base(path), err)
		return c, true
	}
	c.SVG = svg
	return c, true
}

// inlineSVG is an SVG file as an element of the page: without its XML
// prologue, and named for a screen reader.
func inlineSVG(b []byte, alt string) (template.HTML, error) {
	i := bytes.Index(b, []byte("<svg"))
	if i < 0 {
		return "", fmt.Errorf("no <svg> element")
	}
	label := `<svg role="img" aria-label="` + template.HTMLEscapeString(alt) + `"`
	// The file is plot's own drawing, not input from elsewhere: trusted
	// as HTML.
	return template.HTML(label + string(b[i+len("<svg"):])), nil // #nosec G203
}

// chartFiles maps a chart's name to its file of the given extension.
func chartFiles(charts []string, ext string) map[string]string {
	out := map[string]string{}
	for _, c := range charts {
		if filepath.Ext(c) == ext {
			out[strings.TrimSuffix(filepath.Base(c), ext)] = c
		}
	}
	return out
}

// modelID is a model's section anchor.
func modelID(model string) string { return "m-" + results.FileName(model) }

// familyIndex orders families as results.FamilyOrder does; others last.
func familyIndex(f string) int {
	if i := slices.Index(results.FamilyOrder, f); i >= 0 {
		return i
	}
	return len(results.FamilyOrder)
}

// prose renders the report's prose (cells.go, markdown.go): text with
// **bold** and `code`, escaped everywhere else.
func prose(s string) template.HTML {
	var b strings.Builder
	for i, part := range strings.Split(s, "**") {
		if i%2 == 1 {
			b.WriteString("<strong>")
		}
		for j, seg := range strings.Split(part, "`") {
			if j%2 == 1 {
				b.WriteString("<code>" + template.HTMLEscapeString(seg) + "</code>")
			} else {
				b.WriteString(template.HTMLEscapeString(seg))
			}
		}
		if i%2 == 1 {
			b.WriteString("</strong>")
		}
	}
	return template.HTML(b.String()) // #nosec G203 -- every piece is escaped above
}
