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
	"github.com/crmsync/crmsync/internal/bareclient"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
	"github.com/crmsync/crmsync/pipeline"
)

// scoreFile writes a score file of members × perMember events (each
// member a lane of perMember events) and returns its path.
func scoreFile(b *testing.B, dir string, members, perMember int) string {
	b.Helper()
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
	return csv
}

// jobRun is one whole job (read, diff, claim, send, record) over files.
type jobRun struct {
	summary     *crmsync.Summary
	took        time.Duration // Job.Run, start to end
	first, last time.Time     // the first and the last answer recorded
}

// runJob runs a job over files in a fresh ledger in dir, sending to url
// with concurrency workers (and rate, 0 = unlimited; resend is
// score_resend_uncertain), and checks that every one of n events was sent.
func runJob(b *testing.B, dir, url string, files []string, n, concurrency int, rate float64, resend bool) jobRun {
	b.Helper()
	client, err := mallcoo.NewClient(mallcoo.Config{BaseURL: url, Credentials: mallcootest.Sandbox, Concurrency: concurrency, Rate: rate})
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
	jr := jobRun{summary: crmsync.NewSummary(id, "run", time.Now())}
	job := &pipeline.Job{
		Reader: &importer.Reader{}, Ledger: l, Sender: client, Concurrency: concurrency, ResendUncertainScores: resend,
		Progress: func(stage string, done, total int) {
			if stage == "send" && done == 1 {
				jr.first = time.Now()
			}
			if stage == "send" {
				jr.last = time.Now()
			}
		},
	}
	start := time.Now()
	if err := job.Run(ctx, id, files, jr.summary); err != nil {
		b.Fatal(err)
	}
	jr.took = time.Since(start)
	if got := jr.summary.Counts[crmsync.OutcomeSent]; got != n {
		b.Fatalf("sent %d of %d: %v", got, n, jr.summary.Counts)
	}
	return jr
}

// sendRun runs the whole job over a score file of members × perMember
// events against the fake Mallcoo, and returns the achieved requests per
// second over the send stage and the most requests the server saw in any
// one-second window.
func sendRun(b *testing.B, members, perMember, concurrency int, rate float64, latency time.Duration, resend bool) (perSec float64, maxWindow int) {
	b.Helper()
	dir := b.TempDir()
	csv := scoreFile(b, dir, members, perMember)
	srv := mallcootest.NewServer(mallcootest.Options{Latency: latency})
	defer srv.Close()
	n := members * perMember
	jr := runJob(b, dir, srv.URL, []string{csv}, n, concurrency, rate, resend)
	// The first answer arrives one latency after sending starts.
	perSec = float64(n-1) / jr.last.Sub(jr.first).Seconds()
	reqs := srv.Requests()
	for i, j := 0, 0; i < len(reqs); i++ {
		for reqs[i].At.Sub(reqs[j].At) >= time.Second {
			j++
		}
		maxWindow = max(maxWindow, i-j+1)
	}
	return perSec, maxWindow
}

// bodies reads files as the job does and returns the wire bodies it sends.
func bodies(b *testing.B, files []string) []bareclient.Body {
	b.Helper()
	var out []bareclient.Body
	for _, f := range files {
		bs, err := bareclient.ReadBodies(context.Background(), f)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, bs...)
	}
	return out
}

// BenchmarkSendVsBare: the whole job (read, diff, claim, send, record) of
// 8,000 score events, -concurrency 16, against a fake Mallcoo without added
// latency, and a bare client (internal/bareclient: the same transport and
// concurrency, no ledger) posting the same bodies to the same server.
// ratio is the job's events/s over the bare client's (goal ≥ 0.9);
// send-ratio the same over the send stage alone. The server accepts a
// repeated TransID, so both get the same answers. resend=false is the
// default (score events claimed one by one, just before their request),
// resend=true score_resend_uncertain (claimed in batches).
func BenchmarkSendVsBare(b *testing.B) {
	for _, resend := range []bool{false, true} {
		b.Run(fmt.Sprintf("resend=%v", resend), func(b *testing.B) { sendVsBare(b, resend) })
	}
}

