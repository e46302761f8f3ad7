package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
	"github.com/crmsync/crmsync/pipeline"
)

// sendRun runs the whole job (read, diff, claim, send, record) over a score
// file of members × perMember events against the fake Mallcoo, and returns
// the achieved requests per second over the send stage and the most
// requests the server saw in any one-second window.
func sendRun(b *testing.B, members, perMember, concurrency int, rate float64, latency time.Duration) (perSec float64, maxWindow int) {
	b.Helper()
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score\n")
	for m := 0; m < members; m++ {
		for e := 0; e < perMember; e++ {
			fmt.Fprintf(&sb, "T%05d%03d,C%08d,1,2024-11-01 10:%02d:00,%d.50,S01,%d\n", m, e, m, e%60, 10+e, 10+e)
		}
	}
	csv := filepath.Join(dir, "score.csv")
	if err := os.WriteFile(csv, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	srv := mallcootest.NewServer(mallcootest.Options{Latency: latency})
	defer srv.Close()
	client, err := mallcoo.NewClient(mallcoo.Config{BaseURL: srv.URL, Credentials: mallcootest.Sandbox, Concurrency: concurrency, Rate: rate})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	l, err := ledger.Open(ctx, filepath.Join(dir, "ledger.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	unlock, err := l.Lock("bench")
	if err != nil {
		b.Fatal(err)
	}
	defer unlock()
	id, err := l.BeginRun(ctx, "run", nil, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	s := crmsync.NewSummary(id, "run", time.Now())
	var first, last time.Time
	job := &pipeline.Job{
		Reader: &importer.Reader{}, Ledger: l, Sender: client, Concurrency: concurrency,
		Progress: func(stage string, done, total int) {
			if stage == "send" && done == 1 {
				first = time.Now()
			}
			if stage == "send" {
				last = time.Now()
			}
		},
	}
	if err := job.Run(ctx, id, []string{csv}, s); err != nil {
		b.Fatal(err)
	}
	n := members * perMember
	if s.Counts[crmsync.OutcomeSent] != n {
		b.Fatalf("sent %d of %d: %v", s.Counts[crmsync.OutcomeSent], n, s.Counts)
	}
	// The first answer arrives one latency after sending starts.
	perSec = float64(n-1) / last.Sub(first).Seconds()
	reqs := srv.Requests()
	for i, j := 0, 0; i < len(reqs); i++ {
		for reqs[i].At.Sub(reqs[j].At) >= time.Second {
			j++
		}
		maxWindow = max(maxWindow, i-j+1)
	}
	return perSec, maxWindow
}

// BenchmarkSendLatency: 50 ms server latency, -concurrency 16: the ideal is
// 16 / 0.05 s = 320 requests/s (Little's law).
func BenchmarkSendLatency(b *testing.B) {
	for i := 0; i < b.N; i++ {
		perSec, _ := sendRun(b, 400, 4, 16, 0, 50*time.Millisecond)
		b.ReportMetric(perSec, "req/s")
		b.ReportMetric(perSec/320, "ratio")
	}
}

// BenchmarkSendRate: -rate 100 with 32 workers and a fast server: the ideal
// is 100 requests/s, and no one-second window may hold much more.
func BenchmarkSendRate(b *testing.B) {
	for i := 0; i < b.N; i++ {
		perSec, maxWindow := sendRun(b, 150, 4, 32, 100, 2*time.Millisecond)
		b.ReportMetric(perSec, "req/s")
		b.ReportMetric(perSec/100, "ratio")
		b.ReportMetric(float64(maxWindow), "max/1s")
	}
}
