package sysenv

import (
	"bytes"
	"compress/gzip"
	"testing"
	"testing/fstest"
)

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestAddScheduler(t *testing.T) {
	const none = "CONFIG_HZ_250=y\nCONFIG_HZ=250\nCONFIG_PREEMPT_NONE=y\n# CONFIG_PREEMPT is not set\nCONFIG_PREEMPTION=y\nCONFIG_PREEMPT_DYNAMIC=y\n"
	for _, tc := range []struct {
		name      string
		files     map[string]string // plain files
		configGz  string            // proc/config.gz, when set
		want      string            // the recorded value; "" for no record
		wantRaise bool
	}{
		{"built without preemption", nil, none, "tick 250 Hz, preemption none", true},
		{"chosen at boot", map[string]string{"proc/cmdline": "quiet preempt=full panic=1\n"}, none, "tick 250 Hz, preemption full", false},
		{"switched since boot", map[string]string{
			"proc/cmdline":                   "preempt=full\n",
			"sys/kernel/debug/sched/preempt": "none (voluntary) full lazy\n",
		}, none, "tick 250 Hz, preemption voluntary", true},
		{"config in /boot", map[string]string{"boot/config-6.1.0-test": "CONFIG_HZ=1000\nCONFIG_PREEMPT=y\n"}, "", "tick 1000 Hz, preemption full", false},
		{"boot option ignored without PREEMPT_DYNAMIC", map[string]string{"proc/cmdline": "preempt=full\n"},
			"CONFIG_HZ=100\nCONFIG_PREEMPT_VOLUNTARY=y\n", "tick 100 Hz, preemption voluntary", true},
		{"no configuration published", nil, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, s := range tc.files {
				fsys[name] = &fstest.MapFile{Data: []byte(s)}
			}
			if tc.configGz != "" {
				fsys["proc/config.gz"] = &fstest.MapFile{Data: gz(t, tc.configGz)}
			}
			b := &builder{fsys: fsys}
			b.addScheduler("6.1.0-test")
			if tc.want == "" {
				if len(b.limits) != 0 {
					t.Fatalf("recorded %+v, want nothing", b.limits)
				}
				return
			}
			if len(b.limits) != 1 || b.limits[0].Name != NameScheduler {
				t.Fatalf("recorded %+v, want one %q", b.limits, NameScheduler)
			}
			if l := b.limits[0]; l.Value != tc.want || (l.Raise != "") != tc.wantRaise {
				t.Errorf("value %q raise %q, want %q (raise given: %v)", l.Value, l.Raise, tc.want, tc.wantRaise)
			}
		})
	}
}
