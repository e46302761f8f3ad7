package pipeline

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// keySet holds the keys met in a run's input (128-bit hashes, see keyID)
// with a value each (where the key was first met), in memory that does not
// grow with the row count: the latest keys are in a map; when it holds
// memMax keys they are sorted and written to a temporary file (a "run")
// with a sparse index in memory. One Bloom filter over the keys in runs,
// sized for the rows the run may read, answers "not met" for almost every
// new key without reading a file; a key it may hold costs one read of a
// block per run. A 10,000,000-row run holds ~25 MB instead of the ~400 MB a
// map of every key takes; a run of up to memMax keys never writes a file.
//
// A read or write error of a run's file is kept (err) and answered as
// "not met": the caller checks err before trusting the answers.
type keySet struct {
	dir      string // for the runs' files; "" os.TempDir()
	memMax   int
	capacity int // keys the Bloom filter is sized for (more: more false positives, never a wrong answer)
	mem      keyTable
	runs     []*keyRun
	bloom    []uint64 // blocks of 8 words (512 bits, a cache line); nil until the first run
	buf      []byte   // one block of a run
	err      error
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

// newKeySet holds keys in memory up to keyMemMax, then in files in dir;
// capacity is the most keys expected (the run's row limit).
// keyMemMax is how many keys a keySet holds in memory before it writes a
// run: three quarters of 2^18 slots of 24 bytes (6 MB); tests lower it.
var keyMemMax = 3 << 16

func newKeySet(dir string, capacity int) *keySet {
	return &keySet{dir: dir, memMax: keyMemMax, capacity: capacity}
}

// keyTable is the keys in memory: an open-addressing hash table of
// (id, value) slots with linear probing: a key costs one cache miss
// where a Go map took several, and a spill sorts the slots in place
// instead of copying the keys out.
type keyTable struct {
	slots []keySlot // a power of two of them, at most three quarters used; nil until the first put
	n     int       // slots used
	shift uint      // 64 - log2(len(slots))
	// The all-zero id marks a free slot, so that id is held apart.
	zero    bool
	zeroVal uint64
}

type keySlot struct {
	id [16]byte
	v  uint64
}

// home is the slot where id's probe starts: both halves of the id mixed
// by Fibonacci hashing, whose top bits are used. (An FNV-1a hash of keys
// that differ in their last characters differs in few of its high bits.)
func (t *keyTable) home(id [16]byte) int {
	x := binary.LittleEndian.Uint64(id[:8]) ^ binary.LittleEndian.Uint64(id[8:])
	return int((x * 0x9e3779b97f4a7c15) >> t.shift)
}

func (t *keyTable) get(id [16]byte) (uint64, bool) {
	if id == ([16]byte{}) {
		return t.zeroVal, t.zero
	}
	if t.slots == nil {
		return 0, false
	}
	mask := len(t.slots) - 1
	for i := t.home(id); ; i = (i + 1) & mask {
		switch s := &t.slots[i]; s.id {
		case id:
			return s.v, true
		case [16]byte{}:
			return 0, false
		}
	}
}

// put sets id's value; id is not in the table.
func (t *keyTable) put(id [16]byte, v uint64) {
	if id == ([16]byte{}) {
		t.zero, t.zeroVal = true, v
		return
	}
	if 4*(t.n+1) > 3*len(t.slots) {
		t.grow()
	}
	mask := len(t.slots) - 1
	i := t.home(id)
	for t.slots[i].id != ([16]byte{}) {
		i = (i + 1) & mask
	}
	t.slots[i] = keySlot{id, v}
	t.n++
}

// grow doubles the table (1,024 slots at first) and puts its keys again.
func (t *keyTable) grow() {
	old := t.slots
	t.slots = make([]keySlot, max(2*len(old), 1024))
	t.shift = uint(64 - bits.TrailingZeros(uint(len(t.slots))))
	t.n = 0
	zero, zv := t.zero, t.zeroVal
	for _, s := range old {
		if s.id != ([16]byte{}) {
			t.put(s.id, s.v)
		}
	}
	t.zero, t.zeroVal = zero, zv
}

// len is the number of keys held.
func (t *keyTable) len() int {
	if t.zero {
		return t.n + 1
	}
	return t.n
}

// sorted moves the table's keys to the front of its slots, in id order
// (bytes.Compare's), and returns them; the table is unusable until reset.
func (t *keyTable) sorted() []keySlot {
	out := t.slots[:0] // written behind the slots read
	for i := range t.slots {
		if s := t.slots[i]; s.id != ([16]byte{}) {
			out = append(out, s)
		}
	}
	if t.zero {
		out = append(out, keySlot{v: t.zeroVal})
	}
	slices.SortFunc(out, func(a, b keySlot) int {
		if c := cmp.Compare(binary.BigEndian.Uint64(a.id[:8]), binary.BigEndian.Uint64(b.id[:8])); c != 0 {
			return c
		}
		return cmp.Compare(binary.BigEndian.Uint64(a.id[8:]), binary.BigEndian.Uint64(b.id[8:]))
	})
	return out
}

// refill makes a table of entries again (after sorted, when they could
// not be written out).
func (t *keyTable) refill(entries []keySlot) {
	keep := slices.Clone(entries)
	t.reset()
	for _, e := range keep {
		t.put(e.id, e.v)
	}
}

// reset empties the table and keeps its slots for the next keys.
func (t *keyTable) reset() {
	clear(t.slots)
	t.n, t.zero, t.zeroVal = 0, false, 0
}

// len is the number of keys held.
func (s *keySet) len() int {
	n := s.mem.len()
	for _, r := range s.runs {
		n += r.n
	}
	return n
}

// get returns the value of id and whether it was met.
func (s *keySet) get(id [16]byte) (uint64, bool) {
	if v, ok := s.mem.get(id); ok {
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
	s.mem.put(id, v)
	if s.mem.len() >= s.memMax {
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
	entries := s.mem.sorted()
	f, err := os.CreateTemp(s.dir, keyRunPrefix+"*")
	if err != nil {
		s.mem.refill(entries) // kept in memory, as before the spill
		return err
	}
	// Out of the folder at once where an open file can be removed (Unix):
	// it lives while open, and a run that is killed leaves no file of
	// keys behind it. Elsewhere the removal fails and close removes it.
	os.Remove(f.Name())
	if s.bloom == nil {
		blocks := max(s.capacity, 2*s.memMax) * bloomBits / 512
		s.bloom = make([]uint64, 8*max(blocks, 1))
	}
	r := &keyRun{f: f, n: len(entries)}
	w := bufio.NewWriterSize(f, 1<<16)
	var e [keyEntry]byte
	for i, en := range entries {
		if i%keyBlock == 0 {
			r.first = append(r.first, en.id)
		}
		s.add(en.id)
		copy(e[:16], en.id[:])
		binary.BigEndian.PutUint64(e[16:], en.v)
		w.Write(e[:])
	}
	if err := w.Flush(); err != nil {
		f.Close()
		os.Remove(f.Name())
		s.mem.refill(entries)
		return err
	}
	s.runs = append(s.runs, r)
	s.mem.reset()
	return nil
}

// close removes the runs' files and lets the memory go; the set is empty
// after.
func (s *keySet) close() {
	for _, r := range s.runs {
		r.f.Close()
		os.Remove(r.f.Name())
	}
	s.runs, s.mem, s.bloom = nil, keyTable{}, nil
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

// keyCapacity is how many keys the run may meet, for the keySet's Bloom
// filter: the row limit, else the rows counted, else 10,000,000; never
// more than keyCapacityMax (a row limit set to mean "none" sized the
// filter for it).
func (j *Job) keyCapacity() int {
	switch {
	case j.MaxRows > 0:
		return min(j.MaxRows, keyCapacityMax)
	case j.Rows > 0:
		return min(j.Rows, keyCapacityMax)
	}
	return 10_000_000
}

// keyCapacityMax is the most keys a Bloom filter is sized for (30 MB).
const keyCapacityMax = 20_000_000
