package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
)

// benchKeys is the size of the ledger BenchmarkLookup reads: a million keys
// take too long to build on every run; the B-tree is one level shallower.
const benchKeys = 200_000

var (
	benchDir  string
	benchOnce sync.Once
	benchPath string
	benchErr  error
)

// benchEvent is a score event of realistic size and shape: the fields of
// mallcoo.ScoreNotice, as a real score file's rows give them (~250 bytes).
func benchEvent(i int) *crmsync.Event {
	body := fmt.Sprintf(`{"TransID":"T%09d","ThirdPartyCardID":"C%012d","ScoreEvent":1,"TradeTime":"2026-11-24 10:%02d:%02d","TradeAmount":%d.5,"CrmShopID":"S%04d","TradeSerialNo":"POS-%08d","PosID":"POS%02d","ReturnTime":"","ReturnAmount":null,"Score":%d}`,
		i, i%50_000, i/60%60, i%60, i%997, i%200, i, i%20, i%997)
	return &crmsync.Event{
		Kind: crmsync.KindScore,
		Key:  fmt.Sprintf("T%09d", i),
		Lane: fmt.Sprintf("C%012d", i%50_000),
		Time: t0.Add(time.Duration(i) * time.Second),
		Body: []byte(body),
		Hash: crmsync.ContentHash(crmsync.KindScore, []byte(body)),
	}
}

func benchResult(seq int64, ev *crmsync.Event) *crmsync.Result {
	return &crmsync.Result{
		Seq:      seq,
		Source:   crmsync.SourceRef{File: "score-20261124.csv", Row: int(seq) + 1},
		Kind:     ev.Kind,
		Key:      ev.Key,
		Lane:     ev.Lane,
		Time:     ev.Time,
		Values:   []string{ev.Key, ev.Lane, "2026-11-24 10:00:00", "12.50", "S001", "1", "125", "remark"},
		Outcome:  crmsync.OutcomeSent,
		HasCode:  true,
		Code:     1,
		Message:  "成功",
		Attempts: 1,
		Body:     ev.Body,
		Hash:     ev.Hash,
	}
}

// fill claims and records n sent events (and their results) in batches of
// 10,000, as a backfill would.
func fill(ctx context.Context, l *Ledger, runID int64, from, n int) error {
	const batch = 10_000
	for start := from; start < from+n; start += batch {
		end := min(start+batch, from+n)
		evs := make([]*crmsync.Event, 0, end-start)
		rs := make([]*crmsync.Result, 0, end-start)
		for i := start; i < end; i++ {
			ev := benchEvent(i)
			evs = append(evs, ev)
			rs = append(rs, benchResult(int64(i+1), ev))
		}
		if err := l.Claim(ctx, runID, evs); err != nil {
			return err
		}
		if err := l.Record(ctx, runID, rs); err != nil {
			return err
		}
	}
	return nil
}

// benchLedger returns the path of a ledger holding benchKeys sent events,
// built once per test binary.
func benchLedger(b *testing.B) string {
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "ledger-bench")
		if benchErr != nil {
			return
		}
		benchPath = filepath.Join(benchDir, "crmsync.db")
		ctx := context.Background()
		l, err := Open(ctx, benchPath)
		if err != nil {
			benchErr = err
			return
		}
		defer l.Close()
		unlock, err := l.Lock("bench")
		if err != nil {
			benchErr = err
			return
		}
		defer unlock()
		id, err := l.BeginRun(ctx, "bench", nil, time.Now())
		if err != nil {
			benchErr = err
			return
		}
		benchErr = fill(ctx, l, id, 0, benchKeys)
	})
	if benchErr != nil {
		b.Fatalf("build bench ledger: %v", benchErr)
	}
	return benchPath
}

// lookupEvents returns n events to look up, in random order: nine in ten
// are in the bench ledger, one in ten is new.
func lookupEvents(n int) []*crmsync.Event {
	r := rand.New(rand.NewPCG(1, 2))
	evs := make([]*crmsync.Event, n)
	for i := range evs {
		j := r.IntN(benchKeys)
		if i%10 == 9 {
			j += benchKeys
		}
		evs[i] = benchEvent(j)
	}
	return evs
}

