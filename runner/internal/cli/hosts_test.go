package cli

import (
	"io"
	"testing"

	"c10klab/runner/internal/netns"
)

func TestBenchInHosts(t *testing.T) {
	if h, done, err := benchInHosts(0, []int{10}, nil, io.Discard, io.Discard); h != nil || done || err != nil {
		t.Errorf("--hosts 0: %v %v %v, want nothing done", h, done, err)
	}
	// Inside the server host (as RunInServer starts the command) the
	// hosts come from the environment and nothing is made again.
	t.Setenv(netns.EnvHosts, `{"server":{"Name":"c10k-1-srv","Addr":"10.213.0.1"},"clients":[{"Name":"c10k-1-c0","Addr":"10.213.1.1","Srcs":["10.213.1.1"]}],"owner":1}`)
	h, done, err := benchInHosts(4, []int{10}, nil, io.Discard, io.Discard)
	if err != nil || done || h == nil || h.Server.Addr.String() != "10.213.0.1" || len(h.Clients) != 1 {
		t.Fatalf("inside: %+v %v %v", h, done, err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("Close of hosts described by the owner: %v", err)
	}
	t.Setenv(netns.EnvHosts, "{not json")
	if _, _, err := benchInHosts(4, nil, nil, io.Discard, io.Discard); err == nil {
		t.Error("accepted a broken hosts description")
	}
}
