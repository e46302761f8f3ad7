package report

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// MaskMobile hides the middle of a mainland mobile number, as Chinese apps
// show one: 13800138000 → 138****8000. Other values keep only their last
// four characters (MaskID).
func MaskMobile(s string) string {
	if len(s) == 11 && isDigits(s) {
		return s[:3] + "****" + s[7:]
	}
	return MaskID(s)
}

// MaskID keeps the last four characters of an ID visible and replaces the
// others with '*', one for one: 201710000001 → ********0001. An ID of four
// characters or fewer is hidden whole.
func MaskID(s string) string {
	r := []rune(s)
	if len(r) <= 4 {
		return strings.Repeat("*", len(r))
	}
	return strings.Repeat("*", len(r)-4) + string(r[len(r)-4:])
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// masker hides the personal data of one row at a time in every text a
// report shows of it: the cells of its card ID and mobile, and wherever
// those values appear elsewhere — a key built from the card ID, a request
// body, a reason or Mallcoo's message. It never touches what is sent or
// stored. A masker with show set passes everything through.
type masker struct {
	show bool
	// The personal values of the current row, their masked forms ("" until
	// text first finds the value: most texts hold none, and masking costs
	// allocations on every row) and their kinds.
	plain, masked []string
	kinds         []mallcoo.Personal
	// short are the row's personal values shorter than minMaskInText
	// (shortKinds their kinds): masked in text only where they stand as a
	// part of their own (see maskShort).
	short      []string
	shortKinds []mallcoo.Personal
}

// minMaskInText is the shortest personal value masked inside other text.
const minMaskInText = 6

// row starts a new row of kind k: its personal values are taken from the
// row's cells (in template order) and from each request body given.
func (m *masker) row(k crmsync.Kind, values []string, bodies ...[]byte) {
	if m.show {
		return
	}
	m.plain, m.masked, m.kinds = m.plain[:0], m.masked[:0], m.kinds[:0]
	m.short, m.shortKinds = m.short[:0], m.shortKinds[:0]
	if k != "" {
		for i, f := range mallcoo.SpecOf(k).Fields {
			if i < len(values) {
				m.add(mallcoo.PersonalField(f.Name), values[i])
			}
		}
	}
	for _, b := range bodies {
		card, mobile := personalOf(b)
		m.add(mallcoo.CardID, card)
		m.add(mallcoo.MobileNumber, mobile)
	}
}

func (m *masker) add(p mallcoo.Personal, v string) {
	// A value shorter than six characters is masked where it is a cell of
	// its own, or a part of its own in other text (maskShort), but not
	// looked for anywhere inside it: "12" would mask the digits of every
	// amount.
	if p == mallcoo.NotPersonal || v == "" {
		return
	}
	if len(v) < minMaskInText {
		if !slices.Contains(m.short, v) {
			m.short, m.shortKinds = append(m.short, v), append(m.shortKinds, p)
		}
		return
	}
	forms := []string{v}
	// A reason shows at most the first 40 characters of a cell (the
	// importer's shown), then "…".
	if utf8.RuneCountInString(v) > shownMax {
		forms = append(forms, string([]rune(v)[:shownMax]))
	}
	for _, f := range forms {
		m.insert(p, f)
		// An English reason quotes a cell with %q: a line break or a quote
		// in it is escaped ("13800138000\n13900139000"), a spelling of its own.
		if needsQuoting(f) {
			q := strconv.Quote(f)
			m.insert(p, q[1:len(q)-1])
		}
	}
}

// shownMax is how many characters of a cell a reason shows at most.
const shownMax = 40

// needsQuoting reports whether strconv.Quote escapes something in s.
func needsQuoting(s string) bool {
	if !utf8.ValidString(s) {
		return true // bytes that are not UTF-8 are escaped as \xNN
	}
	for _, r := range s {
		if r == '"' || r == '\\' || !strconv.IsPrint(r) {
			return true
		}
	}
	return false
}

// insert adds personal value v of kind p, unless the row has it already.
func (m *masker) insert(p mallcoo.Personal, v string) {
	for _, s := range m.plain {
		if s == v {
			return
		}
	}
	// Longest first, so that a card ID holding a mobile is masked whole.
	i := len(m.plain)
	for i > 0 && len(m.plain[i-1]) < len(v) {
		i--
	}
	m.plain, m.masked, m.kinds = slices.Insert(m.plain, i, v), slices.Insert(m.masked, i, ""), slices.Insert(m.kinds, i, p)
}

// value masks the cell of field name: the whole cell.
func (m *masker) value(name, v string) string {
	if m.show || v == "" {
		return v
	}
	switch mallcoo.PersonalField(name) {
	case mallcoo.CardID:
		return MaskID(v)
	case mallcoo.MobileNumber:
		return MaskMobile(v)
	}
	return m.text(v)
}

// text masks every personal value of the current row found in s.
func (m *masker) text(s string) string {
	if m.show || s == "" {
		return s
	}
	for i, p := range m.plain {
		if strings.Contains(s, p) {
			if m.masked[i] == "" { // masked on first use
				m.masked[i] = MaskID(p)
				if m.kinds[i] == mallcoo.MobileNumber {
					m.masked[i] = MaskMobile(p)
				}
			}
			s = strings.ReplaceAll(s, p, m.masked[i])
		}
	}
	for i, v := range m.short {
		s = maskShort(s, v, m.shortKinds[i])
	}
	return s
}

// maskShort masks short personal value v (a card ID of a few characters)
// where it stands as a part of its own in s: the whole of s (a lane), a
// part of a key between '|' ("R1|C12", "C12|2024-11-01"), or quoted in a
// reason ("C12", “C12”). Elsewhere it may be part of anything.
func maskShort(s, v string, p mallcoo.Personal) string {
	if !strings.Contains(s, v) {
		return s
	}
	masked := MaskID(v)
	if p == mallcoo.MobileNumber {
		masked = MaskMobile(v)
	}
	var b strings.Builder
	for rest := s; ; {
		i := strings.Index(rest, v)
		if i < 0 {
			b.WriteString(rest)
			break
		}
		start := len(s) - len(rest) + i
		end := start + len(v)
		if ownPart(s[:start], s[end:]) {
			b.WriteString(rest[:i])
			b.WriteString(masked)
		} else {
			b.WriteString(rest[:i+len(v)])
		}
		rest = rest[i+len(v):]
	}
	return b.String()
}

// ownPart reports whether a value between before and after stands as a
// part of its own: at the start or after '|' and at the end or before
// '|', or quoted with "" or “”.
func ownPart(before, after string) bool {
	left := before == "" || strings.HasSuffix(before, "|")
	right := after == "" || strings.HasPrefix(after, "|")
	return left && right ||
		strings.HasSuffix(before, `"`) && strings.HasPrefix(after, `"`) ||
		strings.HasSuffix(before, "“") && strings.HasPrefix(after, "”")
}

// bodyField returns the string value of a top-level field of a request
// body, "" when absent or not a string.
func bodyField(body []byte, name string) string {
	var kb [32]byte // `"name":`, on the stack for the names asked for
	key := append(append(append(kb[:0], '"'), name...), '"', ':')
	return fieldAt(body, bytes.Index(body, key), len(key), name)
}

// personalOf is bodyField(body, "ThirdPartyCardID") and bodyField(body,
// "Mobile") in one pass over body: the first place each member's `"name":`
// begins is one of the quotes of body.
func personalOf(body []byte) (card, mobile string) {
	const cardKey, mobileKey = `"ThirdPartyCardID":`, `"Mobile":`
	ci, mi := -1, -1
	for i := 0; i < len(body) && (ci < 0 || mi < 0); i++ {
		j := bytes.IndexByte(body[i:], '"')
		if j < 0 {
			break
		}
		i += j
		switch {
		case ci < 0 && bytes.HasPrefix(body[i:], []byte(cardKey)):
			ci = i
		case mi < 0 && bytes.HasPrefix(body[i:], []byte(mobileKey)):
			mi = i
		}
	}
	return fieldAt(body, ci, len(cardKey), "ThirdPartyCardID"), fieldAt(body, mi, len(mobileKey), "Mobile")
}

// fieldAt is the text of the string member name whose `"name":` (klen
// bytes) begins at body[i]; "" when i < 0 or the value is not a string.
func fieldAt(body []byte, i, klen int, name string) string {
	if len(body) == 0 || i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(body[i+klen:], " ")
	if len(rest) == 0 || rest[0] != '"' {
		return ""
	}
	if end := bytes.IndexByte(rest[1:], '"'); end >= 0 && bytes.IndexByte(rest[1:1+end], '\\') < 0 {
		return string(rest[1 : 1+end])
	}
	// An escape inside: let encoding/json read it.
	var m map[string]json.RawMessage
	var s string
	if json.Unmarshal(body, &m) == nil && json.Unmarshal(m[name], &s) == nil {
		return s
	}
	return ""
}

// Masker hides members' card IDs and mobile numbers, as the report does, in
// what crmsync shows of the ledger outside a report (crmsync status): one
// event or row at a time, its personal values taken from its request body
// and from the values of its problems. A Masker made with show passes
// everything through (mask_personal = false).
type Masker struct{ m masker }

// NewMasker returns a Masker; show shows everything in full.
func NewMasker(show bool) *Masker { return &Masker{m: masker{show: show}} }

// Row starts the next event or row of kind k: its request body (of the
// ledger; nil when it has none) and its problems.
func (x *Masker) Row(k crmsync.Kind, body []byte, problems []crmsync.Problem) {
	if x.m.show {
		return
	}
	x.m.row("", nil, body)
	for _, p := range problems {
		x.m.add(mallcoo.PersonalField(p.Column), p.Value)
	}
}

// Text masks the current row's personal values wherever they appear in s
// (a key, a lane, a reason, Mallcoo's message).
func (x *Masker) Text(s string) string { return x.m.text(s) }

// Problems masks problems of the current row: a value of a personal field
// whole, and its personal values in every text.
func (x *Masker) Problems(ps []crmsync.Problem) {
	for i := range ps {
		p := &ps[i]
		p.Value = x.m.value(p.Column, p.Value)
		p.ZH, p.EN, p.Reason = x.m.text(p.ZH), x.m.text(p.EN), x.m.text(p.Reason)
		for j, a := range p.Args { // a key, a member's earlier event
			p.Args[j] = x.m.text(a)
		}
	}
}