// BenchmarkLookup measures Lookup on a 200k-key ledger against its floor, a
// prepared point query per key. b.N counts keys looked up.
func BenchmarkLookup(b *testing.B) {
	path := benchLedger(b)
	ctx := context.Background()
	l, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	evs := lookupEvents(100_000)

	b.Run("batch500", func(b *testing.B) {
		found := 0
		for i := 0; i < b.N; i += lookupBatch {
			start := i % len(evs)
			end := min(start+lookupBatch, len(evs), start+b.N-i)
			ps, err := l.Lookup(ctx, evs[start:end])
			if err != nil {
				b.Fatal(err)
			}
			for _, p := range ps {
				if p.State != crmsync.StateNone {
					found++
				}
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
		if b.N >= 100 && found < b.N*8/10 {
			b.Fatalf("Lookup found %d of %d keys, want about 90%%", found, b.N)
		}
	})

	b.Run("point", func(b *testing.B) {
		// The same columns as Lookup reads (it reads a body only when the
		// hash differs, which no key here does).
		st, err := l.db.PrepareContext(ctx, `SELECT state, kind, hash, body_id, code, message, attempts
FROM events WHERE keyspace = ? AND key = ?`)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		for i := 0; i < b.N; i++ {
			ev := evs[i%len(evs)]
			var (
				state, kind, hash, msg string
				bodyID, code           sql.NullInt64
				attempts               int
			)
			err := st.QueryRowContext(ctx, ev.Kind.KeySpace(), ev.Key).Scan(&state, &kind, &hash, &bodyID, &code, &msg, &attempts)
			if err != nil && err != sql.ErrNoRows {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	})
}

// BenchmarkRecord measures Record of sent results (each settling its
// event, claimed before as in a run) in batches of 1000; b.N counts rows.
// Claim of the same batches is measured beside it, since the job pays both
// per event; so is Record with synchronous=FULL, the price of the
// durability Record does without (see the package comment); and so is the
// floor: one transaction of 1000 prepared inserts of the same bytes into a
// table without indexes, on the same kind of connection.
func BenchmarkRecord(b *testing.B) {
	const batch = 1000
	ctx := context.Background()
	b.Run("floor", func(b *testing.B) {
		l := openLedger(b, filepath.Join(b.TempDir(), "crmsync.db"))
		if _, err := l.db.Exec(`CREATE TABLE floor (id INTEGER PRIMARY KEY, key TEXT, vals TEXT, body BLOB)`); err != nil {
			b.Fatal(err)
		}
		evs := make([]*crmsync.Event, batch)
		var cpu cpuClock
		b.ResetTimer()
		for i := 0; i < b.N; i += batch {
			n := min(batch, b.N-i)
			b.StopTimer()
			for j := range n {
				evs[j] = benchEvent(i + j)
			}
			b.StartTimer()
			cpu.start()
			err := l.write(ctx, false, func(*sql.Conn) error {
				st, err := l.prep(ctx, `INSERT INTO floor (key, vals, body) VALUES (?, ?, ?)`)
				if err != nil {
					return err
				}
				for _, ev := range evs[:n] {
					if _, err := st.ExecContext(ctx, ev.Key, `["a","b","c","d","e","f","g","h"]`, ev.Body); err != nil {
						return err
					}
				}
				return nil
			})
			cpu.stop()
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		cpu.report(b)
	})
	type bench struct {
		what  string
		batch int
	}
	// Batches of 8 are what the job's group commits look like when
	// answers trickle in: the fixed cost of a call shows.
	// plan: rows looked up and recorded new (a plan, or the first step of
	// a run), as the diff does; afterplan: the same in a run after a plan
	// of the same rows; rerun: rows looked up and recorded unchanged
	// against events sent before.
	for _, bb := range []bench{{"plan", batch}, {"afterplan", batch}, {"rerun", batch}, {"claim", batch}, {"record", batch}, {"record-fsync", batch}, {"claim", 8}, {"record", 8}} {
		what, batch := bb.what, bb.batch
		b.Run(fmt.Sprintf("%s/batch=%d", what, batch), func(b *testing.B) {
			l := openLedger(b, filepath.Join(b.TempDir(), "crmsync.db"))
			id := beginRun(b, l)
			var plan int64 // afterplan: the plan before the run
			switch what {
			case "plan":
				var err error
				if id, err = l.BeginRun(ctx, "plan", nil, time.Now()); err != nil {
					b.Fatal(err)
				}
			case "afterplan":
				var err error
				if plan, err = l.BeginRun(ctx, "plan", nil, time.Now()); err != nil {
					b.Fatal(err)
				}
				if id, err = l.BeginRun(ctx, "run", nil, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
			evs := make([]*crmsync.Event, batch)
			rs := make([]*crmsync.Result, batch)
			var cpu cpuClock
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				n := min(batch, b.N-i)
				b.StopTimer()
				for j := range n {
					evs[j] = benchEvent(i + j)
					rs[j] = benchResult(int64(i+j+1), evs[j])
				}
				switch what {
				case "plan", "rerun", "afterplan":
					for _, r := range rs[:n] {
						r.Outcome, r.HasCode, r.Code, r.Message, r.Attempts = crmsync.OutcomeNew, false, 0, "", 0
					}
					if what == "afterplan" {
						if err := l.Record(ctx, plan, rs[:n]); err != nil {
							b.Fatal(err)
						}
					}
					if what == "rerun" {
						sent := make([]*crmsync.Result, n)
						for j := range n {
							sent[j] = benchResult(int64(i+j+1), evs[j])
						}
						if err := l.Claim(ctx, id, evs[:n]); err != nil {
							b.Fatal(err)
						}
						if err := l.Record(ctx, id, sent); err != nil {
							b.Fatal(err)
						}
						for _, r := range rs[:n] {
							r.Seq += int64(b.N)
							r.Outcome = crmsync.OutcomeUnchanged
						}
					}
				case "claim":
				default: // as in a run: claimed, sent, recorded
					if err := l.Claim(ctx, id, evs[:n]); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				cpu.start()
				var err error
				switch what {
				case "plan", "rerun", "afterplan": // as the diff does: look up, then record
					if _, err = l.Lookup(ctx, evs[:n]); err == nil {
						err = l.Record(ctx, id, rs[:n])
					}
				case "claim":
					err = l.Claim(ctx, id, evs[:n])
				case "record":
					err = l.Record(ctx, id, rs[:n])
				default: // what Record would cost with synchronous=FULL
					err = l.record(ctx, id, rs[:n], true)
				}
				cpu.stop()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			cpu.report(b)
		})
	}
}

// cpuClock adds up the CPU time (user and system, all threads: SQLite's
// included; cpuNow, zero where it is not known) of the timed sections of a benchmark, which the shared
// machine's load disturbs less than wall time.
type cpuClock struct {
	at, total time.Duration
}

func (c *cpuClock) start() { c.at = cpuNow() }
func (c *cpuClock) stop()  { c.total += cpuNow() - c.at }

// report gives the CPU microseconds per row (b.N rows).
func (c *cpuClock) report(b *testing.B) {
	b.ReportMetric(float64(c.total.Microseconds())/float64(b.N), "cpu-µs/row")
}

// BenchmarkJob mimics the import job: a claimer goroutine claims what the
// senders ask for (claim events at a time) and a recorder goroutine records
// the answers, committing whatever queued while its previous commit ran.
// b.N counts events claimed and recorded. The claim's fsync dominates:
// bigger claims are the lever.
func BenchmarkJob(b *testing.B) {
	for _, claim := range []int{8, 64} {
		b.Run(fmt.Sprintf("claim=%d", claim), func(b *testing.B) { benchJob(b, claim) })
	}
}

func benchJob(b *testing.B, claim int) {
	ctx := context.Background()
	l := openLedger(b, filepath.Join(b.TempDir(), "crmsync.db"))
	id := beginRun(b, l)
	evs := make([]*crmsync.Event, b.N)
	for i := range evs {
		evs[i] = benchEvent(i)
	}
	sent := make(chan *crmsync.Result, 4096)
	errs := make(chan error, 1)
	b.ResetTimer()
	go func() {
		defer close(sent)
		for i := 0; i < b.N; i += claim {
			batch := evs[i:min(i+claim, b.N)]
			if err := l.Claim(ctx, id, batch); err != nil {
				errs <- err
				return
			}
			for j, ev := range batch {
				sent <- benchResult(int64(i+j+1), ev)
			}
		}
	}()
	var buf []*crmsync.Result
	for r := range sent {
		buf = append(buf[:0], r)
	more:
		for {
			select {
			case r, ok := <-sent:
				if !ok {
					break more
				}
				buf = append(buf, r)
			default:
				break more
			}
		}
		if err := l.Record(ctx, id, buf); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkResults measures reading a plan's results back as the report
// does: Results once per kind of crmsync.Kinds, over a run of 50,000 new
// score rows (one kind, as a backfill's file is). b.N counts rows read.
func BenchmarkResults(b *testing.B) {
	const rows = 50_000
	ctx := context.Background()
	l := openLedger(b, filepath.Join(b.TempDir(), "crmsync.db"))
	id := beginRun(b, l)
	rs := make([]*crmsync.Result, 0, 10_000)
	for i := 0; i < rows; i++ {
		r := benchResult(int64(i+1), benchEvent(i))
		r.Outcome, r.HasCode, r.Code, r.Message, r.Attempts = crmsync.OutcomeNew, false, 0, "", 0
		if rs = append(rs, r); len(rs) == cap(rs) {
			if err := l.Record(ctx, id, rs); err != nil {
				b.Fatal(err)
			}
			rs = rs[:0]
		}
	}
	var cpu cpuClock
	b.ResetTimer()
	n := 0
	for n < b.N {
		cpu.start()
		for _, k := range crmsync.Kinds {
			err := l.Results(ctx, id, k, func(r *crmsync.Result) error {
				n++
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		cpu.stop()
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(cpu.total.Microseconds())/float64(n), "cpu-µs/row")
}
