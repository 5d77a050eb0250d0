package sysenv

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"c10klab/runner/internal/results"
)

// roomyEnv is a machine where nothing caps 50,000 connections of any
// model; each test case lowers one or more limits.
func roomyEnv(over map[string]string) results.Environment {
	values := map[string]string{
		NameNoFileSoft:   "1048576",
		NameNoFileHard:   "1048576",
		NameFileMax:      "9223372036854775807",
		NameNrOpen:       "1048576",
		NameNProc:        "unlimited",
		NameThreadsMax:   "4000000",
		NamePidMax:       "4194304",
		NameTasks:        "300",
		NamePidsCgroup:   "max (none)",
		NameMaxMapCount:  "1000000",
		NameOvercommit:   "0",
		NameSomaxconn:    "65535",
		NameSynBacklog:   "65535",
		NameSyncookies:   "1",
		NamePortRange:    "1024 65535 (64,512 ports per source address per destination)",
		NameTCPMem:       "10000000 20000000 30000000 pages",
		NameMemCgroup:    "max (none)",
		NameMemAvailable: "68719476736 (64.0 GiB of 64.0 GiB)",
	}
	for k, v := range over {
		values[k] = v
	}
	env := results.Environment{MemAvailable: 64 << 30, MemTotal: 64 << 30, PageSize: 4096, Root: true}
	for name, v := range values {
		env.Limits = append(env.Limits, results.Limit{Name: name, Value: v})
	}
	return env
}

