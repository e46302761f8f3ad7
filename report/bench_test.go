package report

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync"
)

// genSource generates n score results on the fly, so the benchmark measures
// the report and not a slice of a million results. One row in a hundred is
// rejected, one in two hundred invalid.
type genSource struct{ n int }

func (g genSource) result(i int, r *crmsync.Result) {
	trans := "T2024110" + strconv.Itoa(1000000+i)
	card := "02017" + strconv.Itoa(10000000+i%50000)
	amount := strconv.Itoa(i%5000) + "." + strconv.Itoa(10+i%90)
	score := strconv.Itoa(i % 5000)
	*r = crmsync.Result{
		Seq: int64(i + 1), Kind: crmsync.KindScore, Key: trans, Lane: card,
		Source:  crmsync.SourceRef{File: "exports/2024-11-01/score.csv", Row: i + 2},
		Values:  scoreValues(trans, card, amount, score),
		Outcome: crmsync.OutcomeSent, HasCode: true, Code: 1, Message: "成功", Attempts: 1,
		Body: scoreBody(trans, card, amount, score),
	}
	switch {
	case i%200 == 7:
		r.Outcome, r.HasCode, r.Code, r.Message, r.Attempts, r.Body = crmsync.OutcomeInvalid, false, 0, "", 0, nil
		r.Column, r.Reason = "TradeAmount", "不是数字"
	case i%100 == 3:
		r.Outcome, r.Code, r.Message = crmsync.OutcomeRejected, 3001, "会员不存在"
	}
}

func (g genSource) Results(ctx context.Context, runID int64, kind crmsync.Kind, fn func(*crmsync.Result) error) error {
	if kind != crmsync.KindScore {
		return nil
	}
	var r crmsync.Result
	for i := 0; i < g.n; i++ {
		g.result(i, &r)
		if err := fn(&r); err != nil {
			return err
		}
	}
	return nil
}

func (g genSource) summary() *crmsync.Summary {
	s := crmsync.NewSummary(1, "run exports/", time.Date(2024, 11, 2, 1, 0, 0, 0, time.UTC))
	var r crmsync.Result
	for i := 0; i < g.n; i++ {
		g.result(i, &r)
		s.Add(r.Kind, r.Outcome)
	}
	s.DurationS = 3600
	return s
}

// peakHeap samples the heap every few milliseconds until stopped: the
// bytes of heap objects (live and not yet collected garbage, what the
// process holds) and the live heap marked by the last GC.
type peakHeap struct {
	stop chan struct{}
	done sync.WaitGroup
	peak uint64
	live uint64
}

func startPeakHeap() *peakHeap {
	runtime.GC()
	p := &peakHeap{stop: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			p.peak = max(p.peak, sample[0].Value.Uint64())
			p.live = max(p.live, sample[1].Value.Uint64())
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// end stops sampling and returns the peaks in MiB.
func (p *peakHeap) end() (heap, live float64) {
	close(p.stop)
	p.done.Wait()
	return float64(p.peak) / (1 << 20), float64(p.live) / (1 << 20)
}

// benchSizes are the rows of the benchmarks' reports: 100,000 and
// 1,000,000, or the one $CRMSYNC_BENCH_ROWS says (bench/run.sh).
var benchSizes = func() []int {
	if n, err := strconv.Atoi(os.Getenv("CRMSYNC_BENCH_ROWS")); err == nil && n > 0 {
		return []int{n}
	}
	return []int{100_000, 1_000_000}
}()

// BenchmarkWrite writes the report (and problems workbook) of an n-row score
// run, and in the same iteration the floor: a bare excelize StreamWriter
// writing the same cells (floorWrite). ratio is the report's time over the
// floor's (goal: ≤ 1.1). Run with -benchtime=1x: one op is a whole report.
func BenchmarkWrite(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			src := genSource{n}
			s := src.summary()
			dir := b.TempDir()
			var peak, live float64
			var report, floor time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p := startPeakHeap()
				t0 := time.Now()
				if _, err := Write(context.Background(), filepath.Join(dir, "run.xlsx"), s, src, Options{ReportRows: -1}); err != nil {
					b.Fatal(err)
				}
				report += time.Since(t0)
				h, l := p.end()
				peak, live = max(peak, h), max(live, l)
				b.StopTimer()
				t0 = time.Now()
				floorWrite(b, filepath.Join(dir, "floor.xlsx"), src)
				floor += time.Since(t0)
				b.StartTimer()
			}
			b.ReportMetric(float64(n)*float64(b.N)/report.Seconds(), "rows/s")
			b.ReportMetric(report.Seconds()/floor.Seconds(), "ratio")
			b.ReportMetric(peak, "peak-heap-MB")
			b.ReportMetric(live, "peak-live-MB")
			b.ReportMetric(fileMB(b, filepath.Join(dir, "run.xlsx")), "file-MB")
			b.ReportMetric(fileMB(b, filepath.Join(dir, "floor.xlsx")), "floor-file-MB")
		})
	}
}

