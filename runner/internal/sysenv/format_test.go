package sysenv

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"c10klab/runner/internal/units"
)

func TestFormat(t *testing.T) {
	env, err := build(fakeRoot(), fakeHost())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		warnings []string
		want     []string
	}{
		{"no warnings", nil, []string{"No limit caps the plan"}},
		{"warnings listed", []string{"kernel.pid_max 32,768 caps ...", "net.core.somaxconn 128 caps ..."},
			[]string{"Limits that cap the run before its target (2):", "  ! kernel.pid_max 32,768 caps ...", "  ! net.core.somaxconn 128 caps ..."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Format(&buf, env, tt.warnings); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, want := range append([]string{"kernel 6.1.0-test", "LIMIT", "RAISE", "estimates"}, tt.want...) {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			// One row per limit: name, value, scope, conns, raise in that order.
			for _, l := range env.Limits {
				row := rowOf(out, l.Name)
				if row == "" {
					t.Errorf("no row for %s", l.Name)
					continue
				}
				conns := "-"
				if l.Conns > 0 {
					conns = units.Grouped(l.Conns)
				}
				if !inOrder(row, l.Value, l.Scope, conns) {
					t.Errorf("row %q lacks value %q, scope %q, conns %q in order", row, l.Value, l.Scope, conns)
				}
			}
		})
	}
}

func rowOf(out, name string) string {
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, name+"  ") {
			return line
		}
	}
	return ""
}

func inOrder(s string, parts ...string) bool {
	for _, p := range parts {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return true
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestFormatWriteError(t *testing.T) {
	env, _ := build(fakeRoot(), fakeHost())
	if err := Format(failWriter{}, env, []string{"x"}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("err = %v, want the writer's error", err)
	}
}
