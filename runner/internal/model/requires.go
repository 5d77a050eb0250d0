package model

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// RequiresFile is the name of the file in a model's folder that declares
// what the model needs beyond Go (models/README.md, "Requirements").
const RequiresFile = "requires"

// Requirement kinds, the first word of a line of a requires file.
const (
	// ReqCommand: an executable, an absolute path or a name looked up in PATH.
	ReqCommand = "command"
	// ReqDeb: a Debian package that must be installed (make deps installs it).
	ReqDeb = "deb"
	// ReqPyModule: a Python module that the named interpreter imports:
	// "pymodule /usr/bin/python3 gevent". Its version and the interpreter's
	// are recorded.
	ReqPyModule = "pymodule"
)

// Requirement is one line of a requires file.
type Requirement struct {
	Kind string
	Name string // command, Debian package or Python module
	// Interpreter is the Python that must import a ReqPyModule.
	Interpreter string
}

func (r Requirement) String() string {
	if r.Kind == ReqPyModule {
		return fmt.Sprintf("%s %s %s", r.Kind, r.Interpreter, r.Name)
	}
	return r.Kind + " " + r.Name
}

// Missing is a requirement the machine does not meet, and why.
type Missing struct {
	Req    Requirement
	Reason string
}

func (m Missing) String() string { return m.Req.String() + " (" + m.Reason + ")" }

// ParseRequires reads a requires file: one requirement a line, "KIND NAME"
// ("pymodule INTERPRETER MODULE"); blank lines and # comments are ignored.
func ParseRequires(r io.Reader) ([]Requirement, error) {
	var out []Requirement
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		want := 2
		if f[0] == ReqPyModule {
			want = 3
		}
		switch f[0] {
		case ReqCommand, ReqDeb, ReqPyModule:
		default:
			return nil, fmt.Errorf("line %d: unknown requirement kind %q (want %s, %s or %s)", n, f[0], ReqCommand, ReqDeb, ReqPyModule)
		}
		if len(f) != want {
			return nil, fmt.Errorf("line %d: %q: want %d fields for %s", n, strings.TrimSpace(line), want, f[0])
		}
		req := Requirement{Kind: f[0], Name: f[len(f)-1]}
		if req.Kind == ReqPyModule {
			req.Interpreter = f[1]
		}
		out = append(out, req)
	}
	return out, sc.Err()
}