func fileMB(b *testing.B, path string) float64 {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return float64(fi.Size()) / (1 << 20)
}

// floorWrite is the floor of the report: a bare excelize StreamWriter
// writing the same cells (the report's score sheet: nine result columns and
// the twelve template columns) and saving with SaveAs.
func floorWrite(b *testing.B, path string, src genSource) {
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		b.Fatal(err)
	}
	cells := make([]any, kindFixed+12)
	row := 0
	err = src.Results(context.Background(), 1, crmsync.KindScore, func(r *crmsync.Result) error {
		row++
		cells[0], cells[1], cells[2], cells[3] = r.Source.File, nil, r.Source.Row, r.Key
		cells[4], cells[5], cells[6], cells[7], cells[8] = string(r.Outcome), nil, r.Code, r.Message, r.Attempts
		for j, v := range r.Values {
			cells[kindFixed+j] = str(v)
		}
		return sw.SetRow("A"+strconv.Itoa(row), cells)
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := sw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.SaveAs(path); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFloorStreamWriter is the floor alone (floorWrite).
func BenchmarkFloorStreamWriter(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			src := genSource{n}
			dir := b.TempDir()
			var peak, live float64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p := startPeakHeap()
				floorWrite(b, filepath.Join(dir, "floor.xlsx"), src)
				h, l := p.end()
				peak, live = max(peak, h), max(live, l)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(peak, "peak-heap-MB")
			b.ReportMetric(live, "peak-live-MB")
			b.ReportMetric(fileMB(b, filepath.Join(dir, "floor.xlsx")), "file-MB")
		})
	}
}

// BenchmarkTopFields reads the finance totals' numbers from a score body,
// as the report does once per row.
func BenchmarkTopFields(b *testing.B) {
	body := scoreBody("T20241101000101", "0201700000001", "1280.50", "1280")
	names := []string{"TradeAmount", "ReturnAmount", "Score"}
	out := make([]string, len(names))
	for b.Loop() {
		clear(out)
		if !topFields(body, names, out) {
			b.Fatal("topFields = false")
		}
	}
}

// BenchmarkLiveAdd feeds a plan's results to Live (the results CSV's lines,
// masked, and the finance totals), 100,000 score rows an op in batches of
// 1,000, as the differ does.
func BenchmarkLiveAdd(b *testing.B) {
	g := genSource{n: 10_000}
	rs := make([]*crmsync.Result, g.n)
	for i := range rs {
		rs[i] = new(crmsync.Result)
		g.result(i, rs[i])
		rs[i].Outcome, rs[i].HasCode, rs[i].Code, rs[i].Message, rs[i].Attempts = crmsync.OutcomeNew, false, 0, "", 0
	}
	dir := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		lv := NewLive(dir, Options{})
		for range 10 {
			for i := 0; i < len(rs); i += 1000 {
				lv.Add(rs[i : i+1000])
			}
		}
		if lv.err != nil {
			b.Fatal(lv.err)
		}
		lv.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*10*g.n), "ns/row")
}
