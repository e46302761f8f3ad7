package pipeline

import (
	"context"
	"crypto/rand"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/ledger"
)

// TestKeySetSpills: beyond memMax keys the set writes sorted runs to files
// in its folder and still answers every key met with its value and every
// other key "not met"; the files are out of the folder as soon as they are
// written (Linux), else close removes them.
func TestKeySetSpills(t *testing.T) {
	dir := t.TempDir()
	s := newKeySet(dir, 5000)
	s.memMax = 300 // 16 runs for 5,000 keys
	ids := make([][16]byte, 5000)
	for i := range ids {
		rand.Read(ids[i][:])
		if _, ok := s.get(ids[i]); ok {
			t.Fatalf("key %d met before it was put", i)
		}
		s.put(ids[i], uint64(i)<<32|uint64(i+2))
	}
	if s.err != nil {
		t.Fatal(s.err)
	}
	if len(s.runs) != 16 || s.len() != 5000 {
		t.Errorf("%d runs holding %d keys, want 16 runs and 5,000 keys", len(s.runs), s.len())
	}
	for i, id := range ids {
		if v, ok := s.get(id); !ok || v != uint64(i)<<32|uint64(i+2) {
			t.Fatalf("key %d: %x, %v; want %x", i, v, ok, uint64(i)<<32|uint64(i+2))
		}
	}
	for i := 0; i < 5000; i++ {
		var id [16]byte
		rand.Read(id[:])
		if _, ok := s.get(id); ok {
			t.Fatalf("a key never put was met: %x", id)
		}
	}
	if s.err != nil {
		t.Fatal(s.err)
	}
	// The runs' files are open but no longer in the folder (on Linux): a
	// run killed now (kill -9, a crash) leaves none of them behind.
	files, _ := filepath.Glob(filepath.Join(dir, keyRunPrefix+"*"))
	if want := 0; runtime.GOOS == "linux" && len(files) != want {
		t.Errorf("%d run files in the folder while the set is open, want %d: %q", len(files), want, files)
	}
	s.close()
	left, _ := os.ReadDir(dir)
	for _, e := range left {
		if strings.HasPrefix(e.Name(), keyRunPrefix) {
			t.Errorf("close left %s", e.Name())
		}
	}
}

// TestKeySetReadError: a run's file that cannot be read is an error the
// caller sees, not a key quietly "not met".
func TestKeySetReadError(t *testing.T) {
	s := newKeySet(t.TempDir(), 100)
	s.memMax = 10
	ids := make([][16]byte, 10)
	for i := range ids {
		rand.Read(ids[i][:])
		s.put(ids[i], uint64(i))
	}
	s.runs[0].f.Close()
	if _, ok := s.get(ids[3]); ok || s.err == nil {
		t.Errorf("get after the file closed: met %v, err %v; want an error", ok, s.err)
	}
	s.close()
}

