package importer

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// trimCell removes the padding CRM exports and spreadsheets leave around a
// value: ASCII and full-width spaces, no-break spaces, a stray BOM.
func trimCell(s string) string {
	if s == "" {
		return s
	}
	if c := s[0]; c > ' ' && c < 0x80 {
		if c2 := s[len(s)-1]; c2 > ' ' && c2 < 0x80 {
			return s // fast path: nothing to trim
		}
	}
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == '\u3000' || r == '\u00a0' || r == '\ufeff' || r == '\u200b'
	})
}

// reason builds a Problem reason: a short Chinese sentence, then English.
func reason(zh, en string) crmsync.Text { return crmsync.Say(zh, en) }

// cellType is the kind of cell a value was read from. CSV cells and XLSX
// string cells are text and are read exactly as written; the XLSX reader
// turns a numeric cell into the text Excel shows for it in General format.
type cellType uint8

const (
	cellText       cellType = iota // CSV, or an XLSX string, inline string or formula string
	cellNumber                     // XLSX number, as Excel shows it (at most 15 significant digits)
	cellLongNumber                 // XLSX number that needs more than the 15 significant digits Excel keeps
	cellBool                       // XLSX boolean (TRUE/FALSE)
	cellError                      // XLSX error (#N/A, #VALUE!, ...)
	cellNoValue                    // XLSX formula never computed: its value reads as empty
	cellDate                       // XLSX t="d": ISO 8601 text, a Z suffix dropped (see dateCellText)
)

// dateCellText is the text of an XLSX t="d" cell as a person sees it: ISO
// 8601 whose Z (or +00:00) suffix does not mean UTC. SheetJS (cellDates)
// writes the writing machine's wall-clock time with a Z, and LibreOffice
// shows the digits as written; read as UTC they would be shifted 8 hours
// to China time. The suffix is dropped, so the digits read as China time.
// Another offset stays: optTime refuses it (programs show it differently,
// LibreOffice converted to UTC).
func dateCellText(s string) string {
	for _, z := range []string{"Z", "z", "+00:00", "-00:00", "+0000", "-0000"} {
		if t, ok := strings.CutSuffix(s, z); ok && strings.ContainsRune(t, 'T') {
			return t
		}
	}
	return s
}

// excelErrors are the error values Excel shows in a cell, and writes into
// a CSV export as text.
var excelErrors = map[string]bool{"#N/A": true, "#VALUE!": true, "#DIV/0!": true, "#REF!": true, "#NAME?": true,
	"#NUM!": true, "#NULL!": true, "#GETTING_DATA": true, "#SPILL!": true, "#CALC!": true, "#FIELD!": true, "#BLOCKED!": true}

func isExcelError(s string) bool { return len(s) > 1 && s[0] == '#' && excelErrors[strings.ToUpper(s)] }

// idFault says why a cell is not a usable identifier.
type idFault int

const (
	idOK         idFault = iota
	idScientific         // "1.23457E+11": Excel has already dropped digits
	idFraction           // "201710000009.0", "201710000009.5"
	idLongNumber         // a numeric XLSX cell of more than 15 digits
	idBool               // an XLSX boolean cell
	idError              // an Excel error value (#N/A, ...)
	idControl            // a control or format character (NUL, tab, newline, U+200B, U+202E, BOM) inside
	idSpace              // a space other than the ASCII space (NBSP, U+3000, ...) inside
	idFullWidth          // full-width or non-ASCII digits or letters ("１２３", "ＡＢ")
	idSymbol             // an emoji or other symbol, a private-use or unassigned character, U+FFFD
	idTooLong            // longer than the field's MaxLen
	idGrouped            // "201,710,000,009": a number Excel wrote with thousands separators
)

// groupedRE is a number written with thousands separators, as a CSV saved
// by Excel from a number column formatted "#,##0" holds it.
var groupedRE = regexp.MustCompile(`^[+-]?[0-9]{1,3}([,，][0-9]{3})+(\.[0-9]+)?$`)

