package model

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseRequires(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Requirement
		wantErr string
	}{
		{name: "empty", in: "", want: nil},
		{
			name: "every kind, comments and blanks",
			in:   "# needs\n\ncommand ss\ndeb python3-gevent  # the library\npymodule /usr/bin/python3 gevent\n",
			want: []Requirement{
				{Kind: ReqCommand, Name: "ss"},
				{Kind: ReqDeb, Name: "python3-gevent"},
				{Kind: ReqPyModule, Name: "gevent", Interpreter: "/usr/bin/python3"},
			},
		},
		{name: "unknown kind", in: "pip gevent\n", wantErr: `line 1: unknown requirement kind "pip"`},
		{name: "pymodule without interpreter", in: "deb x\npymodule gevent\n", wantErr: "line 2:"},
		{name: "two names on a line", in: "deb a b\n", wantErr: "want 2 fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRequires(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// python3 finds an interpreter to check modules with; the test is about
// the check, not about which Python the machine has.
func python3(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Skip("no python3 on this machine")
	return ""
}

func TestCheckRequires(t *testing.T) {
	py := python3(t)
	m := Model{Name: "probe", Requires: []Requirement{
		{Kind: ReqCommand, Name: "sh"},
		{Kind: ReqCommand, Name: "c10klab-no-such-command"},
		{Kind: ReqPyModule, Interpreter: py, Name: "json"},
		{Kind: ReqPyModule, Interpreter: py, Name: "c10klab_no_such_module"},
		{Kind: ReqPyModule, Interpreter: "/nonexistent/python3", Name: "json"},
	}}
	if _, err := exec.LookPath("dpkg-query"); err == nil {
		m.Requires = append(m.Requires,
			Requirement{Kind: ReqDeb, Name: "dpkg"},
			Requirement{Kind: ReqDeb, Name: "c10klab-no-such-package"})
	}
	c, err := CheckRequires(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	missing := map[string]string{}
	for _, ms := range c.Missing {
		missing[ms.Req.String()] = ms.Reason
	}
	wantMissing := map[string]string{
		"command c10klab-no-such-command":            "not found",
		"pymodule " + py + " c10klab_no_such_module": "ModuleNotFoundError",
		"pymodule /nonexistent/python3 json":         "not found",
	}
	for req, reason := range wantMissing {
		got, ok := missing[req]
		if !ok || !strings.Contains(got, reason) {
			t.Errorf("%s: reason %q, want it reported missing with %q (all: %v)", req, got, reason, c.Missing)
		}
	}
	for _, present := range []string{"command sh", "pymodule " + py + " json"} {
		if r, ok := missing[present]; ok {
			t.Errorf("%s reported missing (%s)", present, r)
		}
	}
	if v, ok := c.Versions["json"]; ok {
		t.Errorf("stdlib module json has a version of its own (%q): want only the interpreter's", v)
	}
	if c.Versions[filepath.Base(py)] == "" {
		t.Errorf("no interpreter version under %q: %v", filepath.Base(py), c.Versions)
	}
	if _, err := exec.LookPath("dpkg-query"); err == nil {
		if r, ok := missing["deb dpkg"]; ok {
			t.Errorf("deb dpkg reported missing (%s)", r)
		}
		if _, ok := missing["deb c10klab-no-such-package"]; !ok {
			t.Errorf("deb c10klab-no-such-package not reported missing: %v", c.Missing)
		}
		if c.Versions["deb:dpkg"] == "" {
			t.Errorf("no version for deb dpkg: %v", c.Versions)
		}
	}
}

// TestResolveSkipsMissing: a model whose requirement is missing is left
// out of the run with a message naming the requirement; the others stay,
// in order, and an unknown name is still an error.
func TestResolveSkipsMissing(t *testing.T) {
	py := python3(t)
	root := t.TempDir()
	writeModel(t, root, "needs-nothing", "")
	writeModel(t, root, "needs-python", "pymodule "+py+" json\n")
	writeModel(t, root, "needs-absent", "command c10klab-no-such-command\npymodule "+py+" json\n")
	found, err := Discover(root)
	if err != nil {
		t.Fatal(err)
	}
	specs := []Spec{{Name: "needs-absent"}, {Name: "needs-python"}, {Name: "needs-nothing", Preset: "x"}}
	res, err := Resolve(t.Context(), found, specs)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for i, s := range res.Specs {
		if res.Models[i].Name != s.Name {
			t.Errorf("spec %v paired with model %s", s, res.Models[i].Name)
		}
		kept = append(kept, s.String())
	}
	if want := []string{"needs-python", "needs-nothing:x"}; !reflect.DeepEqual(kept, want) {
		t.Errorf("kept %v, want %v", kept, want)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Spec.Name != "needs-absent" ||
		!strings.Contains(res.Skipped[0].Msg, "model needs-absent skipped: missing command c10klab-no-such-command (not found)") {
		t.Errorf("skipped = %q, want one message naming needs-absent's missing command", res.Skipped)
	}
	if res.Versions[filepath.Base(py)] == "" {
		t.Errorf("versions %v: want the interpreter's", res.Versions)
	}
	if _, err := Resolve(t.Context(), found, []Spec{{Name: "nope"}}); err == nil || !strings.Contains(err.Error(), `unknown model "nope"`) {
		t.Errorf("unknown model: err = %v", err)
	}
}

func TestDiscoverRejectsBadRequires(t *testing.T) {
	root := t.TempDir()
	writeModel(t, root, "bad", "apt python3\n")
	if _, err := Discover(root); err == nil || !strings.Contains(err.Error(), "requires: line 1") {
		t.Fatalf("err = %v, want the requires file and line named", err)
	}
}

// writeModel makes a `run` model folder; requires "" writes no file.
func writeModel(t *testing.T, root, name, requires string) {
	t.Helper()
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "run"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if requires != "" {
		if err := os.WriteFile(filepath.Join(dir, RequiresFile), []byte(requires), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
