package pipeline

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// keySet holds the keys met in a run's input (128-bit hashes, see keyID)
// with a value each (where the key was first met), in memory that does not
// grow with the row count: the latest keys are in a table in memory (an
// array of entries and an open-addressing index of them, ~32 bytes a key
// where a Go map took ~50); when it holds
// memMax keys they are sorted and written to a temporary file (a "run")
// with a sparse index in memory. One Bloom filter over the keys in runs,
// sized for the rows the run may read, answers "not met" for almost every
// new key without reading a file; a key it may hold costs one read of a
// block per run. The filter is sized for the keys the set is told to
// expect, or, told nothing, for four times memMax; when the runs come to
// hold more keys than it is sized for it is made again for twice as many,
// from the runs' files (read once each time, sequentially), so its memory
// follows the keys met, not a row limit: 12 bits a key, ~1.5 MB for a
// 1,000,000-row run, ~18 MB for 10,000,000, where a map of every key takes
// ~400 MB. A run of up to memMax keys never writes a file.
//
// A read or write error of a run's file is kept (err) and answered as
// "not met": the caller checks err before trusting the answers.
type keySet struct {
	dir      string // for the runs' files; "" os.TempDir()
	memMax   int
	capacity int      // keys the Bloom filter is sized for; grows with the keys in runs (bloomFor)
	mem      []keyVal // the keys not yet in a run, in the order put
	slots    []uint32 // open addressing over mem: index+1, 0 for none; a power of two ≥ 2·memMax
	runs     []*keyRun
	inRuns   int      // keys in runs
	bloom    []uint64 // blocks of 8 words (512 bits, a cache line); nil until the first run
	buf      []byte   // one block of a run
	err      error
}

// keyVal is a key held in memory and its value.
type keyVal struct {
	id [16]byte
	v  uint64
}

// keyRun is one sorted run of keys in a file: entries of keyEntry bytes,
// id then value (big endian), in id order.
type keyRun struct {
	f     *os.File
	n     int
	first [][16]byte // the id of every keyBlock-th entry
}

const (
	keyEntry = 24
	keyBlock = 128 // entries read at once: 3 KB

	bloomBits    = 12 // bits a key: ~0.5% false positives with 7 probes in one 512-bit block
	bloomProbes  = 7
	keyRunPrefix = ".crmsync-keys-"
)

// keyMemMax is how many keys a keySet holds in memory before it writes a
// run (~8 MB); tests lower it.
var keyMemMax = 1 << 18

// newKeySet holds keys in memory up to keyMemMax, then in files in dir;
// capacity is the keys expected (the rows counted), 0 when not known.
func newKeySet(dir string, capacity int) *keySet {
	return &keySet{dir: dir, memMax: keyMemMax, capacity: capacity}
}

// len is the number of keys held.
func (s *keySet) len() int {
	return len(s.mem) + s.inRuns
}

// get returns the value of id and whether it was met.
func (s *keySet) get(id [16]byte) (uint64, bool) {
	if v, ok := s.memGet(id); ok {
		return v, true
	}
	if len(s.runs) == 0 || !s.mayHold(id) {
		return 0, false
	}
	for _, r := range s.runs {
		v, ok, err := r.get(id, &s.buf)
		if err != nil {
			if s.err == nil {
				s.err = fmt.Errorf("read the run's keys from %s: %w", r.f.Name(), err)
			}
			return 0, false
		}
		if ok {
			return v, true
		}
	}
	return 0, false
}

// put adds id (not met before) with its value.
func (s *keySet) put(id [16]byte, v uint64) {
	s.memPut(id, v)
	if len(s.mem) >= s.memMax {
		if err := s.spill(); err != nil && s.err == nil {
			s.err = fmt.Errorf("write the run's keys to a temporary file in %s: %w", s.dirName(), err)
		}
	}
}

func (s *keySet) dirName() string {
	if s.dir == "" {
		return os.TempDir()
	}
	return s.dir
}

