package main

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync"
)

// progress shows how a run is going on stderr: a live line on a terminal,
// a log line every few seconds otherwise (none with -json unless stderr is
// a terminal).
type progress struct {
	e       *env
	quiet   bool
	mu      sync.Mutex
	start   time.Time
	stage   string
	stageAt time.Time
	last    time.Time
	live    bool // a live line is on screen
}

func newProgress(e *env, jsonOut bool) *progress {
	return &progress{e: e, quiet: jsonOut && !e.terminal, start: time.Now()}
}

// update is the job's Progress callback; it may be called from several
// goroutines.
func (p *progress) update(stage string, done, total int) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if stage != p.stage {
		p.stage, p.stageAt = stage, now
	}
	every := 5 * time.Second
	if p.e.terminal {
		every = 200 * time.Millisecond
	}
	if now.Sub(p.last) < every && !(total > 0 && done == total) {
		return
	}
	p.last = now
	elapsed := now.Sub(p.stageAt).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed
	}
	line := progressLine(p.e.lang(), stage, done, total, rate)
	if p.e.terminal {
		fmt.Fprintf(p.e.stderr, "\r\033[K%s", line)
		p.live = true
	} else {
		args := []any{"stage", stage, "done", done}
		if total > 0 {
			args = append(args, "total", total)
		}
		args = append(args, "per_s", int(rate))
		if total > 0 && rate > 0 && done < total {
			args = append(args, "eta", (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second).String())
		}
		p.e.logger.Info("progress", args...)
	}
}

// done ends the live line.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live {
		fmt.Fprintln(p.e.stderr)
		p.live = false
	}
}

// stageWords are the progress stages in Chinese.
var stageWords = map[string]string{"read": "读取", "send": "发送", "report": "写报告"}

// progressLine is the live progress line in lang: "read: 500/1000 (50%),
// 120/s, ETA 4s", or in Chinese "读取:500/1000(50%),每秒 120 行,预计还需 4s".
func progressLine(lang, stage string, done, total int, rate float64) string {
	en := crmsync.English(lang)
	var b strings.Builder
	if w, ok := stageWords[stage]; ok && !en {
		stage = w
	}
	b.WriteString(stage)
	b.WriteString(tr(lang, ":", ": "))
	fmt.Fprintf(&b, "%d", done)
	if total > 0 {
		fmt.Fprintf(&b, tr(lang, "/%d(%.0f%%)", "/%d (%.0f%%)"), total, 100*float64(done)/float64(total))
	}
	fmt.Fprintf(&b, tr(lang, ",每秒 %.0f 行", ", %.0f/s"), rate)
	if total > 0 && rate > 0 && done < total {
		eta := (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second).String()
		b.WriteString(tr(lang, ",预计还需 ", ", ETA ") + eta)
	}
	return b.String()
}
