package mallcoo

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/crmsync/crmsync"
)

// The body encoders. Marshal by encoding/json costs reflection, a call and
// a compaction per Amount and LocalTime, and WireBody then parses what it
// wrote: on a million-row file that is seconds. Instead each wire type gets
// a plan compiled once from its struct fields and its kind's Spec (the one
// statement of the fields' rules: which are required, how an empty one goes
// on the wire); a plan writes the full form and the wire form in one pass.
// TestEncodeMatchesMarshal and FuzzEncode hold both forms to what
// encoding/json and WireBody make of the same value.

// encField is one struct field of a wire type.
type encField struct {
	index int    // in the struct
	key   []byte // `"Name":`
	spec  *Field
	enc   valueEncoder // nil for a list
	items *encPlan     // a list's item plan
}

// valueEncoder appends a field's value in the full form; false when
// Marshal refuses it (a zero LocalTime, an Amount not canonical).
type valueEncoder func(b []byte, v reflect.Value) ([]byte, bool)

// encPlan encodes one wire type.
type encPlan struct {
	kind   crmsync.Kind // "" for list items
	fields []encField
}

// plans holds the plan of each wire type (and list item type), by type.
var plans = map[reflect.Type]*encPlan{}

func init() {
	for _, w := range []struct {
		v    any
		kind crmsync.Kind
	}{
		{MemberNotice{}, crmsync.KindMember}, {GradeInform{}, crmsync.KindGrade},
		{ScoreInform{}, crmsync.KindScore}, {ScoreInformV2{}, crmsync.KindScoreV2},
		{OverLimitInform{}, crmsync.KindOverLimit}, {BonusChange{}, crmsync.KindBonus},
		{VerifyInform{}, crmsync.KindVerify}, {InvalidInform{}, crmsync.KindInvalid},
	} {
		spec := specs[w.kind]
		p := compilePlan(reflect.TypeOf(w.v), spec.Fields, spec.Items)
		p.kind = w.kind
	}
}

// compilePlan builds the plan of struct type t from fields, the Spec of
// its kind (or of its list items); a struct field the Spec lacks, or a
// field type with no encoder, is a programming error caught at start-up.
func compilePlan(t reflect.Type, fields []Field, items map[string]*ItemSpec) *encPlan {
	p := &encPlan{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name := sf.Tag.Get("json")
		var spec *Field
		for j := range fields {
			if fields[j].Name == name {
				spec = &fields[j]
			}
		}
		if spec == nil {
			panic(fmt.Sprintf("mallcoo: %s.%s (%q) is in no Spec", t.Name(), sf.Name, name))
		}
		key, _ := json.Marshal(name)
		f := encField{index: i, key: append(key, ':'), spec: spec}
		if sf.Type.Kind() == reflect.Slice {
			it := items[name]
			if it == nil {
				panic(fmt.Sprintf("mallcoo: list %s.%s has no ItemSpec", t.Name(), sf.Name))
			}
			f.items = compilePlan(sf.Type.Elem(), it.Fields, nil)
		} else {
			f.enc = encoderOf(sf.Type)
			if f.enc == nil {
				panic(fmt.Sprintf("mallcoo: no encoder for %s.%s of type %s", t.Name(), sf.Name, sf.Type))
			}
		}
		p.fields = append(p.fields, f)
	}
	plans[t] = p
	return p
}

var (
	typeString    = reflect.TypeOf("")
	typeInt       = reflect.TypeOf(0)
	typeInt64     = reflect.TypeOf(int64(0))
	typeAmount    = reflect.TypeOf(Amount(""))
	typeLocalTime = reflect.TypeOf(LocalTime{})
	typeURLText   = reflect.TypeOf(URLText(""))
)

// encoderOf returns the encoder of a field type, nil when there is none.
func encoderOf(t reflect.Type) valueEncoder {
	switch t {
	case typeString:
		return func(b []byte, v reflect.Value) ([]byte, bool) { return appendJSONString(b, v.String()), true }
	case typeInt, typeInt64:
		return func(b []byte, v reflect.Value) ([]byte, bool) { return strconv.AppendInt(b, v.Int(), 10), true }
	case typeAmount:
		return func(b []byte, v reflect.Value) ([]byte, bool) {
			s := v.String()
			return append(b, s...), canonical(s)
		}
	case typeLocalTime:
		return func(b []byte, v reflect.Value) ([]byte, bool) {
			t := v.Addr().Interface().(*LocalTime)
			if t.IsZero() {
				return b, false
			}
			b = append(b, '"')
			b = appendDateTime(b, t.Time)
			return append(b, '"'), true
		}
	case typeURLText:
		return func(b []byte, v reflect.Value) ([]byte, bool) {
			b = append(b, '"')
			b = appendURLEncoded(b, v.String())
			return append(b, '"'), true
		}
	}
	if t.Kind() == reflect.Pointer {
		elem := encoderOf(t.Elem())
		if elem == nil {
			return nil
		}
		return func(b []byte, v reflect.Value) ([]byte, bool) {
			if v.IsNil() {
				return append(b, "null"...), true
			}
			return elem(b, v.Elem())
		}
	}
	return nil
}

