// Command crmsync moves a shopping mall's offline-CRM events (member grade
// changes, consumption scores, points changes, points reviews, voided points,
// over-limit events, member-change notices) from CSV/XLSX exports into the
// Mallcoo (猫酷) OpenAPI, exactly once, and writes an Excel report a person
// can act on.
//
// Usage:
//
//	crmsync init      [-ledger F]          create a ledger, once (every other command refuses a missing one)
//	crmsync run       [flags] FILE|DIR...  read, diff, send what is new, write the report
//	crmsync plan      [flags] FILE|DIR...  the same without sending: what run would do
//	crmsync reconcile [flags] FILE|DIR...  files vs ledger both ways, with finance totals; no network
//	crmsync apply     [flags] RUN-ID       send exactly what a reviewed plan found new
//	crmsync retry     [flags]              send what the backlog can: failed, blocked whose blocker cleared, resend decisions (-uncertain: held ones too)
//	crmsync resolve   [flags] KEY...       record a decision on held events (-kind KIND -as delivered|resend|dismiss [-reason TEXT] [-from FILE])
//	crmsync status    [flags]              ledger totals by kind and state; the outstanding backlog; recent runs
//	crmsync report    [flags] RUN-ID       regenerate the report of a past run from the ledger
//	crmsync prune     [flags]              drop per-row results older than the retention period (-keep 90d)
//	crmsync template  [flags] [KIND...]    write blank import templates
//	crmsync mock      [flags]              serve the fake Mallcoo API (sandbox)
//	crmsync config    [flags]              the effective settings (run's flags, env, -config FILE), secrets masked
//	crmsync notify    -test [-config F]    send a test message to every [[notify]] destination
//	crmsync version
//
// Settings: flags beat the environment, which beats the -config file (TOML,
// or $CRMSYNC_CONFIG; its keys are documented on fileConfig in config.go),
// which beats the defaults.
//
// Example, the demo: the samples through the in-process fake API (the
// sandbox creates its ledger; elsewhere crmsync init creates one, once):
//
//	crmsync run -sandbox -ledger demo.db samples/
//
// Credentials come from the environment, never from flags: MALLCOO_APP_ID,
// MALLCOO_PUBLIC_KEY, MALLCOO_PRIVATE_KEY (or MALLCOO_PRIVATE_KEY_FILE);
// MALLCOO_BASE_URL overrides https://openapi10.mallcoo.cn.
//
// Exit codes:
//
//	0    every row ended well (sent, unchanged; new in a plan)
//	1    the run failed: configuration, ledger or API unusable
//	2    usage error
//	3    the run finished but some rows or files need a person
//	130  interrupted; the work done so far is recorded
//
// Results (the -json summary) go to stdout; logs and progress to stderr.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/metrics"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/crmsync/crmsync"
)

func main() {
	// The first SIGINT/SIGTERM stops new sends and lets requests in flight
	// finish and be recorded; a second one exits at once. Every claim is
	// committed before its request leaves, so nothing is lost either way.
	ctx, stop := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		os.Stderr.WriteString("\ncrmsync: interrupted: finishing requests in flight and writing the report (Ctrl-C again to quit at once)\n")
		stop()
		<-sig
		os.Stderr.WriteString("crmsync: quit; requests in flight are recorded as uncertain for the next run\n")
		os.Exit(crmsync.ExitInterrupted)
	}()
	if path := os.Getenv("CRMSYNC_CPUPROFILE"); path != "" {
		// For performance work: a CPU profile of the whole command.
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer f.Close()
		}
	}
	stopHeap := func() {}
	if path := os.Getenv("CRMSYNC_HEAPPROFILE"); path != "" {
		// For performance work: a heap profile at the command's peak live
		// heap (rewritten whenever the live heap after a GC grows by a
		// tenth).
		stopHeap = heapProfile(path)
	}
	stopTrace := func() {}
	if path := os.Getenv("CRMSYNC_MEMTRACE"); path != "" {
		// For performance work: a line a second of where the memory is.
		stopTrace = memTrace(path)
	}
	stopLimit := func() {}
	if os.Getenv("GOMEMLIMIT") == "" {
		// A soft limit: the garbage collector works harder rather than let
		// a ten-million-row run's memory grow (GOMEMLIMIT overrides it).
		stopLimit = limitMemory()
	}
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	pprof.StopCPUProfile()
	stopHeap()
	stopTrace()
	stopLimit()
	stop()
	os.Exit(code)
}

// heapProfile writes a heap profile to path each time the live heap marked
// by a GC has grown by a tenth over the last one written, until the
// returned stop is called.
func heapProfile(path string) (stop func()) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var written uint64
	return every(200*time.Millisecond, func() {
		metrics.Read(sample)
		if live := sample[0].Value.Uint64(); live > written+written/10 {
			if f, err := os.Create(path); err == nil {
				_ = pprof.WriteHeapProfile(f)
				f.Close()
				written = live
			}
		}
	}, nil)
}
