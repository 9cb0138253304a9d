package main

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestTuneGCHalvesTheHeapGrowthUnlessGOGCIsSet(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)

	t.Setenv("GOGC", "")
	debug.SetGCPercent(100)
	tuneGC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, the heap growth is %d, want GOGC's (100 here)", got)
	}

	t.Setenv("GOGC", "") // restored after the test
	if err := os.Unsetenv("GOGC"); err != nil {
		t.Fatal(err)
	}
	tuneGC()
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("without GOGC, the heap growth is %d, want %d", got, gcPercent)
	}
}
