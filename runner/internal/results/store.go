package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	return WriteBytes(path, append(b, '\n'))
}

// Timeline appends records to a model's .jsonl file. Each record is one
// write(2) to a file opened O_APPEND, so whatever was appended survives a
// crash of the runner.
//
// The first failed write, sync or close (a full or read-only disk) is
// sticky: Err returns it from then on and Append writes nothing more, so
// the file ends at the failure, where the reader flags a cut last line,
// and the measurement loop can see that nothing it measures is saved any
// more and stop driving load.
type Timeline struct {
	mu  sync.Mutex // records come from the sampling loop and the model's report readers
	f   *os.File
	err error // the first write, sync or close failure
}

// CreateTimeline opens (creating or truncating) a model's timeline.
func CreateTimeline(dir, model string) (*Timeline, error) {
	f, err := os.OpenFile(TimelinePath(dir, model), os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create timeline: %w", err)
	}
	return &Timeline{f: f}, nil
}

// Append writes one record; after a failure it returns that failure.
func (t *Timeline) Append(r Record) error { return t.AppendValue(r.Type, r) }

// AppendValue writes any value as one line, for JSON-lines files of the
// same discipline whose records are not a Record (the replay's, of
// c10klab replay); kind names the record in an encoding error.
func (t *Timeline) AppendValue(kind string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s record: %w", kind, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return t.err
	}
	if _, err := t.f.Write(append(b, '\n')); err != nil {
		t.err = fmt.Errorf("append to %s: %w", t.f.Name(), err)
	}
	return t.err
}

// Err returns the first failure to save a record, or nil while every
// record so far reached the file. Cheap: poll it once a second.
func (t *Timeline) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// Sync flushes the file to disk; called at step ends.
func (t *Timeline) Sync() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return t.err
	}
	if err := t.f.Sync(); err != nil {
		t.err = fmt.Errorf("sync %s: %w", t.f.Name(), err)
	}
	return t.err
}

// Close closes the file and returns the first failure, of any write
// before or of the close itself.
func (t *Timeline) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.f.Close(); err != nil && t.err == nil {
		t.err = fmt.Errorf("close %s: %w", t.f.Name(), err)
	}
	return t.err
}

// Loaded is a whole run folder read back.
type Loaded struct {
	Dir       string
	Run       Run
	Timelines map[string][]Record // by model, in file order
	Summaries map[string]Summary  // by model; missing for a model whose run crashed
	// Damaged lists what could not be read whole: a timeline whose last
	// line was cut short, or that is gone while its summary exists. What
	// was read is in Timelines; Check turns the list into an error.
	Damaged []Damage
}

// Damage is one file of a run folder that was not read whole.
type Damage struct {
	File    string // base name in the run folder
	Line    int    // the line cut short; 0 when the whole file is missing
	Problem string
}

func (d Damage) String() string {
	if d.Line > 0 {
		return fmt.Sprintf("%s line %d: %s", d.File, d.Line, d.Problem)
	}
	return d.File + ": " + d.Problem
}

// ErrDamaged is wrapped by Check's error.
var ErrDamaged = errors.New("results incomplete")

// Check returns nil when every file of the run was read whole, else an
// error wrapping ErrDamaged that names each damaged file.
func (l *Loaded) Check() error {
	if len(l.Damaged) == 0 {
		return nil
	}
	parts := make([]string, len(l.Damaged))
	for i, d := range l.Damaged {
		parts[i] = d.String()
	}
	return fmt.Errorf("%w in %s: %s", ErrDamaged, l.Dir, strings.Join(parts, "; "))
}

// Models returns the run's models in measuring order, including any that
// have a timeline or a summary but were not listed (a crashed run).
func (l *Loaded) Models() []string {
	has := func(m string) bool {
		_, t := l.Timelines[m]
		_, s := l.Summaries[m]
		return t || s
	}
	seen := map[string]bool{}
	var out []string
	for _, m := range l.Run.Models {
		if has(m) && !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	var rest []string
	for m := range l.Timelines {
		if !seen[m] {
			seen[m] = true
			rest = append(rest, m)
		}
	}
	for m := range l.Summaries {
		if !seen[m] {
			seen[m] = true
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

// Load reads a run folder. A timeline whose last line was cut short (a
// crash or a full disk while it was written) is read up to that line and
// the cut is listed in Damaged, as is a timeline that is gone while its
// model's summary exists; any other unreadable line is an error.
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
		if IsTemp(name) || e.IsDir() {
			continue
		}
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
			f, err := os.Open(filepath.Join(dir, name))
			if err != nil {
				return nil, fmt.Errorf("load run %s: %w", dir, err)
			}
			recs, cut, err := DecodeTimeline(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("load run %s: %s: %w", dir, name, err)
			}
			if cut > 0 {
				l.Damaged = append(l.Damaged, Damage{File: name, Line: cut,
					Problem: fmt.Sprintf("cut short (the run crashed or the disk filled while writing it); read the %d records before it", len(recs))})
			}
			l.Timelines[strings.TrimSuffix(name, timelineExt)] = recs
		}
	}
	for m := range l.Summaries {
		if _, ok := l.Timelines[m]; !ok {
			l.Damaged = append(l.Damaged, Damage{File: m + timelineExt,
				Problem: "missing, while " + m + summarySuffix + " exists: its steps, samples and charts are lost"})
		}
	}
	sort.Slice(l.Damaged, func(i, j int) bool { return l.Damaged[i].File < l.Damaged[j].File })
	return l, nil
}

// maxRecord bounds one timeline line; a sample with every kernel counter
// is a few KiB.
const maxRecord = 16 << 20

// DecodeTimeline reads JSON-lines records. A last line that does not
// decode is what a crash or a full disk leaves: the records before it are
// returned with cut, its line number (0 when every line decoded). A line
// that does not decode before the last is damage and an error.
func DecodeTimeline(r io.Reader) (recs []Record, cut int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxRecord)
	var bad error
	badLine := 0
	for line := 1; sc.Scan(); line++ {
		if bad != nil {
			return nil, 0, fmt.Errorf("line %d: %w", badLine, bad)
		}
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var rec Record
		if err := decodeRecord(b, &rec); err != nil {
			bad, badLine = err, line
			continue
		}
		recs = append(recs, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, 0, err
	}
	return recs, badLine, nil
}

// decodeRecord decodes one line and checks that a record of a known type
// carries the payload its type names: a line that decodes but says
// nothing ("{}", a cut that happens to close) is damage too. A type this
// reader does not know is kept, for a newer runner's records.
func decodeRecord(b []byte, r *Record) error {
	if err := json.Unmarshal(b, r); err != nil {
		return err
	}
	var ok bool
	switch r.Type {
	case "":
		ok = false
	case TypeSample:
		ok = r.Sample != nil
	case TypeStep:
		ok = r.Step != nil
	case TypeReport:
		ok = r.Report != nil
	case TypeEvent:
		ok = r.Event != nil
	default:
		ok = true
	}
	if !ok {
		return fmt.Errorf("record of type %q without its payload", r.Type)
	}
	return nil
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
