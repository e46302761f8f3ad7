package mallcoo

import (
	"encoding/json"
	"fmt"

	"github.com/crmsync/crmsync"
)

// Empty says how an optional field that a row leaves empty goes on the
// wire. Each field states it as the vendor's example of its endpoint shows
// the field (mallcoo-crm-api.txt): a .NET service may refuse null for a
// non-nullable field, while a missing field is always accepted, so a field
// is sent as null or "" only where the vendor's own example does so.
type Empty int

// How empty optional fields are sent.
const (
	// Omit leaves the field out: the example leaves it out (score v1
	// PayType; over-limit: everything but RefID) or shows it filled
	// (member's two IDs, grade Remark, the Desc of bonus, verify and
	// invalid, score-v2's amounts and lists and their items).
	Omit Empty = iota
	// Null sends null, as the example does (grade GradeChangeRuleID,
	// GradeChangeType, GradeChangeID; score ReturnAmount; score-v2
	// TradeSerialNo, PosID, ReturnTime, ReturnAmount).
	Null
	// Blank sends "", as the example does (score v1 TradeSerialNo, PosID,
	// ReturnTime).
	Blank
)

func (e Empty) String() string {
	switch e {
	case Omit:
		return "left out"
	case Null:
		return "null"
	case Blank:
		return `""`
	}
	return "unknown"
}

// WireBody returns body in the form it is sent: every optional field that
// is null or "" in body is left out, sent as null or sent as "", as its
// Field.Empty says. body is a marshalled body of kind: the full form the
// wire types marshal to (every field, null when empty), which is also the
// form ledgers made before crmsync followed the vendor's examples hold, or
// already the wire form (WireBody is idempotent). A body it cannot read is
// returned unchanged.
func WireBody(kind crmsync.Kind, body []byte) []byte {
	spec, ok := specs[kind]
	if !ok {
		return body
	}
	out, ok := wireObject(make([]byte, 0, len(body)), body, spec.Fields, spec.Items)
	if !ok {
		return body
	}
	return out
}

func wireObject(out, b []byte, fields []Field, items map[string]*ItemSpec) ([]byte, bool) {
	out = append(out, '{')
	n := 0
	ok := EachMember(b, func(name, val []byte) bool {
		f := fieldNamed(fields, name)
		if f != nil && !f.Required && isAbsent(val) {
			switch f.Empty {
			case Omit:
				return true
			case Null:
				val = []byte("null")
			case Blank:
				if f.Type == String || f.Type == DateTime {
					val = []byte(`""`)
				} else {
					val = []byte("null")
				}
			}
		}
		if f != nil && f.Type == List && len(val) > 0 && val[0] == '[' && items[f.Name] != nil {
			list := make([]byte, 0, len(val))
			list = append(list, '[')
			i := 0
			ok := elements(val, func(item []byte) bool {
				if i > 0 {
					list = append(list, ',')
				}
				i++
				var ok bool
				list, ok = wireObject(list, item, items[f.Name].Fields, nil)
				return ok
			})
			if !ok {
				return false
			}
			val = append(list, ']')
		}
		if n > 0 {
			out = append(out, ',')
		}
		n++
		out = append(out, name...)
		out = append(out, ':')
		out = append(out, val...)
		return true
	})
	return append(out, '}'), ok
}

// Canonical returns the content of body in one form whatever form it was
// sent in: every field of the endpoint in Spec order, null when absent,
// null or "" (for an optional field), values as written, fields the
// endpoint lacks dropped; over-limit Value and RuleValue that are numbers
// in canonical form ("5,000" → "5000"); a sale's (ScoreEvent 1) ReturnTime
// and ReturnAmount null (they are not sent). For a body built by crmsync it
// is the full form the wire types marshal to, byte for byte, which is what
// ledgers made before WireBody hashed: crmsync.ContentHash of Canonical is
// the event's content hash, and two bodies with equal Canonical forms are
// the same event content.
func Canonical(kind crmsync.Kind, body []byte) ([]byte, error) {
	spec, ok := specs[kind]
	if !ok {
		return nil, fmt.Errorf("canonical %s: unknown kind", kind)
	}
	out, err := canonicalObject(nil, body, spec.Fields, spec.Items)
	if err != nil {
		return nil, fmt.Errorf("canonical %s: %w", kind, err)
	}
	return out, nil
}

