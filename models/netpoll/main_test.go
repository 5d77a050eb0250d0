package main

import (
	"testing"

	"c10klab/models/internal/modeltest"
)

func TestContract(t *testing.T) {
	modeltest.Contract{
		Bin: modeltest.Build(t, "."),
		// ResetReport stays false: netpoll's poller drops a failed read
		// without passing the error on.
		HalfCloseTruncates: "netpoll fails a flush still waiting for socket space when the FIN arrives",
	}.Run(t)
}