var sciRE = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+$`)

// cleanID returns the text of an identifier cell: trimmed, leading zeros
// kept, the CSV tricks that force text in Excel (a leading apostrophe, an
// ="…" wrapper) removed. A value that Excel has mangled or may have mangled
// (scientific notation or a fraction or ".0" not forced to text, a long
// number, a boolean or an error) is refused, never repaired; so is one holding characters that do
// not belong in an ID (control and format characters, spaces other than
// ' ', full-width digits and letters, emoji and symbols). maxLen (0: none)
// limits its length in characters.
func cleanID(s string, ct cellType, maxLen int) (string, idFault) {
	switch ct {
	case cellBool:
		return s, idBool
	case cellError:
		return s, idError
	case cellLongNumber:
		return s, idLongNumber
	}
	t, forced := s, false
	if strings.HasPrefix(t, "=\"") && strings.HasSuffix(t, "\"") && len(t) >= 3 {
		t, forced = trimCell(t[2:len(t)-1]), true
	} else if strings.HasPrefix(t, "'") || strings.HasPrefix(t, "‘") || strings.HasPrefix(t, "’") {
		_, n := firstRune(t)
		t, forced = trimCell(t[n:]), true
	}
	if t == "" {
		return t, idOK
	}
	if isExcelError(t) {
		return t, idError
	}
	if printableASCII(t) {
		return t, cleanASCII(t, forced, ct, maxLen)
	}
	return t, cleanAny(t, forced, ct, maxLen)
}

// cleanAny checks the text t of an ID cell (forced: written as text) for
// what Excel mangled and for characters that do not belong in an ID.
func cleanAny(t string, forced bool, ct cellType, maxLen int) idFault {
	if !forced && (strings.EqualFold(t, "TRUE") || strings.EqualFold(t, "FALSE")) {
		return idBool // a boolean cell, as a CSV export or the problems workbook writes it
	}
	// A value forced to text ('00E1, ="1.50") was never a number in Excel:
	// it is as the CRM wrote it.
	if !forced && strings.ContainsAny(t, "eE") && sciRE.MatchString(t) {
		return idScientific
	}
	if !forced && strings.ContainsAny(t, ",，") && groupedRE.MatchString(t) {
		return idGrouped
	}
	if !forced && isFraction(t) {
		return idFraction
	}
	if ct == cellNumber && numberDigits(t) > 15 {
		return idLongNumber
	}
	if f := idChars(t); f != idOK {
		return f
	}
	if maxLen > 0 && utf8.RuneCountInString(t) > maxLen {
		return idTooLong
	}
	return idOK
}

// printableASCII reports whether t holds printable ASCII only, as nearly
// every ID does.
func printableASCII(t string) bool {
	for i := 0; i < len(t); i++ {
		if t[i] < 0x20 || t[i] >= 0x7f {
			return false
		}
	}
	return true
}

// cleanASCII is the rest of cleanID for an ID of printable ASCII: the same
// checks in the same order, each run only when the characters it looks
// for are there (ASCII has no other spaces, full-width digits or symbols
// idChars refuses, and one byte is one character).
func cleanASCII(t string, forced bool, ct cellType, maxLen int) idFault {
	var e, comma, dot bool
	for i := 0; i < len(t); i++ {
		switch t[i] {
		case 'e', 'E':
			e = true
		case ',':
			comma = true
		case '.':
			dot = true
		}
	}
	switch {
	case !forced && (len(t) == 4 || len(t) == 5) && (strings.EqualFold(t, "TRUE") || strings.EqualFold(t, "FALSE")):
		return idBool // a boolean cell, as a CSV export or the problems workbook writes it
	case !forced && e && sciRE.MatchString(t):
		return idScientific
	case !forced && comma && groupedRE.MatchString(t):
		return idGrouped
	case !forced && (dot || comma) && isFraction(t):
		return idFraction
	case ct == cellNumber && numberDigits(t) > 15:
		return idLongNumber
	case maxLen > 0 && len(t) > maxLen:
		return idTooLong
	}
	return idOK
}

// isFraction reports a number with a decimal point: [+-]digits.digits.
// A comma stands for the point too: a number saved by Excel in a locale
// that writes decimals with a comma ("201710000009,0"; its CSVs use ';'
// between cells). Digits grouped in threes are idGrouped, checked first.
func isFraction(t string) bool {
	if t[0] == '+' || t[0] == '-' {
		t = t[1:]
	}
	t = strings.Replace(t, "，", ",", 1)
	dot := strings.IndexAny(t, ".,")
	if dot <= 0 || dot == len(t)-1 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if i != dot && (t[i] < '0' || t[i] > '9') {
			return false
		}
	}
	return true
}

// numberDigits counts the digits of an integer's text.
func numberDigits(t string) int {
	n := 0
	for i := 0; i < len(t); i++ {
		if t[i] >= '0' && t[i] <= '9' {
			n++
		}
	}
	return n
}

// idChars checks an ID's characters: printable ASCII, and letters of
// other scripts (金卡) with their punctuation, are fine.
func idChars(t string) idFault {
	for _, r := range t {
		switch {
		case r >= 0x20 && r < 0x7f:
		case r == utf8.RuneError:
			return idSymbol
		case unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r):
			return idControl
		case unicode.IsSpace(r) || unicode.Is(unicode.Zs, r):
			return idSpace
		case r >= 0xff01 && r <= 0xff5e && (unicode.IsLetter(r) || unicode.IsDigit(r)), unicode.IsDigit(r), unicode.Is(unicode.Nl, r), unicode.Is(unicode.No, r):
			return idFullWidth
		case unicode.IsLetter(r), unicode.IsMark(r), unicode.IsPunct(r):
		default: // So, Sm, Sk, Sc beyond ASCII, Co, Cs, Cn
			return idSymbol
		}
	}
	return idOK
}

// textFault says why a free-text cell cannot be sent.
type textFault int

const (
	textOK      textFault = iota
	textControl           // a control character other than tab and line breaks (NUL, ESC, DEL) or a bidi override (U+202E)
	textBroken            // U+FFFD: the text was decoded in the wrong encoding
	textTooLong           // longer than the field's MaxLen
)

// checkText checks a free-text cell (a remark or description): line breaks
// and tabs are kept (a cell may hold several lines; JSON and URL encoding
// carry them), other control characters, bidi overrides and the
// replacement character of a wrong encoding are refused.
func checkText(t string, maxLen int) textFault {
	for _, r := range t {
		switch {
		case r == utf8.RuneError:
			return textBroken
		case r == '\n' || r == '\r' || r == '\t':
		case unicode.Is(unicode.Cc, r), r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return textControl
		}
	}
	if maxLen > 0 && utf8.RuneCountInString(t) > maxLen {
		return textTooLong
	}
	return textOK
}

func firstRune(s string) (rune, int) {
	for i, r := range s {
		if i == 0 {
			return r, len(string(r))
		}
	}
	return 0, 0
}

// parseAmount reads a decimal cell. Text (CSV, XLSX string cells) is read
// exactly by mallcoo.ParseAmount; a numeric XLSX cell comes as the text
// Excel shows (its binary noise, 100.09999999999999, already rounded to
// Excel's 15 significant digits); a number that needs more digits, a
// boolean or an error cell is refused.
func parseAmount(s string, ct cellType) (mallcoo.Amount, error) {
	switch ct {
	case cellBool:
		return "", &mallcoo.AmountError{Text: s, Fault: mallcoo.NotANumber}
	case cellError:
		return "", &mallcoo.AmountError{Text: s, Fault: mallcoo.NotANumber}
	case cellLongNumber:
		return "", &mallcoo.AmountError{Text: s, Fault: mallcoo.TooLong}
	}
	return mallcoo.ParseAmount(s)
}

// numberText turns a numeric XLSX cell's stored value into the text Excel
// shows for it in General format: at most 15 significant digits, never an
// exponent ("1.5E-3" is 0.0015). The 17-digit form a double is written in
// (100.09999999999999) is Excel's own noise and reads as 100.1. A value
// whose digits beyond the 15th are not noise (a program wrote
// 12345678901234567.89, or 10000000000000001) cannot be held by Excel: it
// comes back as cellLongNumber, with its text unchanged.
func numberText(raw string) (string, cellType) {
	if strings.ContainsAny(raw, "xX_") {
		// Go's hexadecimal floats and digit separators (0x1p4 is 16 to
		// ParseFloat), which no spreadsheet writes.
		return raw, cellText
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return raw, cellText
	}
	sd := sigDigits(raw)
	if sd > 15 {
		// Noise only if raw is the double itself, written with 16 or 17
		// digits, and within a few units in the last place of the
		// 15-digit value Excel shows.
		if sd > 17 || mantissa(strconv.FormatFloat(f, 'e', sd-1, 64)) != mantissa(raw) {
			return raw, cellLongNumber
		}
		g, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 15, 64), 64)
		if !near(f, g, 4) {
			return raw, cellLongNumber
		}
		f = g
	}
	return strconv.FormatFloat(f, 'f', -1, 64), cellNumber
}

// mantissa returns a number's significant digits, without leading and
// trailing zeros: "100.09999999999999" and "1.0009999999999999e+02" both
// give "10009999999999999".
func mantissa(s string) string {
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s = s[:i]
	}
	d := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
	return strings.Trim(d, "0")
}

// sigDigits counts a number's significant digits.
func sigDigits(s string) int { return len(mantissa(s)) }

// near reports whether a and b are at most n doubles apart.
func near(a, b float64, n int) bool {
	for i := 0; i < n && a != b; i++ {
		a = math.Nextafter(a, b)
	}
	return a == b
}

var (
	dateRE    = regexp.MustCompile(`^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[ T]+([0-9]{1,2}):([0-9]{1,2})(?::([0-9]{1,2})(?:\.([0-9]{1,9}))?)?)?$`)
	compactRE = regexp.MustCompile(`^([0-9]{4})([0-9]{2})([0-9]{2})(?:([0-9]{2})([0-9]{2})([0-9]{2}))?$`)
	serialRE  = regexp.MustCompile(`^[0-9]{1,7}(\.[0-9]+)?$`)
	offsetRE  = regexp.MustCompile(`(Z|[+-][0-9]{2}:?[0-9]{2})$`)
)

var dateReplacer = strings.NewReplacer("/", "-", ".", "-", "年", "-", "月", "-", "日", " ", "：", ":", "T", " ")

// parseDateTime reads the datetimes CRM exports and spreadsheets write, in
// China Standard Time: "2024-11-01 10:05:03", "2024/11/1 10:05:03",
// "2024-11-01 10:05", "2024-11-01", "2024年11月1日 10:05:03",
// "20241101100503", ISO 8601 (an explicit offset is honoured) and Excel
// serial numbers (1900 date system).
func parseDateTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("empty")
	}
	if t, ok, err := quickDateTime(s); ok {
		return t, err
	}
	if m := compactRE.FindStringSubmatch(s); m != nil {
		return civil(m[1], m[2], m[3], m[4], m[5], m[6], "")
	}
	if serialRE.MatchString(s) && !strings.Contains(s, "-") {
		return excelSerial(s)
	}
	if strings.Contains(s, "T") && offsetRE.MatchString(s) {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.In(mallcoo.CST), nil
			}
		}
	}
	n := dateReplacer.Replace(s)
	// Keep the fraction dot of seconds: the replacer turned it into '-'.
	if i := strings.LastIndexByte(n, ':'); i >= 0 {
		if j := strings.IndexByte(n[i:], '-'); j >= 0 {
			n = n[:i+j] + "." + n[i+j+1:]
		}
	}
	n = strings.Join(strings.Fields(n), " ")
	n = strings.TrimSuffix(n, "-")
	if m := dateRE.FindStringSubmatch(n); m != nil {
		return civil(m[1], m[2], m[3], m[4], m[5], m[6], m[7])
	}
	return time.Time{}, fmt.Errorf("unknown date format")
}

// quickDateTime parses the usual shapes without regular expressions:
// y-m-d or y/m/d, optionally followed by ' ' or 'T' and h:m or h:m:s. ok is
// false when s has another shape.
func quickDateTime(s string) (t time.Time, ok bool, err error) {
	var parts [6]int
	var widths [6]int
	n, i := 0, 0
	dateSep := byte(0)
	for n < 6 {
		v, w := 0, 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' && w < 4 {
			v = v*10 + int(s[i]-'0')
			i++
			w++
		}
		if w == 0 {
			return t, false, nil
		}
		parts[n], widths[n] = v, w
		n++
		if i == len(s) {
			break
		}
		c := s[i]
		switch {
		case n < 3 && (c == '-' || c == '/') && (dateSep == 0 || dateSep == c):
			dateSep = c
		case n == 3 && (c == ' ' || c == 'T'):
		case n > 3 && c == ':':
		default:
			return t, false, nil
		}
		i++
	}
	if i != len(s) || (n != 3 && n != 5 && n != 6) || widths[0] != 4 {
		return t, false, nil
	}
	for k := 1; k < n; k++ {
		if widths[k] > 2 {
			return t, false, nil
		}
	}
	t, err = civilInts(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5])
	return t, true, err
}

// civil builds a CST time from its parts and rejects impossible dates
// (2024-02-30) rather than normalising them.
func civil(ys, mos, ds, hs, mis, ss, frac string) (time.Time, error) {
	atoi := func(s string) int {
		if s == "" {
			return 0
		}
		n, _ := strconv.Atoi(s)
		return n
	}
	t, err := civilInts(atoi(ys), atoi(mos), atoi(ds), atoi(hs), atoi(mis), atoi(ss))
	if err == nil && frac != "" && frac[0] >= '5' {
		t = t.Add(time.Second) // Mallcoo takes whole seconds
		if t.Year() > 9999 {
			return time.Time{}, fmt.Errorf("beyond 9999-12-31 23:59:59 once rounded to the second")
		}
	}
	return t, err
}

func civilInts(y, mo, d, h, mi, sec int) (time.Time, error) {
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 || y < 1900 {
		return time.Time{}, fmt.Errorf("impossible date")
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, mallcoo.CST)
	if t.Day() != d || int(t.Month()) != mo {
		return time.Time{}, fmt.Errorf("impossible date")
	}
	return t, nil
}

// excelSerial converts an Excel serial date (days since 1899-12-30) to CST
// wall-clock time, rounded to the second. Serials before 1970 (25569) are
// refused: no CRM event is that old, and a bare "2024" is not a date.
func excelSerial(s string) (time.Time, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 25569 || v > 2958465 {
		return time.Time{}, fmt.Errorf("not a date serial")
	}
	days := math.Floor(v)
	secs := math.Round((v - days) * 86400)
	base := time.Date(1899, 12, 30, 0, 0, 0, 0, mallcoo.CST)
	return base.AddDate(0, 0, int(days)).Add(time.Duration(secs) * time.Second), nil
}

var fileDateRE = regexp.MustCompile(`(20[0-9]{2})-?([01][0-9])-?([0-3][0-9])`)

// fileDate finds a date written yyyymmdd or yyyy-mm-dd in a file name (not
// part of a longer number).
func fileDate(name string) (time.Time, bool) {
	isDigit := func(i int) bool { return i >= 0 && i < len(name) && name[i] >= '0' && name[i] <= '9' }
	for _, m := range fileDateRE.FindAllStringSubmatchIndex(name, -1) {
		if isDigit(m[0]-1) || isDigit(m[1]) {
			continue
		}
		if t, err := civil(name[m[2]:m[3]], name[m[4]:m[5]], name[m[6]:m[7]], "", "", "", ""); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

var intRE = regexp.MustCompile(`^[+-]?[0-9]+(\.0+)?$`)

// parseEnum reads an integer field: digits, the Chinese label or English
// name of a documented value, or a word from the mall's mapping table.
func parseEnum(f *mallcoo.Field, s string, mapping map[string]string) (int64, error) {
	if mapping != nil {
		if code, ok := mapping[strings.ToLower(s)]; ok {
			s = code
		}
	}
	var n int64
	if v, err := strconv.Atoi(s); err == nil && (f.Type != mallcoo.Int || (v <= math.MaxInt32 && v >= math.MinInt32)) {
		n = int64(v)
	} else if intRE.MatchString(s) {
		t := strings.TrimPrefix(s, "+")
		if i := strings.IndexByte(t, '.'); i >= 0 {
			t = t[:i]
		}
		v, err := strconv.ParseInt(t, 10, 64)
		if err != nil || (f.Type == mallcoo.Int && (v > math.MaxInt32 || v < math.MinInt32)) {
			return 0, fmt.Errorf("out of range")
		}
		n = v
	} else if v, ok := enumWord(f, s); ok {
		n = int64(v)
	} else {
		return 0, fmt.Errorf("not a number")
	}
	if f.Closed {
		if !f.Enum.Has(int(n)) {
			return 0, fmt.Errorf("not allowed")
		}
	}
	return n, nil
}

var codeWordRE = regexp.MustCompile(`^([+-]?[0-9]+)\s*[-:：、.)）(（ ]?\s*(.+?)[)）]?$`)

// enumWord matches a documented value's label or name, also written with
// its code ("1 消费积分", "2101-退货退积分").
func enumWord(f *mallcoo.Field, s string) (int, bool) {
	for _, e := range f.Enum {
		if s == e.Label || strings.EqualFold(s, e.Name) {
			return e.Code, true
		}
	}
	if m := codeWordRE.FindStringSubmatch(s); m != nil {
		code, _ := strconv.Atoi(strings.TrimPrefix(m[1], "+"))
		for _, e := range f.Enum {
			if e.Code == code && (m[2] == e.Label || strings.EqualFold(m[2], e.Name)) {
				return e.Code, true
			}
		}
	}
	for _, e := range f.Enum { // "消费积分(1)"
		if strings.HasPrefix(s, e.Label) && e.Label != "" {
			rest := strings.Trim(s[len(e.Label):], "()（） ")
			if rest == strconv.Itoa(e.Code) {
				return e.Code, true
			}
		}
	}
	return 0, false
}

// cleanMobile normalises a mainland mobile number: spaces and hyphens
// dropped, a +86/0086 prefix removed.
func cleanMobile(s string) (string, bool) {
	t := strings.NewReplacer(" ", "", "-", "", "\u3000", "").Replace(s)
	for _, p := range []string{"+86", "0086", "86"} {
		if strings.HasPrefix(t, p) && len(t) == len(p)+11 {
			t = t[len(p):]
			break
		}
	}
	return t, mallcoo.ValidMobile(t)
}
