package bench

import (
	"slices"
	"strings"
	"testing"

	"c10klab/runner/internal/model"
)

func TestParseWorkList(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
		err  string
	}{
		{in: "cpu=200us", want: []string{"cpu=200us"}},
		{in: "none;cpu=200us; wait=50ms ;block=5ms", want: []string{"", "cpu=200us", "wait=50ms", "block=5ms"}},
		{in: "cpu=100us,wait=20ms;none", want: []string{"cpu=100us,wait=20ms", ""}},
		{in: "cpu=200us;none;cpu=200us", err: "given twice"},
		{in: "spin=1ms", err: "unknown kind"},
		{in: "wait=1h", err: "unit"},
		{in: " ; ", err: "names no work setting"},
	} {
		got, err := ParseWorkList(c.in)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseWorkList(%q) = %q, %v; want an error with %q", c.in, got, err, c.err)
			}
		case err != nil || !slices.Equal(got, c.want):
			t.Errorf("ParseWorkList(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestCrossWork(t *testing.T) {
	specs := []model.Spec{{Name: "epoll"}, {Name: "py-asyncio", Preset: "executor"}, {Name: "gnet", Work: "wait=1ms"}}
	var got []string
	for _, s := range CrossWork(specs, []string{"", "block=5ms"}) {
		got = append(got, s.Label())
	}
	want := []string{"epoll", "epoll@block=5ms", "py-asyncio-executor", "py-asyncio-executor@block=5ms", "gnet@wait=1ms"}
	if !slices.Equal(got, want) {
		t.Errorf("labels %q, want %q", got, want)
	}
	env := workEnv(model.Spec{Name: "epoll", Work: "cpu=200us"}, 16)
	if !slices.Equal(env, []string{"C10K_WORK=cpu=200us", "C10K_SIZE=16"}) {
		t.Errorf("work env %q", env)
	}
	if env := workEnv(model.Spec{Name: "epoll"}, 16); env != nil {
		t.Errorf("a plain echo gets work env %q", env)
	}
}
