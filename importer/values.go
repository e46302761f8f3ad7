package importer

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

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
func reason(zh, en string) string { return zh + " / " + en }

var (
	sciRE      = regexp.MustCompile(`^-?[0-9](\.[0-9]+)?[eE][+-][0-9]{1,3}$`)
	zeroFracRE = regexp.MustCompile(`^-?[0-9]+\.0+$`)
)

// cleanID returns the text of an identifier cell: trimmed, leading zeros
// kept, the CSV tricks that force text in Excel (a leading apostrophe, an
// ="…" wrapper) removed. A value in scientific notation has lost digits in
// Excel already and cannot be repaired (ok is false). xlsx says the text is a raw cell
// value, where a numeric cell may read "123.0".
func cleanID(s string, xlsx bool) (string, bool) {
	t := s
	if strings.HasPrefix(t, "=\"") && strings.HasSuffix(t, "\"") && len(t) >= 3 {
		t = trimCell(t[2 : len(t)-1])
	} else if strings.HasPrefix(t, "'") || strings.HasPrefix(t, "‘") || strings.HasPrefix(t, "’") {
		_, n := firstRune(t)
		t = trimCell(t[n:])
	}
	if strings.ContainsAny(t, "eE") && sciRE.MatchString(t) {
		return t, false
	}
	if xlsx && zeroFracRE.MatchString(t) {
		t = t[:strings.IndexByte(t, '.')]
	}
	return t, true
}

func firstRune(s string) (rune, int) {
	for i, r := range s {
		if i == 0 {
			return r, len(string(r))
		}
	}
	return 0, 0
}

// parseAmount reads a decimal cell. A raw XLSX number may carry binary float
// noise (100.09999999999999); it is rounded to the 15 significant digits
// Excel shows.
func parseAmount(s string, xlsx bool) (mallcoo.Amount, error) {
	if xlsx && len(s) > 15 && !strings.ContainsAny(s, ",，¥￥+") {
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) {
			if r, err := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 15, 64), 64); err == nil {
				s = strconv.FormatFloat(r, 'f', -1, 64)
			}
		}
	}
	return mallcoo.ParseAmount(s)
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
		for _, e := range f.Enum {
			if int64(e.Code) == n {
				return n, nil
			}
		}
		return 0, fmt.Errorf("not allowed")
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

// enumList describes the documented values of a field, for a reason.
func enumList(f *mallcoo.Field) (zh, en string) {
	var z, e []string
	for _, v := range f.Enum {
		z = append(z, fmt.Sprintf("%d %s", v.Code, v.Label))
		e = append(e, fmt.Sprintf("%d %s", v.Code, v.Name))
	}
	return strings.Join(z, ", "), strings.Join(e, ", ")
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
