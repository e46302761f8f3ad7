package main

import (
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The Go runtime's soft memory limit: memoryLimitBase, or the live heap
// and memoryLimitRoom when that is more. A 10,000,000-row run holds ~36 MB
// live at most (the keys' Bloom filter and map, the batches in hand); SQLite's
// caches (~6 MB) and the binary's text (~17 MB) come on top of the limit, so
// the process stays under 100 MB. A command holding more (a retry of a
// large backlog) raises the limit rather than collect without end.
const (
	memoryLimitBase = 48 << 20
	memoryLimitRoom = 16 << 20
)

// memoryLimitFor is the soft limit for a live heap of live bytes.
func memoryLimitFor(live uint64) int64 {
	return max(memoryLimitBase, int64(live)+memoryLimitRoom)
}

// limitMemory sets the soft limit and, until the returned stop is called,
// moves it with the live heap once a second (memoryLimitFor).
func limitMemory() (stop func()) {
	limit := memoryLimitFor(0)
	debug.SetMemoryLimit(limit)
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	return every(time.Second, func() {
		metrics.Read(sample)
		if want := memoryLimitFor(sample[0].Value.Uint64()); want > limit || want < limit-memoryLimitRoom/4 {
			limit = want
			debug.SetMemoryLimit(limit)
		}
	}, nil)
}

// every calls f every d on a goroutine of its own until the returned stop
// is called, and last (if any) once then; stop returns after that.
func every(d time.Duration, f, last func()) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-done:
				if last != nil {
					last()
				}
				return
			case <-t.C:
				f()
			}
		}
	}()
	return func() { close(done); <-finished }
}
