package mallcoo_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

// sendAll has workers goroutines share n sends of body through c and
// returns how long they took.
func sendAll(b *testing.B, c *mallcoo.Client, workers, n int, body []byte) time.Duration {
	b.Helper()
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if r, err := c.Send(context.Background(), crmsync.KindMember, body); err != nil || !r.OK() {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d sends failed", f, n)
	}
	return took
}

// BenchmarkSendLatency: 16 workers against a server answering in 50 ms. The
// floor is Little's law: 16 / 0.05 s = 320 req/s; ratio is achieved/320.
// One op is 640 sends (about two seconds), connection set-up included.
func BenchmarkSendLatency(b *testing.B) {
	const workers, latency, perOp = 16, 50 * time.Millisecond, 640
	srv := mallcootest.NewServer(mallcootest.Options{Latency: latency})
	defer srv.Close()
	c, err := mallcoo.NewClient(mallcoo.Config{BaseURL: srv.URL, Credentials: mallcootest.Sandbox, Concurrency: workers})
	if err != nil {
		b.Fatal(err)
	}
	body := vendorBody(b, crmsync.KindMember)
	var took time.Duration
	sends := 0
	for b.Loop() {
		took += sendAll(b, c, workers, perOp, body)
		sends += perOp
	}
	ideal := float64(workers) / latency.Seconds()
	rps := float64(sends) / took.Seconds()
	b.ReportMetric(rps, "req/s")
	b.ReportMetric(rps/ideal, "ratio")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkSendRate: 32 workers limited to 100 req/s by one Client against a
// fast server. It reports the achieved rate, its ratio to 100 and the most
// requests that arrived in any one second (the limit is 100 + burst 6).
// One op is 300 sends (about 3 seconds).
func BenchmarkSendRate(b *testing.B) {
	const workers, limit, perOp = 32, 100.0, 300
	srv := mallcootest.NewServer(mallcootest.Options{Latency: time.Millisecond})
	defer srv.Close()
	c, err := mallcoo.NewClient(mallcoo.Config{BaseURL: srv.URL, Credentials: mallcootest.Sandbox, Concurrency: workers, Rate: limit})
	if err != nil {
		b.Fatal(err)
	}
	body := vendorBody(b, crmsync.KindMember)
	var took time.Duration
	sends := 0
	for b.Loop() {
		took += sendAll(b, c, workers, perOp, body)
		sends += perOp
	}
	rps := float64(sends) / took.Seconds()
	b.ReportMetric(rps, "req/s")
	b.ReportMetric(rps/limit, "ratio")
	b.ReportMetric(float64(maxInWindow(srv.Requests(), time.Second)), "max/1s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkSendOne: one Send at a time against a fast server in the same
// process: the client's CPU and allocations per request (the server's are
// in the figures too, the same for every client).
func BenchmarkSendOne(b *testing.B) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	c, err := mallcoo.NewClient(mallcoo.Config{BaseURL: srv.URL, Credentials: mallcootest.Sandbox, Concurrency: 1})
	if err != nil {
		b.Fatal(err)
	}
	body := vendorBody(b, crmsync.KindMember)
	b.ReportAllocs()
	for b.Loop() {
		if r, err := c.Send(context.Background(), crmsync.KindMember, body); err != nil || !r.OK() {
			b.Fatalf("Send = %+v, %v", r, err)
		}
	}
}
