package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// Values are stored as a JSON array of strings. encoding/json spends most
// of its time on reflection for so simple a shape, and a report reads back
// every row of a run, so these two functions take the common case (no
// character that needs escaping) by hand and leave the rest to
// encoding/json. The output is always valid JSON.

// appendValues appends vs as a JSON array ("null" for nil).
func appendValues(b []byte, vs []string) []byte {
	if vs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		if plain(v) {
			b = append(b, '"')
			b = append(b, v...)
			b = append(b, '"')
			continue
		}
		q, _ := json.Marshal(v) // a string always marshals
		b = append(b, q...)
	}
	return append(b, ']')
}

// plain reports whether s can stand between quotes in JSON as it is.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.ValidString(s)
}

// cellsMark starts the compact encoding of values (schema 7, the cells
// table): the mark, then the values joined by cellsSep. JSON never starts
// with it.
const (
	cellsMark = 0x01
	cellsSep  = 0x1f // the ASCII unit separator
)

// appendCells appends vs in the compact encoding when it can hold them (at
// least one value, none containing cellsSep), else as appendValues does.
func appendCells(b []byte, vs []string) []byte {
	if len(vs) == 0 {
		return appendValues(b, vs)
	}
	for _, v := range vs {
		if strings.IndexByte(v, cellsSep) >= 0 {
			return appendValues(b, vs)
		}
	}
	b = append(b, cellsMark)
	for i, v := range vs {
		if i > 0 {
			b = append(b, cellsSep)
		}
		b = append(b, v...)
	}
	return b
}

// headMark starts the cells of a row that has an event (schema 8): the
// mark, the event's key, lane, time and maybe hash (the head), then the values as
// appendCells writes them. An unchanged row is then stored as a reference
// to its cells (the same table), which give everything a report shows of
// it but its source row. The key and the lane are most often one of the
// values: they are stored as its index. The head:
//
//	ref(key) ref(lane) time [hash]
//
// ref is a uvarint: i+1 for the value vs[i], or 0 followed by the uvarint
// length and the bytes. time is a tag byte, 0 for no time, 1 followed by
// the zigzag varint of Unix seconds, 2 by that of Unix nanoseconds; with
// headHash set in the tag, the 32 bytes of the content hash follow: it is
// there when it is not the body's (a body whose wire form differs from
// the one hashed, mallcoo.WireBody).
const (
	headMark = 0x02
	headHash = 0x80
)

// appendHeadCells appends vs with the head of key, lane, t and hash (nil,
// or the 32 bytes of a content hash that is not the body's).
func appendHeadCells(b []byte, vs []string, key, lane string, t time.Time, hash []byte) []byte {
	b = append(b, headMark)
	b = appendRef(b, vs, key)
	b = appendRef(b, vs, lane)
	var flag byte
	if len(hash) == sha256.Size {
		flag = headHash
	}
	switch {
	case t.IsZero():
		b = append(b, flag)
	case t.Nanosecond() == 0:
		b = append(b, 1|flag)
		b = binary.AppendVarint(b, t.Unix())
	default:
		b = append(b, 2|flag)
		b = binary.AppendVarint(b, t.UnixNano())
	}
	if flag != 0 {
		b = append(b, hash...)
	}
	return appendPackedCells(b, vs)
}

// cellsPacked starts the values of a head's cells from schema 10 on: the
// mark, then the values joined by cellsSep, with date-times and long runs
// of digits packed behind cellsEsc (pack.go). Values holding cellsEsc or
// cellsSep are written as appendCells does.
const (
	cellsPacked = 0x03
	cellsEsc    = 0x1e // the ASCII record separator
)

// appendPackedCells appends vs as cellsPacked says.
func appendPackedCells(b []byte, vs []string) []byte {
	if len(vs) == 0 {
		return appendCells(b, vs)
	}
	for _, v := range vs {
		if strings.IndexByte(v, cellsSep) >= 0 || strings.IndexByte(v, cellsEsc) >= 0 {
			return appendCells(b, vs)
		}
	}
	b = append(b, cellsPacked)
	for k, v := range vs {
		if k > 0 {
			b = append(b, cellsSep)
		}
		src := v
		for i := 0; i < len(src); {
			if d, n := packAt(b, src, i, cellsEsc); n > 0 {
				b, i = d, i+n
				continue
			}
			b = append(b, src[i])
			i++
		}
	}
	return b
}

