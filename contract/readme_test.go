package contract_test

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"c10klab/contract"
)

// The models' README is the contract for a model in any language: its
// tables must say what this package says.

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../models/README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// table returns the body rows of the Markdown table whose header is header.
func table(t *testing.T, doc, header string) []string {
	t.Helper()
	lines := strings.Split(doc, "\n")
	i := slices.Index(lines, header)
	if i < 0 || i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "|---") {
		t.Fatalf("models/README.md has no table headed %q", header)
	}
	var rows []string
	for _, l := range lines[i+2:] {
		if !strings.HasPrefix(l, "|") {
			break
		}
		rows = append(rows, l)
	}
	return rows
}

func code(s string) string { return "`" + s + "`" }

func TestReadmeVariablesTable(t *testing.T) {
	var want []string
	for _, v := range contract.Vars() {
		def := code(v.Default)
		if v.Default == "none" {
			def = "none"
		}
		want = append(want, "| "+code(v.Name)+" | "+v.Meaning+" | "+def+" |")
	}
	got := table(t, readme(t), "| variable | meaning | default |")
	if !slices.Equal(got, want) {
		t.Fatalf("models/README.md's variables table differs from contract.Vars; want:\n%s\ngot:\n%s",
			strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
}

func TestReadmeKindsTable(t *testing.T) {
	var want []string
	for _, k := range contract.Kinds() {
		want = append(want, "| "+code(k.Name)+" | "+k.Meaning+" |")
	}
	got := table(t, readme(t), "| kind | meaning |")
	if !slices.Equal(got, want) {
		t.Fatalf("models/README.md's kinds table differs from contract.Kinds; want:\n%s\ngot:\n%s",
			strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
}

// The README's example line has exactly the fields of contract.Report and
// parses as a report.
func TestReadmeReportExample(t *testing.T) {
	doc := readme(t)
	_, after, ok := strings.Cut(doc, "```json\n")
	if !ok {
		t.Fatal("models/README.md has no json example")
	}
	line, _, _ := strings.Cut(after, "\n")
	var fields map[string]any
	if err := json.Unmarshal([]byte(line), &fields); err != nil {
		t.Fatalf("example %s: %v", line, err)
	}
	if _, ok := contract.ParseReport([]byte(line)); !ok {
		t.Fatalf("example %s is not a report", line)
	}
	var want []string
	rt := reflect.TypeFor[contract.Report]()
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		want = append(want, name)
	}
	var got []string
	for k := range fields {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("example has fields %q, contract.Report has %q", got, want)
	}
}

func TestReadmeStopBudget(t *testing.T) {
	want := "the runner allows " + strings.TrimSuffix(contract.StopBudget.String(), "s") + " s"
	if !strings.Contains(readme(t), want) {
		t.Fatalf("models/README.md does not say %q (contract.StopBudget)", want)
	}
}
