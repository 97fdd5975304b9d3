package cputime

import (
	"runtime"
	"testing"
)

// Work on the CPU shows in Process.
func TestProcessCountsWork(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("Process reads 0 here")
	}
	before := Process()
	x := 0
	for i := range 50_000_000 {
		x ^= i * i
	}
	if after := Process(); after <= before {
		t.Fatalf("CPU time %v then %v after a busy loop (%d)", before, after, x)
	}
}