// parsePackedCells is the inverse of appendPackedCells after the mark.
func parsePackedCells(p []byte) ([]string, error) {
	var (
		vs  []string
		cur = make([]byte, 0, 2*len(p))
		at  int // where the current value starts in cur
	)
	for i := 0; i < len(p); {
		switch c := p[i]; c {
		case cellsSep:
			vs = append(vs, string(cur[at:]))
			at = len(cur)
			i++
		case cellsEsc:
			if i+1 >= len(p) {
				return nil, errBadPack
			}
			var n int
			var err error
			if cur, n, err = unpackRun(cur, p[i+1], p[i+2:]); err != nil {
				return nil, err
			}
			i += 2 + n
		default:
			cur = append(cur, c)
			i++
		}
	}
	return append(vs, string(cur[at:])), nil
}

// sameCells reports whether stored cells hold what vals (appendHeadCells)
// does: the same bytes, or cells with a head stored before schema 10 (the
// values not packed) that hold the same head and values. So a re-run of a
// ledger made by an older crmsync refers to the cells it stored.
func sameCells(stored, vals []byte) bool {
	if string(stored) == string(vals) {
		return true
	}
	if len(stored) == 0 || stored[0] != headMark || len(vals) == 0 || vals[0] != headMark {
		return false
	}
	if at := headEnd(stored); at < 0 || at >= len(stored) || stored[at] == cellsPacked {
		return false // packed already (or no values), and not the same bytes
	}
	h, _, vs, ok, err := splitHead(stored, time.UTC)
	if err != nil || !ok {
		return false
	}
	var hash []byte
	if h.hash != "" {
		hash, _ = hashArg(h.hash).([]byte)
	}
	return string(appendHeadCells(nil, vs, h.key, h.lane, h.time, hash)) == string(vals)
}