// encode appends v (addressable, of p's type) to full in the full form and
// to wire in the wire form; ok is false when Marshal would refuse v.
func (p *encPlan) encode(full, wire []byte, v reflect.Value) (_, _ []byte, ok bool) {
	full = append(full, '{')
	wire = append(wire, '{')
	n := 0
	for i := range p.fields {
		f := &p.fields[i]
		if i > 0 {
			full = append(full, ',')
		}
		full = append(full, f.key...)
		fv := v.Field(f.index)
		if f.items != nil && !fv.IsNil() {
			// Never absent: the items in both forms.
			if n > 0 {
				wire = append(wire, ',')
			}
			n++
			wire = append(wire, f.key...)
			full = append(full, '[')
			wire = append(wire, '[')
			for j := 0; j < fv.Len(); j++ {
				if j > 0 {
					full = append(full, ',')
					wire = append(wire, ',')
				}
				if full, wire, ok = f.items.encode(full, wire, fv.Index(j)); !ok {
					return full, wire, false
				}
			}
			full = append(full, ']')
			wire = append(wire, ']')
			continue
		}
		start := len(full)
		if f.items != nil {
			full = append(full, "null"...)
		} else if full, ok = f.enc(full, fv); !ok {
			return full, wire, false
		}
		val := full[start:]
		if !f.spec.Required && absent(val) {
			switch f.spec.Empty {
			case Omit:
				continue
			case Null:
				val = nullJSON
			case Blank:
				val = nullJSON
				if f.spec.Type == String || f.spec.Type == DateTime {
					val = blankJSON
				}
			}
		}
		if n > 0 {
			wire = append(wire, ',')
		}
		n++
		wire = append(wire, f.key...)
		wire = append(wire, val...)
	}
	return append(full, '}'), append(wire, '}'), true
}

var nullJSON, blankJSON = []byte("null"), []byte(`""`)

// absent is isAbsent for a value the plan wrote.
func absent(v []byte) bool {
	return len(v) == 0 || string(v) == "null" || string(v) == `""`
}

// AppendBody appends the body v (a wire type or a pointer to one) to full
// in the full form, byte for byte what Marshal writes (every field, null
// when empty: the content hash is over it), and to wire in the form it is
// sent, what WireBody makes of the full form. It does it in one pass
// without encoding/json; for a value Marshal refuses it returns Marshal's
// error.
func AppendBody(full, wire []byte, v any) ([]byte, []byte, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	} else if rv.IsValid() && rv.Kind() != reflect.Pointer {
		c := reflect.New(rv.Type()).Elem() // addressable, for LocalTime
		c.Set(rv)
		rv = c
	}
	p := (*encPlan)(nil)
	if rv.IsValid() && rv.Kind() == reflect.Struct {
		p = plans[rv.Type()]
	}
	if p == nil {
		return full, wire, fmt.Errorf("mallcoo: %T is not a request body", v)
	}
	f0, w0 := len(full), len(wire)
	full, wire, ok := p.encode(full, wire, rv)
	if !ok {
		_, err := marshalJSON(v) // its error, worded as encoding/json words it
		if err == nil {
			err = fmt.Errorf("mallcoo: cannot encode %T", v)
		}
		return full[:f0], wire[:w0], err
	}
	return full, wire, nil
}

// appendJSONString appends s as a JSON string exactly as encoding/json
// does with HTML escaping off: '"', '\\' and control characters escaped,
// U+2028 and U+2029 as \u2028 and \u2029, bytes that are not UTF-8 as
// \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendDateTime appends t in China Standard Time as DateTimeLayout does,
// digit by digit for the years 0–9999 (time.Format parses the layout each
// time).
func appendDateTime(b []byte, t time.Time) []byte {
	t = t.In(CST)
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, DateTimeLayout)
	}
	h, mi, s := t.Clock()
	two := func(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
	b = two(two(b, y/100), y%100)
	b = two(append(b, '-'), int(mo))
	b = two(append(b, '-'), d)
	b = two(append(b, ' '), h)
	b = two(append(b, ':'), mi)
	return two(append(b, ':'), s)
}