// TestDuplicateAfterSpill: a plan of more rows than the keys held in
// memory still finds a key met thousands of rows before (in a run's file)
// and names the row it was first met in; no temporary file is left beside
// the ledger.
func TestDuplicateAfterSpill(t *testing.T) {
	defer func(n int) { keyMemMax = n }(keyMemMax)
	keyMemMax = 50
	dir := t.TempDir()
	ctx := context.Background()
	l, err := ledger.Open(ctx, filepath.Join(dir, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	unlock, err := l.Lock("test")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	lines := []string{"TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score"}
	for i := 0; i < 1000; i++ {
		id := fmt.Sprintf("T%d", i)
		if i == 900 {
			id = "T3" // the key of the file's 4th row, 18 runs before
		}
		lines = append(lines, fmt.Sprintf("%s,02017%08d,1,2024-11-01 10:00:00,%d,S1,%d", id, i, i+1, i+1))
	}
	in := filepath.Join(dir, "2024-11-01_score.csv")
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	id, err := l.BeginRun(ctx, "plan", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s := crmsync.NewSummary(id, "plan", time.Now())
	j := &Job{Reader: &importer.Reader{}, Ledger: l, Batch: 10}
	if err := j.Run(ctx, id, []string{in}, s); err != nil {
		t.Fatalf("Job.Run() = %v", err)
	}
	if err := l.EndRun(ctx, s); err != nil {
		t.Fatal(err)
	}
	var dups []*crmsync.Result
	var first *crmsync.Result
	l.Results(ctx, id, "", func(r *crmsync.Result) error {
		if r.Outcome == crmsync.OutcomeDuplicate {
			dups = append(dups, r)
		}
		if r.Key == "T3" && r.Outcome == crmsync.OutcomeNew {
			first = r
		}
		return nil
	})
	if len(dups) != 1 || first == nil || dups[0].Source.Row != 902 || dups[0].Reason != crmsync.DuplicateReason(first.Source) {
		t.Fatalf("duplicates %+v (first %+v); want row 902 a duplicate of row %d", dups, first, 5)
	}
	if s.Counts[crmsync.OutcomeNew] != 999 {
		t.Errorf("counts %v, want 999 new", s.Counts)
	}
	left, _ := os.ReadDir(dir)
	for _, e := range left {
		if strings.HasPrefix(e.Name(), keyRunPrefix) {
			t.Errorf("the run left %s", e.Name())
		}
	}
}

// TestKeySetBloomBounded: a row limit set very high (max_rows_per_run =
// 1,000,000,000 to mean "no limit") does not size the Bloom filter for it:
// a run that spills once took 1.5 GB for it. Beyond keyCapacityMax keys the
// filter answers with more false positives, never a wrong answer.
func TestKeySetBloomBounded(t *testing.T) {
	j := &Job{MaxRows: 1_000_000_000}
	s := newKeySet(t.TempDir(), j.keyCapacity())
	defer s.close()
	s.memMax = 10
	ids := make([][16]byte, 20)
	for i := range ids {
		rand.Read(ids[i][:])
		s.put(ids[i], uint64(i))
	}
	if s.err != nil {
		t.Fatal(s.err)
	}
	if size, most := len(s.bloom)*8, 32<<20; size > most {
		t.Errorf("Bloom filter of %d MB for a row limit of %d, want at most %d MB", size>>20, j.MaxRows, most>>20)
	}
	for i, id := range ids {
		if v, ok := s.get(id); !ok || v != uint64(i) {
			t.Fatalf("key %d: %d, %v; want %d", i, v, ok, i)
		}
	}
}

// TestKeySetBloomFollowsKeys: the Bloom filter is sized by the keys met,
// not by the row limit (max_rows_per_run = 20,000,000 sized it at 30 MB for
// a run of 300,000 rows), and grows with them, answering "not met" for
// almost every key never put however many keys came.
func TestKeySetBloomFollowsKeys(t *testing.T) {
	j := &Job{MaxRows: 20_000_000}
	s := newKeySet(t.TempDir(), j.keyCapacity())
	defer s.close()
	s.memMax = 1000
	ids := make([][16]byte, 1001)
	for i := range ids {
		rand.Read(ids[i][:])
		s.put(ids[i], uint64(i))
	}
	if size, most := len(s.bloom)*8, 8*1000*bloomBits; size > most {
		t.Errorf("after one run of 1,000 keys: a Bloom filter of %d bytes for a row limit of %d, want at most %d", size, j.MaxRows, most)
	}
	for len(ids) < 50_000 {
		var id [16]byte
		rand.Read(id[:])
		s.put(id, uint64(len(ids)))
		ids = append(ids, id)
	}
	if s.err != nil {
		t.Fatal(s.err)
	}
	if bits, most := len(s.bloom)*64, 2*2*50_000*bloomBits; bits > most {
		t.Errorf("a Bloom filter of %d bits for 50,000 keys, want at most %d", bits, most)
	}
	for i, id := range ids {
		if v, ok := s.get(id); !ok || v != uint64(i) {
			t.Fatalf("key %d: %d, %v; want %d", i, v, ok, i)
		}
	}
	fp := 0
	for i := 0; i < 10_000; i++ {
		var id [16]byte
		rand.Read(id[:])
		if s.mayHold(id) {
			fp++
		}
		if _, ok := s.get(id); ok {
			t.Fatalf("a key never put was met: %x", id)
		}
	}
	if fp > 200 {
		t.Errorf("the Bloom filter may hold %d of 10,000 keys never put, want at most 200 (2%%)", fp)
	}
}

// TestKeySetZeroID: the all-zero id, which marks a free slot of the table
// in memory, is held like any other, in memory and in a run's file.
func TestKeySetZeroID(t *testing.T) {
	s := newKeySet(t.TempDir(), 100)
	defer s.close()
	s.memMax = 10
	var zero [16]byte
	if _, ok := s.get(zero); ok {
		t.Fatal("the zero id met before it was put")
	}
	s.put(zero, 7)
	if v, ok := s.get(zero); !ok || v != 7 {
		t.Fatalf("get(zero) = %d, %v; want 7, true", v, ok)
	}
	ids := make([][16]byte, 25)
	for i := range ids {
		rand.Read(ids[i][:])
		s.put(ids[i], uint64(100+i))
	}
	if s.err != nil || len(s.runs) != 2 {
		t.Fatalf("%d runs, err %v; want 2 runs", len(s.runs), s.err)
	}
	if v, ok := s.get(zero); !ok || v != 7 {
		t.Errorf("get(zero) after a spill = %d, %v; want 7, true", v, ok)
	}
	for i, id := range ids {
		if v, ok := s.get(id); !ok || v != uint64(100+i) {
			t.Errorf("key %d: %d, %v; want %d", i, v, ok, 100+i)
		}
	}
	if s.len() != 26 {
		t.Errorf("len() = %d, want 26", s.len())
	}
}

// TestKeyID: keyID is hash/fnv's 128-bit FNV-1a of the key space, a zero
// byte and the key, for keys of every kind and of every byte.
func TestKeyID(t *testing.T) {
	keys := []string{"", "T0000000001", "T0000000002", "R1|2", "0201700000001|2024-11-01", "会员|\x00\xff", strings.Repeat("x", 300)}
	for _, k := range crmsync.Kinds {
		for _, key := range keys {
			h := fnv.New128a()
			h.Write([]byte(k.KeySpace()))
			h.Write([]byte{0})
			h.Write([]byte(key))
			var want [16]byte
			h.Sum(want[:0])
			if got := keyID(&crmsync.Event{Kind: k, Key: key}); got != want {
				t.Errorf("keyID(%s, %q) = %x, want %x", k, key, got, want)
			}
		}
	}
}

// BenchmarkKeySet puts 1,000,000 keys (or $CRMSYNC_BENCH_KEYS), the
// keyIDs of score TransIDs, each looked up first, and looks up as many keys
// never put: the heap the set holds at the end (heap-MB: the keys in memory,
// the Bloom filter, the runs' index), which is what it takes in a plan of
// that many rows; ns/op over the keys is the time of a key.
func BenchmarkKeySet(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("CRMSYNC_BENCH_KEYS")); err == nil && v > 0 {
		n = v
	}
	id := func(i int) [16]byte {
		return keyID(&crmsync.Event{Kind: crmsync.KindScore, Key: fmt.Sprintf("T%010d", i)})
	}
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s := newKeySet(b.TempDir(), 0)
		for i := 0; i < n; i++ {
			k := id(i)
			if _, ok := s.get(k); ok {
				b.Fatalf("key %d met before it was put", i)
			}
			s.put(k, uint64(i))
			s.get(id(n + i))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MB")
		if s.err != nil {
			b.Fatal(s.err)
		}
		s.close()
	}
}