func appendRef(b []byte, vs []string, s string) []byte {
	for i, v := range vs {
		if v == s {
			return binary.AppendUvarint(b, uint64(i+1))
		}
	}
	b = append(b, 0)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errBadHead = errors.New("cells: bad head")

// headEnd returns where the values of cells b start after its head, or
// -1 when b has no head (or a bad one).
func headEnd(b []byte) int {
	if len(b) == 0 || b[0] != headMark {
		return -1
	}
	i := 1
	for range 2 { // key, lane
		n, w := binary.Uvarint(b[i:])
		if w <= 0 {
			return -1
		}
		i += w
		if n == 0 {
			l, w := binary.Uvarint(b[i:])
			if w <= 0 || uint64(len(b)-i-w) < l {
				return -1
			}
			i += w + int(l)
		}
	}
	if i >= len(b) {
		return -1
	}
	tag := b[i]
	i++
	if tag&^headHash != 0 {
		_, w := binary.Varint(b[i:])
		if w <= 0 {
			return -1
		}
		i += w
	}
	if tag&headHash != 0 {
		i += sha256.Size
	}
	if i > len(b) {
		return -1
	}
	return i
}

// hashOfHead returns the content hash the head of cells b holds, as
// crmsync.ContentHash writes it, or "" when b has none (no head, a head
// without a hash, or not a head at all). It reads the head only, not the
// values after it.
func hashOfHead(b []byte) string {
	if len(b) == 0 || b[0] != headMark {
		return ""
	}
	p := b[1:]
	for range 2 { // key, lane
		n, w := binary.Uvarint(p)
		if w <= 0 {
			return ""
		}
		p = p[w:]
		if n == 0 {
			l, w := binary.Uvarint(p)
			if w <= 0 || uint64(len(p)-w) < l {
				return ""
			}
			p = p[w+int(l):]
		}
	}
	if len(p) == 0 || p[0]&headHash == 0 {
		return ""
	}
	tag := p[0]
	p = p[1:]
	if tag&^headHash != 0 {
		_, w := binary.Varint(p)
		if w <= 0 {
			return ""
		}
		p = p[w:]
	}
	if len(p) < sha256.Size {
		return ""
	}
	return hex.EncodeToString(p[:sha256.Size])
}

// keyOfHead returns the event key the head of cells b names; ok is false
// when b has no head (or a bad one). It reads the values only as far as
// the key's.
func keyOfHead(b []byte) (key string, ok bool) {
	if len(b) == 0 || b[0] != headMark {
		return "", false
	}
	p := b[1:]
	n, w := binary.Uvarint(p)
	if w <= 0 {
		return "", false
	}
	if n == 0 {
		l, w2 := binary.Uvarint(p[w:])
		if w2 <= 0 || uint64(len(p)-w-w2) < l {
			return "", false
		}
		return string(p[w+w2 : w+w2+int(l)]), true
	}
	at := headEnd(b)
	if at < 0 {
		return "", false
	}
	return nthValue(b[at:], int(n-1))
}

// nthValue returns value i of the values p (appendCells,
// appendPackedCells, appendValues), decoding no other.
func nthValue(p []byte, i int) (string, bool) {
	if len(p) == 0 || p[0] != cellsMark && p[0] != cellsPacked {
		vs, err := parseValues(p)
		if err != nil || i >= len(vs) {
			return "", false
		}
		return vs[i], true
	}
	packed := p[0] == cellsPacked
	p = p[1:]
	for k := 0; ; k++ {
		end := 0 // the end of value k in p
		for end < len(p) && p[end] != cellsSep {
			if packed && p[end] == cellsEsc {
				if end+1 >= len(p) {
					return "", false
				}
				var scratch [24]byte
				_, n, err := unpackRun(scratch[:0], p[end+1], p[end+2:])
				if err != nil {
					return "", false
				}
				end += 2 + n
				continue
			}
			end++
		}
		if end > len(p) {
			return "", false
		}
		if k == i {
			if !packed {
				return string(p[:end]), true
			}
			vs, err := parsePackedCells(p[:end])
			if err != nil || len(vs) != 1 {
				return "", false
			}
			return vs[0], true
		}
		if end >= len(p) {
			return "", false
		}
		p = p[end+1:]
	}
}

// headKey is keyOfHead as an SQL function (crmsync_head_key(cells.vals)):
// the empty string for cells without a head. results.key is empty for a
// row whose cells' head names its event (schema 10); SQL that matches a result to its event
// reads the key with it.
func headKey(v any) string {
	var b []byte
	switch x := v.(type) {
	case []byte:
		b = x
	case string:
		b = []byte(x)
	}
	k, _ := keyOfHead(b)
	return k
}

// eventHash is an event's content hash from its hash column (stored) and
// its cells: from schema 10 on, an event whose cells' head holds its hash
// has an empty hash column (eventHashArg).
func eventHash(stored, cells []byte) string {
	if len(stored) == 0 {
		return hashOfHead(cells)
	}
	return hashText(stored)
}

// eventHashArg is the hash column of an event with content hash h that
// refers to cells: empty when their head holds h (eventHash reads it
// there), else hashArg(h).
func eventHashArg(h string, cells []byte) any {
	if h != "" && len(h) == 2*sha256.Size && hashOfHead(cells) == h {
		return ""
	}
	return hashArg(h)
}

// cellsHead is what the head of a row's cells holds.
type cellsHead struct {
	key, lane string
	time      time.Time
	hash      string // "" when it is the body's
}

// splitHead returns the head of cells b and the values after it; ok is
// false when b has no head (cells stored before schema 8, or of a row with
// no event).
func splitHead(b []byte, loc *time.Location) (h cellsHead, rest []byte, vs []string, ok bool, err error) {
	if len(b) == 0 || b[0] != headMark {
		return h, b, nil, false, nil
	}
	p := b[1:]
	refs := [2]uint64{}
	lits := [2][]byte{}
	for i := range refs {
		n, w := binary.Uvarint(p)
		if w <= 0 {
			return h, nil, nil, false, errBadHead
		}
		p, refs[i] = p[w:], n
		if n == 0 {
			l, w := binary.Uvarint(p)
			if w <= 0 || uint64(len(p)-w) < l {
				return h, nil, nil, false, errBadHead
			}
			lits[i], p = p[w:w+int(l)], p[w+int(l):]
		}
	}
	if len(p) == 0 {
		return h, nil, nil, false, errBadHead
	}
	tag := p[0]
	p = p[1:]
	if tag&^headHash != 0 {
		v, w := binary.Varint(p)
		if w <= 0 || tag&^headHash > 2 {
			return h, nil, nil, false, errBadHead
		}
		p = p[w:]
		if tag&^headHash == 1 {
			h.time = time.Unix(v, 0).In(loc)
		} else {
			h.time = time.Unix(0, v).In(loc)
		}
	}
	if tag&headHash != 0 {
		if len(p) < sha256.Size {
			return h, nil, nil, false, errBadHead
		}
		h.hash, p = hex.EncodeToString(p[:sha256.Size]), p[sha256.Size:]
	}
	if vs, err = parseValues(p); err != nil {
		return h, nil, nil, false, err
	}
	out := [2]string{}
	for i, n := range refs {
		switch {
		case n == 0:
			out[i] = string(lits[i])
		case n <= uint64(len(vs)):
			out[i] = vs[n-1]
		default:
			return h, nil, nil, false, errBadHead
		}
	}
	h.key, h.lane = out[0], out[1]
	return h, p, vs, true, nil
}

// parseValues is the inverse of appendValues, appendCells and
// appendHeadCells (whose head it skips).
func parseValues(b []byte) ([]string, error) {
	if len(b) > 0 && b[0] == headMark {
		_, _, vs, _, err := splitHead(b, time.UTC)
		return vs, err
	}
	if len(b) > 0 && b[0] == cellsMark {
		return strings.Split(string(b[1:]), string(rune(cellsSep))), nil
	}
	if len(b) > 0 && b[0] == cellsPacked {
		return parsePackedCells(b[1:])
	}
	if vs, ok := parsePlain(b); ok {
		return vs, nil
	}
	var vs []string
	err := json.Unmarshal(b, &vs)
	return vs, err
}

// parsePlain parses an array of strings without escapes; ok is false for
// anything else. The strings share one allocation.
func parsePlain(b []byte) (vs []string, ok bool) {
	if string(b) == "null" {
		return nil, true
	}
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return nil, false
	}
	n := 0
	for _, c := range b {
		switch {
		case c == '\\' || c < 0x20:
			return nil, false
		case c == '"':
			n++
		}
	}
	if n%2 != 0 {
		return nil, false
	}
	s := string(b) // one copy for all the values
	vs = make([]string, 0, n/2)
	i := 1
	if s[i] == ']' {
		return vs, i == len(s)-1
	}
	for {
		if s[i] != '"' {
			return nil, false
		}
		end := i + 1
		for s[end] != '"' {
			end++
		}
		vs = append(vs, s[i+1:end])
		i = end + 1
		switch {
		case s[i] == ']' && i == len(s)-1:
			return vs, true
		case s[i] == ',':
			i++
		default:
			return nil, false
		}
	}
}

// hashArg is a content hash as stored from schema 7 on: its 32 bytes when
// it is the 64 hex digits crmsync.ContentHash gives, else the text as is
// (and ” for none).
func hashArg(h string) any {
	if len(h) != 2*sha256.Size {
		return h
	}
	b := make([]byte, sha256.Size)
	for i := range b {
		hi, lo := lowerHex(h[2*i]), lowerHex(h[2*i+1])
		if hi > 0xf || lo > 0xf {
			return h // not lower-case hex: kept as it came
		}
		b[i] = hi<<4 | lo
	}
	return b
}

// lowerHex is the value of the lower-case hex digit c, or 0xff.
func lowerHex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return 0xff
}

// hashText is the inverse of hashArg, for a hash column read into b
// (text written before schema 7 reads as it was).
func hashText(b []byte) string {
	if len(b) == sha256.Size {
		return hex.EncodeToString(b)
	}
	return string(b)
}
