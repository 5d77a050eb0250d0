package replay

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"c10klab/runner/internal/probe"
	"c10klab/runner/internal/results"
)

// sampler measures both sides once.
type sampler struct {
	srv, cli *probe.Tree
	srvPID   int
	port     uint16
	base     map[string]int64 // counters before the client started
}

func (m *sampler) sample(phase string, s *session) (Sample, error) {
	now := time.Now()
	smp := Sample{Time: now, Elapsed: now.Sub(s.start).Seconds(), Phase: phase, ServerSyscall: -1}
	var err error
	if smp.Server, err = m.srv.Sample(); err != nil {
		return smp, fmt.Errorf("sample the server: %w", err)
	}
	if smp.Client, err = m.cli.Sample(); err != nil {
		return smp, fmt.Errorf("sample the client: %w", err)
	}
	s.clientFDs.Store(int64(smp.Client.FDs))
	if sc, err := mainSyscall(m.srvPID); err == nil {
		smp.ServerSyscall = sc
	}
	if smp.Sockets, err = readSockets(m.srvPID, m.port); err != nil {
		return smp, err
	}
	c, err := probe.ReadCountersOf(m.srvPID)
	if err != nil {
		return smp, err
	}
	smp.Counters = results.CounterDeltas(m.base, c)
	smp.Exceptions = s.exceptionCount()
	return smp, nil
}

// parseSSBacklog reads the backlog (Send-Q) of the listener in `ss -Hltn`
// output: "LISTEN 0 5 127.0.0.1:9999 0.0.0.0:*".
func parseSSBacklog(out []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		b, err := strconv.Atoi(f[2])
		if err != nil {
			return 0, fmt.Errorf("ss line %q: %w", line, err)
		}
		return b, nil
	}
	return 0, fmt.Errorf("ss shows no listener")
}
