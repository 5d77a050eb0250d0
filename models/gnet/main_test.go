package main

import (
	"testing"

	"c10klab/models/internal/modeltest"
)

func TestContract(t *testing.T) {
	modeltest.Contract{
		Bin:         modeltest.Build(t, "."),
		ResetReport: true, // gnet passes the failed read to OnClose
	}.Run(t)
}
