package swarm

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// ParseHostList reads the hosts to run agents on over ssh, one a line:
//
//	[user@]host[:port] [key=FILE] [exe=PATH] [src=ADDR[+COUNT]] [known_hosts=FILE]
//
// host is an address or a name ssh resolves (ssh's, not the agents':
// agents still connect to the model by IP). src gives the host's own
// addresses its agent connects from (COUNT consecutive ones), which a host
// needs to hold more connections than one port range. Blank lines and #
// comments are skipped. defaults fills what a line leaves out.
func ParseHostList(r io.Reader, defaults SSH) ([]SSH, error) {
	var out []SSH
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		h := defaults
		if err := h.parseTarget(f[0]); err != nil {
			return nil, fmt.Errorf("host list line %d: %w", n, err)
		}
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || v == "" {
				return nil, fmt.Errorf("host list line %d: %q: want key=value", n, kv)
			}
			switch k {
			case "key":
				h.Key = v
			case "exe":
				h.Exe = v
			case "known_hosts":
				h.KnownHosts = v
			case "src":
				a, c, hasCount := strings.Cut(v, "+")
				addr, err := netip.ParseAddr(a)
				if err != nil || !addr.Is4() {
					return nil, fmt.Errorf("host list line %d: src %q: want an IPv4 address", n, v)
				}
				h.Src, h.SrcCount = addr, 1
				if hasCount {
					if h.SrcCount, err = strconv.Atoi(c); err != nil || h.SrcCount < 1 {
						return nil, fmt.Errorf("host list line %d: src %q: want ADDR+COUNT with COUNT >= 1", n, v)
					}
				}
			default:
				return nil, fmt.Errorf("host list line %d: unknown key %q (key, exe, src, known_hosts)", n, k)
			}
		}
		if h.Exe == "" {
			return nil, fmt.Errorf("host list line %d: no exe= and no default path for c10klab on %s", n, h.Host)
		}
		out = append(out, h)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("host list: no hosts")
	}
	return out, nil
}

func (s *SSH) parseTarget(t string) error {
	if u, rest, ok := strings.Cut(t, "@"); ok {
		s.User, t = u, rest
	}
	if strings.HasPrefix(t, "[") { // [v6addr]:port
		end := strings.Index(t, "]")
		if end < 0 {
			return fmt.Errorf("%q: unclosed [", t)
		}
		host, rest := t[1:end], t[end+1:]
		s.Host = host
		if p, ok := strings.CutPrefix(rest, ":"); ok {
			return s.parsePort(p)
		}
		return nil
	}
	host, port, hasPort := strings.Cut(t, ":")
	if host == "" {
		return fmt.Errorf("%q: no host", t)
	}
	s.Host = host
	if hasPort {
		return s.parsePort(port)
	}
	return nil
}

func (s *SSH) parsePort(p string) error {
	v, err := strconv.Atoi(p)
	if err != nil || v < 1 || v > 65535 {
		return fmt.Errorf("port %q outside 1..65535", p)
	}
	s.Port = v
	return nil
}