func canonicalObject(out, b []byte, fields []Field, items map[string]*ItemSpec) ([]byte, error) {
	vals := make([][]byte, len(fields))
	ok := EachMember(b, func(name, val []byte) bool {
		for i := range fields {
			if string(name[1:len(name)-1]) == fields[i].Name {
				vals[i] = val
			}
		}
		return true
	})
	if !ok {
		return nil, fmt.Errorf("body is not a JSON object: %s", snippet(b))
	}
	sale := false
	for i, f := range fields {
		if f.Name == "ScoreEvent" && string(vals[i]) == "1" {
			sale = true
		}
	}
	out = append(out, '{')
	for i, f := range fields {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = append(out, f.Name...)
		out = append(out, '"', ':')
		v := vals[i]
		switch {
		case len(v) == 0, string(v) == "null", !f.Required && isAbsent(v),
			sale && (f.Name == "ReturnTime" || f.Name == "ReturnAmount"):
			out = append(out, "null"...)
		case f.Type == List && v[0] == '[' && items[f.Name] != nil:
			out = append(out, '[')
			n := 0
			var err error
			ok := elements(v, func(item []byte) bool {
				if n > 0 {
					out = append(out, ',')
				}
				n++
				out, err = canonicalObject(out, item, items[f.Name].Fields, nil)
				return err == nil
			})
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("%s is not a JSON array", f.Name)
			}
			out = append(out, ']')
		case f.Number:
			out = append(out, numberText(v)...)
		default:
			out = append(out, v...)
		}
	}
	return append(out, '}'), nil
}

// numberText returns a JSON string holding a number ("5,000", "3000.0") as
// the canonical number ("5000", "3000"), and any other value unchanged.
func numberText(v []byte) []byte {
	var s string
	if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
		return v
	}
	a, err := ParseAmount(s)
	if err != nil {
		return v
	}
	b, _ := json.Marshal(string(a)) // digits, '-' and '.': never fails
	return b
}

// fieldNamed returns the field whose quoted name is name, or nil.
func fieldNamed(fields []Field, name []byte) *Field {
	if len(name) < 2 {
		return nil
	}
	for i := range fields {
		if string(name[1:len(name)-1]) == fields[i].Name {
			return &fields[i]
		}
	}
	return nil
}

// EachMember calls fn with the name (quotes included, escapes left as
// they are) and raw value of each member of the JSON object b, in order,
// until fn returns false. It reports false when fn did, or when b is not
// one JSON object (it does not validate the values' insides: bodies come
// from Marshal or from the ledger). It is the fast path of every reader of
// bodies (WireBody here, the report's totals), run once per row, so it
// allocates nothing.
func EachMember(b []byte, fn func(name, val []byte) bool) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipSpace(b, i+1) == len(b)
	}
	for i < len(b) {
		if b[i] != '"' {
			return false
		}
		end, ok := skipValue(b, i)
		if !ok {
			return false
		}
		name := b[i:end]
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		end, ok = skipValue(b, i)
		if !ok {
			return false
		}
		if !fn(name, b[i:end]) {
			return false
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return skipSpace(b, i+1) == len(b)
		default:
			return false
		}
	}
	return false
}

// elements calls fn with each element of the JSON array b until fn
// returns false; it reports false when b is not an array.
func elements(b []byte, fn func(val []byte) bool) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return true
	}
	for i < len(b) {
		end, ok := skipValue(b, i)
		if !ok || !fn(b[i:end]) {
			return false
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return true
		default:
			return false
		}
	}
	return false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch b[i] {
	case '"':
		for j := i + 1; ; j += 2 { // past a backslash and the byte it escapes
			for j < len(b) && !stopsString[b[j]] {
				j++
			}
			if j >= len(b) {
				return len(b), false
			}
			if b[j] == '"' {
				return j + 1, true
			}
		}
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, ok := skipValue(b, j)
				if !ok {
					return end, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return len(b), false
	}
	j := i
	for j < len(b) && !endsScalar[b[j]] {
		j++
	}
	return j, j > i
}

// endsScalar marks the bytes that end a number, true, false or null, and
// stopsString those a string's scan stops at: tables, as the scan of a
// body's names and values is the most of its cost.
var (
	endsScalar  = [256]bool{',': true, '}': true, ']': true, ' ': true, '\t': true, '\n': true, '\r': true}
	stopsString = [256]bool{'"': true, '\\': true}
)
