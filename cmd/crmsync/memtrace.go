package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strings"
	"time"

	"github.com/crmsync/crmsync/ledger"
)

// memTrace writes to path, once a second until the returned stop is called,
// a line of where the process's memory is: resident set (anonymous, file,
// shared: /proc/self/status), the Go runtime's share of it (mapped less
// released; live heap at the last GC and the next goal; stacks), SQLite's
// own allocations (now and at most) and the SQLite connections open (one
// descriptor on a -wal file each). Linux only; the last line is written at
// stop.
func memTrace(path string) (stop func()) {
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "secs\trss_kb\tanon_kb\tfile_kb\tshmem_kb\tgo_mapped_mb\tgo_released_mb\tgo_live_mb\tgo_goal_mb\tgo_stacks_mb\tgo_objects_mb\tsqlite_mb\tsqlite_max_mb\tconns")
	samples := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/heap/goal:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
	}
	mb := func(i int) float64 { return float64(samples[i].Value.Uint64()) / (1 << 20) }
	start := time.Now()
	line := func() {
		metrics.Read(samples)
		used, most := ledger.SQLiteMemory()
		st := procStatus()
		fmt.Fprintf(w, "%.0f\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\n",
			time.Since(start).Seconds(), st["VmRSS"], st["RssAnon"], st["RssFile"], st["RssShmem"],
			mb(0), mb(1), mb(2), mb(3), mb(4), mb(5), float64(used)/(1<<20), float64(most)/(1<<20), walDescriptors())
		w.Flush()
	}
	return every(time.Second, line, func() {
		line()
		f.Close()
	})
}

// procStatus returns the kB figures of /proc/self/status by name.
func procStatus() map[string]string {
	m := map[string]string{}
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range bytes.Split(b, []byte("\n")) {
		name, v, ok := strings.Cut(string(l), ":")
		if ok {
			m[name] = strings.TrimSuffix(strings.TrimSpace(v), " kB")
		}
	}
	return m
}

// walDescriptors counts this process's descriptors open on a -wal file:
// SQLite opens the log once per connection.
func walDescriptors() int {
	ents, _ := os.ReadDir("/proc/self/fd")
	n := 0
	for _, e := range ents {
		if t, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasSuffix(t, "-wal") {
			n++
		}
	}
	return n
}