func TestPreflight(t *testing.T) {
	event := Plan{Target: 50000, Instances: 1, Agents: 5, ConnsPerAgent: 10000, Backlog: 4096, SourceAddrs: 1, RaisesNoFile: true}
	threads := event
	threads.ThreadsPerConn = true
	procs := event
	procs.ProcsPerConn = true
	cSoft := event // a C or Python model that keeps its soft limit
	cSoft.RaisesNoFile = false

	tests := []struct {
		name    string
		over    map[string]string
		notRoot bool
		memAvl  int64
		plan    Plan
		want    []string // Warning.Limit, in order
		wantMsg string   // substring of the first warning
	}{
		{name: "nothing caps", plan: event},
		{name: "nothing caps threads", plan: threads},
		{name: "hard open-files limit caps a Go model",
			over: map[string]string{NameNoFileHard: "20000"},
			plan: Plan{Target: 50000, Instances: 1, RaisesNoFile: true},
			want: []string{NameNoFileHard}, wantMsg: "caps one model instance at ~19,990 connections"},
		{name: "three instances hold 59,970 of 50,000: near the edge",
			over: map[string]string{NameNoFileHard: "20000"},
			plan: Plan{Target: 55000, Instances: 3, RaisesNoFile: true},
			want: []string{NameNoFileHard}, wantMsg: "SO_REUSEPORT spreads connections by hash"},
		{name: "three instances with room to spare", over: map[string]string{NameNoFileHard: "20000"},
			plan: Plan{Target: 50000, Instances: 3, RaisesNoFile: true}},
		{name: "soft limit caps a model that does not raise it",
			over: map[string]string{NameNoFileSoft: "1024"},
			plan: cSoft, want: []string{NameNoFileSoft}, wantMsg: "soft limit 1,024 per process caps one model instance at ~1,014"},
		{name: "soft limit does not cap a Go model",
			over: map[string]string{NameNoFileSoft: "1024"}, plan: event},
		{name: "process per connection is not capped by open files",
			over: map[string]string{NameNoFileSoft: "1024", NameNoFileHard: "1024"},
			plan: Plan{Target: 50000, ProcsPerConn: true}},
		{name: "agents asked beyond their limit, and too few",
			over: map[string]string{NameNoFileHard: "8000"},
			plan: Plan{Target: 50000, Instances: 7, Agents: 4, ConnsPerAgent: 10000, RaisesNoFile: true},
			want: []string{NameNoFileHard, "swarm"}, wantMsg: "the swarm, not the model"},
		{name: "nr_open caps a single instance",
			over: map[string]string{NameNrOpen: "40000"},
			plan: Plan{Target: 50000, Instances: 1, RaisesNoFile: true},
			want: []string{NameNrOpen}, wantMsg: "fs.nr_open 40,000"},
		{name: "file-max is not enforced for root", over: map[string]string{NameFileMax: "50000"}, plan: event},
		{name: "file-max caps a non-root run",
			over: map[string]string{NameFileMax: "50000"}, notRoot: true, plan: event,
			want: []string{NameFileMax}, wantMsg: "about 25,000 connections"},
		{name: "pid_max caps threads",
			over: map[string]string{NamePidMax: "32768"}, plan: threads,
			want: []string{NamePidMax}, wantMsg: "kernel.pid_max 32,768 caps thread-per-connection and process-per-connection models at about 32,768 connections minus the 300 tasks running (~32,468)"},
		{name: "pid_max does not cap an event loop",
			over: map[string]string{NamePidMax: "32768", NameThreadsMax: "1000"}, plan: event},
		{name: "threads-max and pid_max cap processes",
			over: map[string]string{NamePidMax: "32768", NameThreadsMax: "40000"}, plan: procs,
			want: []string{NamePidMax, NameThreadsMax}},
		{name: "RLIMIT_NPROC is not enforced for root",
			over: map[string]string{NameNProc: "4096"}, plan: threads},
		{name: "RLIMIT_NPROC caps a non-root thread model",
			over: map[string]string{NameNProc: "4096"}, notRoot: true, plan: threads,
			want: []string{NameNProc}},
		{name: "pids cgroup caps threads",
			over: map[string]string{NamePidsCgroup: "10000"}, plan: threads,
			want: []string{NamePidsCgroup}},
		{name: "max_map_count caps pthreads per process",
			over: map[string]string{NameMaxMapCount: "65530"}, plan: threads,
			want: []string{NameMaxMapCount}, wantMsg: "about 32,765 threads"},
		{name: "strict overcommit warns thread models",
			over: map[string]string{NameOvercommit: "2"}, plan: threads,
			want: []string{NameOvercommit}},
		{name: "somaxconn caps the backlog",
			over: map[string]string{NameSomaxconn: "128"}, plan: event,
			want: []string{NameSomaxconn}, wantMsg: "net.core.somaxconn 128 caps the listen backlog asked for (4,096)"},
		{name: "no syncookies and a small SYN backlog",
			over: map[string]string{NameSyncookies: "0", NameSynBacklog: "1024"}, plan: event,
			want: []string{NameSynBacklog}},
		{name: "SYN backlog does not matter with syncookies",
			over: map[string]string{NameSynBacklog: "1024"}, plan: event},
		{name: "one source address runs out of ports",
			over: map[string]string{NamePortRange: "32768 60999"}, plan: event,
			want: []string{NamePortRange}, wantMsg: "cap the swarm at 28,232 connections"},
		{name: "two source addresses are enough",
			over: map[string]string{NamePortRange: "32768 60999"},
			plan: Plan{Target: 50000, Instances: 1, SourceAddrs: 2, RaisesNoFile: true}},
		{name: "memory, estimated, caps a process-per-connection model",
			memAvl: 8 << 30, plan: procs,
			want: []string{NameMemAvailable}, wantMsg: "ESTIMATE"},
		{name: "the same memory holds event-loop connections", memAvl: 8 << 30, plan: event},
		{name: "memory cgroup caps",
			over: map[string]string{NameMemCgroup: "268435456 (256.0 MiB)"}, plan: event,
			want: []string{NameMemCgroup}, wantMsg: "memory cgroup limit 256.0 MiB holds about 32,768 connections"},
		{name: "tcp_mem max caps",
			over: map[string]string{NameTCPMem: "10000 20000 30000 pages = 39 MiB 78 MiB 117 MiB"}, plan: event,
			want: []string{NameTCPMem}, wantMsg: "about 15,000 connections"},
		{name: "tcp_mem pressure warns",
			over: map[string]string{NameTCPMem: "10000 90000 200000"}, plan: event,
			want: []string{NameTCPMem}, wantMsg: "memory pressure above ~45,000"},
		{name: "unreadable limits are not judged",
			over: map[string]string{NamePidMax: "unreadable", NameSomaxconn: ""}, plan: threads},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := roomyEnv(tt.over)
			env.Root = !tt.notRoot
			if tt.memAvl > 0 {
				env.MemAvailable = tt.memAvl
			}
			ws := Preflight(env, tt.plan)
			var got []string
			for _, w := range ws {
				got = append(got, w.Limit)
				if !strings.Contains(w.Msg, "raise:") {
					t.Errorf("warning without a way to raise the limit: %s", w.Msg)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("limits named %q, want %q\n%s", got, tt.want, strings.Join(Messages(ws), "\n"))
			}
			if tt.wantMsg != "" && !strings.Contains(ws[0].Msg, tt.wantMsg) {
				t.Errorf("warning %q does not say %q", ws[0].Msg, tt.wantMsg)
			}
		})
	}
}

// Preflight reads back the values Read records (with their notes), so a
// saved environment is judged like a fresh one.
func TestPreflightOnBuiltEnv(t *testing.T) {
	env, err := build(fakeRoot(), fakeHost())
	if err != nil {
		t.Fatal(err)
	}
	ws := Preflight(env, Plan{Target: 40000, Instances: 2, Agents: 4, ConnsPerAgent: 10000, Backlog: 4096, SourceAddrs: 1, ThreadsPerConn: true})
	var got []string
	for _, w := range ws {
		got = append(got, w.Limit)
	}
	for _, want := range []string{NameNoFileSoft, NameNoFileHard, NamePidMax, NameSomaxconn, NamePortRange, NameMemCgroup, NameTCPMem} {
		if !slices.Contains(got, want) {
			t.Errorf("%s not named; got %q", want, got)
		}
	}
	for _, w := range ws {
		if w.Cap <= 0 && w.Limit != NameSomaxconn {
			t.Errorf("%s: cap %d", w.Limit, w.Cap)
		}
	}
}
