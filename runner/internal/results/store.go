package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// File names inside a run folder.
const (
	RunFile       = "run.json"
	timelineExt   = ".jsonl"
	summarySuffix = ".summary.json"
)

// TimelinePath and SummaryPath name a model's files in dir.
func TimelinePath(dir, model string) string { return filepath.Join(dir, model+timelineExt) }
func SummaryPath(dir, model string) string  { return filepath.Join(dir, model+summarySuffix) }

// WriteRun (re)writes run.json. It is written at the start of a run and
// again at the end, through a temporary file so a crash never leaves half
// a file.
func WriteRun(dir string, r *Run) error {
	return writeJSON(filepath.Join(dir, RunFile), r)
}

// WriteSummary writes a model's summary.
func WriteSummary(dir string, s *Summary) error {
	return writeJSON(SummaryPath(dir, s.Model), s)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Timeline appends records to a model's .jsonl file. Each record is one
// write(2) to a file opened O_APPEND, so whatever was appended survives a
// crash of the runner.
type Timeline struct {
	mu  sync.Mutex // records come from the sampling loop and the model's report readers
	f   *os.File
	err error // the first failed write: every record after it is lost
}

// CreateTimeline opens (creating or truncating) a model's timeline.
func CreateTimeline(dir, model string) (*Timeline, error) {
	f, err := os.OpenFile(TimelinePath(dir, model), os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create timeline: %w", err)
	}
	return &Timeline{f: f}, nil
}

// Append writes one record.
func (t *Timeline) Append(r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode %s record: %w", r.Type, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return t.err
	}
	if _, err := t.f.Write(append(b, '\n')); err != nil {
		t.err = fmt.Errorf("append to %s: %w", t.f.Name(), err)
		return t.err
	}
	return nil
}

// Err returns the first write that failed, nil while every record was
// kept: the measurement stops when nothing it measures can be saved.
func (t *Timeline) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// Sync flushes the file to disk; called at step ends.
func (t *Timeline) Sync() error { return t.f.Sync() }

// Close closes the file.
func (t *Timeline) Close() error { return t.f.Close() }

// Loaded is a whole run folder read back.
type Loaded struct {
	Dir       string
	Run       Run
	Timelines map[string][]Record // by model, in file order
	Summaries map[string]Summary  // by model; missing for a model whose run crashed
}

// Models returns the run's models in measuring order, including any that
// have a timeline but were not listed (a crashed run).
func (l *Loaded) Models() []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range l.Run.Models {
		if _, ok := l.Timelines[m]; ok && !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	var rest []string
	for m := range l.Timelines {
		if !seen[m] {
			rest = append(rest, m)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// Steps returns a model's step records.
func (l *Loaded) Steps(model string) []Step {
	var out []Step
	for _, r := range l.Timelines[model] {
		if r.Step != nil {
			out = append(out, *r.Step)
		}
	}
	return out
}

// Samples returns a model's per-second samples.
func (l *Loaded) Samples(model string) []Sample {
	var out []Sample
	for _, r := range l.Timelines[model] {
		if r.Sample != nil {
			out = append(out, *r.Sample)
		}
	}
	return out
}

// Load reads a run folder. A timeline whose last line was cut short by a
// crash is read up to that line.
func Load(dir string) (*Loaded, error) {
	l := &Loaded{Dir: dir, Timelines: map[string][]Record{}, Summaries: map[string]Summary{}}
	b, err := os.ReadFile(filepath.Join(dir, RunFile))
	if err != nil {
		return nil, fmt.Errorf("load run %s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &l.Run); err != nil {
		return nil, fmt.Errorf("load run %s: %s: %w", dir, RunFile, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load run %s: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, summarySuffix):
			var s Summary
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				return nil, fmt.Errorf("load run %s: %w", dir, err)
			}
			if err := json.Unmarshal(b, &s); err != nil {
				return nil, fmt.Errorf("load run %s: %s: %w", dir, name, err)
			}
			l.Summaries[strings.TrimSuffix(name, summarySuffix)] = s
		case strings.HasSuffix(name, timelineExt):
			recs, err := readTimeline(filepath.Join(dir, name))
			if err != nil {
				return nil, fmt.Errorf("load run %s: %w", dir, err)
			}
			l.Timelines[strings.TrimSuffix(name, timelineExt)] = recs
		}
	}
	return l, nil
}

func readTimeline(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(b, &r); err != nil {
			// A torn last line is what a crash leaves; anything else is damage.
			if !sc.Scan() {
				break
			}
			return nil, fmt.Errorf("%s line %d: %w", filepath.Base(path), line, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return out, nil
}

// Latest returns the newest run folder under root (run IDs sort by time).
func Latest(root string) (string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return "", fmt.Errorf("find latest run: %w", err)
	}
	var runs []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, e.Name(), RunFile)); err == nil {
			runs = append(runs, e.Name())
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	if len(runs) == 0 {
		return "", fmt.Errorf("no runs in %s: run `make bench` first", root)
	}
	sort.Strings(runs)
	return filepath.Join(root, runs[len(runs)-1]), nil
}