// spill writes the keys in memory to a new run and empties the map.
func (s *keySet) spill() error {
	ids := s.mem
	slices.SortFunc(ids, func(a, b keyVal) int { return bytes.Compare(a.id[:], b.id[:]) })
	f, err := os.CreateTemp(s.dir, keyRunPrefix+"*")
	if err != nil {
		return err
	}
	// Out of the folder at once where an open file can be removed (Unix):
	// it lives while open, and a run that is killed leaves no file of
	// keys behind it. Elsewhere the removal fails and close removes it.
	os.Remove(f.Name())
	if err := s.bloomFor(s.inRuns + len(ids)); err != nil {
		f.Close()
		return err
	}
	r := &keyRun{f: f, n: len(ids)}
	w := bufio.NewWriterSize(f, 1<<16)
	var e [keyEntry]byte
	for i, kv := range ids {
		if i%keyBlock == 0 {
			r.first = append(r.first, kv.id)
		}
		s.add(kv.id)
		copy(e[:16], kv.id[:])
		binary.BigEndian.PutUint64(e[16:], kv.v)
		w.Write(e[:])
	}
	if err := w.Flush(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	s.runs = append(s.runs, r)
	s.inRuns += r.n
	s.mem = s.mem[:0] // keeps the memory for the next keys
	clear(s.slots)
	return nil
}

// slot is where the index of id's entry in mem is looked for first: the
// id is a hash already; a multiplication spreads its first word over the
// top bits.
func (s *keySet) slot(id [16]byte) int {
	h := binary.LittleEndian.Uint64(id[:8]) * 0x9e3779b97f4a7c15
	return int(h >> 32 % uint64(len(s.slots)))
}

// memGet returns the value of id if it is held in memory.
func (s *keySet) memGet(id [16]byte) (uint64, bool) {
	if len(s.slots) == 0 {
		return 0, false
	}
	mask := len(s.slots) - 1
	for i := s.slot(id); ; i = (i + 1) & mask {
		p := s.slots[i]
		if p == 0 {
			return 0, false
		}
		if kv := &s.mem[p-1]; kv.id == id {
			return kv.v, true
		}
	}
}

// memPut adds id, not held, to the keys in memory; there are fewer than
// memMax of them.
func (s *keySet) memPut(id [16]byte, v uint64) {
	if s.slots == nil {
		n := 1
		for n < 2*s.memMax {
			n *= 2
		}
		s.slots = make([]uint32, n)
		s.mem = make([]keyVal, 0, s.memMax)
	}
	mask := len(s.slots) - 1
	i := s.slot(id)
	for s.slots[i] != 0 {
		i = (i + 1) & mask
	}
	s.mem = append(s.mem, keyVal{id, v})
	s.slots[i] = uint32(len(s.mem))
}

// bloomFor makes sure the Bloom filter is sized for n keys in runs: the
// first time for the keys expected (at least four times memMax), and when
// n outgrows it, for twice n, adding the keys of the runs already written
// again. Never beyond keyCapacityMax keys (30 MB): past it the filter
// answers with more false positives, never a wrong answer.
func (s *keySet) bloomFor(n int) error {
	if s.bloom != nil && (n <= s.capacity || s.capacity >= keyCapacityMax) {
		return nil
	}
	if s.bloom == nil {
		s.capacity = max(s.capacity, 4*s.memMax)
	}
	if s.capacity < n {
		s.capacity = 2 * n
	}
	s.capacity = min(s.capacity, keyCapacityMax)
	blocks := max(s.capacity*bloomBits/512, 1)
	if s.bloom != nil && len(s.bloom) == 8*blocks {
		return nil
	}
	s.bloom = nil // the old filter's memory may go before the new one is filled
	s.bloom = make([]uint64, 8*blocks)
	buf := make([]byte, keyBlock*keyEntry)
	for _, r := range s.runs {
		for off := 0; off < r.n; off += keyBlock {
			b := buf[:min(keyBlock, r.n-off)*keyEntry]
			if _, err := r.f.ReadAt(b, int64(off*keyEntry)); err != nil && err != io.EOF {
				return fmt.Errorf("read %s again: %w", r.f.Name(), err)
			}
			for i := 0; i < len(b); i += keyEntry {
				s.add([16]byte(b[i : i+16]))
			}
		}
	}
	return nil
}

// close removes the runs' files and lets the memory go; the set is empty
// after.
func (s *keySet) close() {
	for _, r := range s.runs {
		r.f.Close()
		os.Remove(r.f.Name())
	}
	s.runs, s.mem, s.slots, s.bloom, s.inRuns = nil, nil, nil, nil, 0
}

// block returns the Bloom filter block of id and the bits to probe in it:
// the id is a hash already; its first half picks the block, its second
// the seven 9-bit bit numbers.
func (s *keySet) block(id [16]byte) ([]uint64, uint64) {
	n := uint64(len(s.bloom) / 8)
	b := binary.LittleEndian.Uint64(id[:8]) % n
	return s.bloom[b*8 : b*8+8], binary.LittleEndian.Uint64(id[8:])
}

func (s *keySet) add(id [16]byte) {
	blk, h := s.block(id)
	for i := 0; i < bloomProbes; i++ {
		bit := h & 511
		blk[bit/64] |= 1 << (bit % 64)
		h >>= 9
	}
}

func (s *keySet) mayHold(id [16]byte) bool {
	blk, h := s.block(id)
	for i := 0; i < bloomProbes; i++ {
		bit := h & 511
		if blk[bit/64]&(1<<(bit%64)) == 0 {
			return false
		}
		h >>= 9
	}
	return true
}

// get reads the block id would be in and looks for it there.
func (r *keyRun) get(id [16]byte, buf *[]byte) (uint64, bool, error) {
	// The last block whose first id is ≤ id.
	blk := sort.Search(len(r.first), func(i int) bool { return bytes.Compare(r.first[i][:], id[:]) > 0 }) - 1
	if blk < 0 {
		return 0, false, nil
	}
	n := min(keyBlock, r.n-blk*keyBlock)
	if cap(*buf) < n*keyEntry {
		*buf = make([]byte, keyBlock*keyEntry)
	}
	b := (*buf)[:n*keyEntry]
	if _, err := r.f.ReadAt(b, int64(blk*keyBlock*keyEntry)); err != nil && err != io.EOF {
		return 0, false, err
	}
	i := sort.Search(n, func(i int) bool { return bytes.Compare(b[i*keyEntry:i*keyEntry+16], id[:]) >= 0 })
	if i < n && bytes.Equal(b[i*keyEntry:i*keyEntry+16], id[:]) {
		return binary.BigEndian.Uint64(b[i*keyEntry+16:]), true, nil
	}
	return 0, false, nil
}

// tempDir is where a run's keys spill (keySet): beside the ledger, whose
// folder has room for the run's results anyway (/tmp may be memory).
func (j *Job) tempDir() string {
	if l, ok := j.Ledger.(interface{ Path() string }); ok && l.Path() != "" {
		return filepath.Dir(l.Path())
	}
	return ""
}

// keyCapacity is how many keys the run is expected to meet, for the
// keySet's Bloom filter: the rows counted, when they were (the progress
// total); else 0, and the filter grows with the keys met. The row limit
// (max_rows_per_run, 10,000,000 by default, 20,000,000 in the benchmarks)
// is not a size to expect: a filter sized for it took 15–30 MB for a run
// of 300,000 rows.
func (j *Job) keyCapacity() int {
	if j.MaxRows > 0 && j.Rows > j.MaxRows {
		return j.MaxRows
	}
	return j.Rows
}

// keyCapacityMax is the most keys a Bloom filter is sized for (30 MB).
const keyCapacityMax = 20_000_000