func sendVsBare(b *testing.B, resend bool) {
	const members, perMember, concurrency = 4000, 2, 16
	n := members * perMember
	for b.Loop() {
		dir := b.TempDir()
		files := []string{scoreFile(b, dir, members, perMember)}
		srv := mallcootest.NewServer(mallcootest.Options{AcceptDuplicates: true, MaxRecorded: 1})
		jr := runJob(b, dir, srv.URL, files, n, concurrency, 0, resend)
		bare, ok, err := bareclient.Post(context.Background(), srv.URL, mallcootest.Sandbox, concurrency, bodies(b, files))
		srv.Close()
		if err != nil || ok != n {
			b.Fatalf("bare client: %d of %d accepted, err %v", ok, n, err)
		}
		b.ReportMetric(float64(n)/jr.took.Seconds(), "events/s")
		b.ReportMetric(float64(n)/bare.Seconds(), "bare/s")
		b.ReportMetric(bare.Seconds()/jr.took.Seconds(), "ratio")
		b.ReportMetric(bare.Seconds()/jr.last.Sub(jr.first).Seconds(), "send-ratio")
	}
}

// BenchmarkSend20ms: 20 ms server latency, -concurrency 64, 6,400 score
// events in lanes of 4: the ideal is 64 / 0.02 s = 3,200 requests/s
// (Little's law); ratio is the job's send stage over the ideal (goal ≥
// 0.95), bare-ratio the bare client's (internal/bareclient, the same
// bodies, 64 at once, the same server) over the ideal: what this machine
// allows at the moment. resend as in BenchmarkSendVsBare.
func BenchmarkSend20ms(b *testing.B) {
	for _, resend := range []bool{false, true} {
		b.Run(fmt.Sprintf("resend=%v", resend), func(b *testing.B) {
			const members, perMember, concurrency, latency = 1600, 4, 64, 20 * time.Millisecond
			n := members * perMember
			ideal := concurrency / latency.Seconds()
			for b.Loop() {
				dir := b.TempDir()
				files := []string{scoreFile(b, dir, members, perMember)}
				srv := mallcootest.NewServer(mallcootest.Options{Latency: latency, AcceptDuplicates: true, MaxRecorded: 1})
				jr := runJob(b, dir, srv.URL, files, n, concurrency, 0, resend)
				bare, ok, err := bareclient.Post(context.Background(), srv.URL, mallcootest.Sandbox, concurrency, bodies(b, files))
				srv.Close()
				if err != nil || ok != n {
					b.Fatalf("bare client: %d of %d accepted, err %v", ok, n, err)
				}
				// The first answer arrives one latency after sending starts.
				perSec := float64(n-1) / jr.last.Sub(jr.first).Seconds()
				b.ReportMetric(perSec, "req/s")
				b.ReportMetric(perSec/ideal, "ratio")
				b.ReportMetric(float64(n)/bare.Seconds()/ideal, "bare-ratio")
			}
		})
	}
}

// BenchmarkSendLatency: 50 ms server latency, -concurrency 16: the ideal is
// 16 / 0.05 s = 320 requests/s (Little's law).
func BenchmarkSendLatency(b *testing.B) {
	for i := 0; i < b.N; i++ {
		perSec, _ := sendRun(b, 400, 4, 16, 0, 50*time.Millisecond, false)
		b.ReportMetric(perSec, "req/s")
		b.ReportMetric(perSec/320, "ratio")
	}
}

// BenchmarkSendRate: -rate 100 with 32 workers and a fast server: the ideal
// is 100 requests/s, and no one-second window may hold much more.
func BenchmarkSendRate(b *testing.B) {
	for i := 0; i < b.N; i++ {
		perSec, maxWindow := sendRun(b, 150, 4, 32, 100, 2*time.Millisecond, false)
		b.ReportMetric(perSec, "req/s")
		b.ReportMetric(perSec/100, "ratio")
		b.ReportMetric(float64(maxWindow), "max/1s")
	}
}