// ReadRequires reads dir's requires file; a folder without one needs
// nothing.
func ReadRequires(dir string) ([]Requirement, error) {
	f, err := os.Open(filepath.Join(dir, RequiresFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	reqs, err := ParseRequires(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return reqs, nil
}

// checkTimeout bounds the commands a check runs (dpkg-query, an
// interpreter importing its modules).
const checkTimeout = 30 * time.Second

// Check is what the machine has of a model's requirements: what is
// missing, and the versions of what is there.
type Check struct {
	Missing []Missing
	// Versions of what the model declares: interpreters by file name
	// ("python3": "3.11.2"), Python modules by name ("gevent": "22.10.2"),
	// Debian packages as "deb:NAME" ("deb:python3-gevent": "22.10.2-3").
	Versions map[string]string
}

// CheckRequires checks m's requirements on this machine. An error means a
// check could not be made at all (not that something is missing).
func CheckRequires(ctx context.Context, m Model) (Check, error) {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	c := Check{Versions: map[string]string{}}
	var debs []string
	py := map[string][]string{} // interpreter -> modules
	var pyOrder []string
	for _, r := range m.Requires {
		switch r.Kind {
		case ReqCommand:
			if _, err := exec.LookPath(r.Name); err != nil {
				c.Missing = append(c.Missing, Missing{Req: r, Reason: "not found"})
			}
		case ReqDeb:
			debs = append(debs, r.Name)
		case ReqPyModule:
			if _, ok := py[r.Interpreter]; !ok {
				pyOrder = append(pyOrder, r.Interpreter)
			}
			py[r.Interpreter] = append(py[r.Interpreter], r.Name)
		}
	}
	if len(debs) > 0 {
		got, err := debVersions(ctx, debs)
		if err != nil {
			return c, fmt.Errorf("model %s: %w", m.Name, err)
		}
		for _, d := range debs {
			if v, ok := got[d]; ok {
				c.Versions["deb:"+d] = v
			} else {
				c.Missing = append(c.Missing, Missing{Req: Requirement{Kind: ReqDeb, Name: d}, Reason: "not installed"})
			}
		}
	}
	for _, interp := range pyOrder {
		mods := py[interp]
		pv, err := pyVersions(ctx, interp, mods)
		if err != nil {
			for _, mod := range mods {
				c.Missing = append(c.Missing, Missing{Req: Requirement{Kind: ReqPyModule, Name: mod, Interpreter: interp}, Reason: err.Error()})
			}
			continue
		}
		c.Versions[filepath.Base(interp)] = pv.Python
		for _, mod := range mods {
			r := pv.Modules[mod]
			switch {
			case r.Error != "":
				c.Missing = append(c.Missing, Missing{Req: Requirement{Kind: ReqPyModule, Name: mod, Interpreter: interp}, Reason: r.Error})
			case r.Version != "":
				c.Versions[mod] = r.Version
			}
		}
	}
	return c, nil
}

// debVersions returns the installed version of each of names that dpkg
// knows as installed.
func debVersions(ctx context.Context, names []string) (map[string]string, error) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		return nil, fmt.Errorf("cannot check Debian packages %s: dpkg-query not found", strings.Join(names, ", "))
	}
	args := append([]string{"-W", "-f=${Package}\t${db:Status-Abbrev}\t${Version}\n"}, names...)
	cmd := exec.CommandContext(ctx, "dpkg-query", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		// Status 1 is "some package not found", reported per package below.
		return nil, fmt.Errorf("dpkg-query: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	got := map[string]string{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		f := strings.Split(line, "\t")
		if len(f) == 3 && strings.HasPrefix(f[1], "ii") {
			got[f[0]] = f[2]
		}
	}
	return got, nil
}

// pyProbe imports each module named on its command line and prints, as
// JSON, the interpreter's version and each module's version or import
// error. Run with -I, so PYTHONPATH and user site-packages do not count.
const pyProbe = `
import importlib, importlib.metadata, json, platform, sys
out = {"python": platform.python_version(), "modules": {}}
for name in sys.argv[1:]:
    try:
        mod = importlib.import_module(name)
    except Exception as e:
        out["modules"][name] = {"error": "%s: %s" % (type(e).__name__, e)}
        continue
    if name.split(".")[0] in getattr(sys, "stdlib_module_names", ()):
        v = ""  # the interpreter's version is the module's (socketserver's __version__ is "0.4")
    else:
        try:
            v = importlib.metadata.version(name)
        except Exception:
            v = getattr(mod, "__version__", None) or getattr(mod, "version", None)
    out["modules"][name] = {"version": v if isinstance(v, str) else ""}
print(json.dumps(out))
`

type pyReport struct {
	Python  string `json:"python"`
	Modules map[string]struct {
		Version string `json:"version"`
		Error   string `json:"error"`
	} `json:"modules"`
}

func pyVersions(ctx context.Context, interp string, modules []string) (pyReport, error) {
	var rep pyReport
	cmd := exec.CommandContext(ctx, interp, append([]string{"-I", "-c", pyProbe}, modules...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return rep, fmt.Errorf("interpreter %s not found", interp)
		}
		return rep, fmt.Errorf("%s: %w: %s", interp, err, strings.TrimSpace(stderr.String()))
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return rep, fmt.Errorf("%s: unreadable module report %q: %w", interp, out, err)
	}
	return rep, nil
}

// Resolved is the models a run can measure.
type Resolved struct {
	Models []Model // one per kept spec, in order
	Specs  []Spec
	// Skipped holds the specs dropped, each with a message naming the
	// requirement it misses.
	Skipped []Skipped
	// Versions of what the kept models declare (see Check.Versions).
	Versions map[string]string
}

// EventSkipped is the kind of the results.Event a run records for a
// model it skips (results' other event kinds are results.Event*; this one
// belongs beside them once branches are merged).
const EventSkipped = "model_skipped"

// Skipped is a spec Resolve dropped, and why.
type Skipped struct {
	Spec Spec
	Msg  string
}

// Resolve finds each spec's model among found and checks its
// requirements: a model that lacks one is skipped with a message naming
// it, rather than failing the run. An unknown model name is an error.
func Resolve(ctx context.Context, found []Model, specs []Spec) (Resolved, error) {
	res := Resolved{Versions: map[string]string{}}
	checked := map[string]Check{}
	for _, s := range specs {
		m, err := Find(found, s.Name)
		if err != nil {
			return res, err
		}
		c, ok := checked[m.Name]
		if !ok {
			if c, err = CheckRequires(ctx, m); err != nil {
				return res, err
			}
			checked[m.Name] = c
		}
		if len(c.Missing) > 0 {
			res.Skipped = append(res.Skipped, Skipped{Spec: s, Msg: SkipMessage(s, c.Missing)})
			continue
		}
		maps.Copy(res.Versions, c.Versions)
		res.Models = append(res.Models, m)
		res.Specs = append(res.Specs, s)
	}
	return res, nil
}

// SkipMessage says why spec is not measured.
func SkipMessage(s Spec, missing []Missing) string {
	return fmt.Sprintf("model %s skipped: %s", s, MissingText(missing))
}

// MissingText names each missing requirement and why, with the way to
// install what make deps installs.
func MissingText(missing []Missing) string {
	parts := make([]string, len(missing))
	for i, m := range missing {
		parts[i] = m.String()
	}
	msg := "missing " + strings.Join(parts, ", ")
	if slices.ContainsFunc(missing, func(m Missing) bool { return m.Req.Kind != ReqCommand }) {
		msg += "; make deps installs the Debian packages the models declare"
	}
	return msg
}
