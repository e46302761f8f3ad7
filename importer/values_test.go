package importer

import (
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/mallcoo"
)

func TestParseDateTime(t *testing.T) {
	want := cst(2024, 11, 1, 10, 5, 3)
	for _, in := range []string{
		"2024-11-01 10:05:03",
		"2024/11/1 10:05:03",
		"2024/11/01 10:05:03.2",
		"2024年11月1日 10:05:03",
		"2024年11月1日10:05:03",
		"20241101100503",
		"2024-11-01T10:05:03",
		"2024-11-01T02:05:03Z",
		"2024-11-01T10:05:03+08:00",
		"2024.11.01 10:05:03",
	} {
		got, err := parseDateTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseDateTime(%q) = %v, %v, want %v", in, got, err, want)
		}
	}
	for in, w := range map[string]time.Time{
		"2024-11-01 10:05": cst(2024, 11, 1, 10, 5, 0),
		"2024-11-01":       cst(2024, 11, 1, 0, 0, 0),
		"2024/11/1":        cst(2024, 11, 1, 0, 0, 0),
		"20241101":         cst(2024, 11, 1, 0, 0, 0),
		"2024年11月1日":       cst(2024, 11, 1, 0, 0, 0),
		"45597.4201":       cst(2024, 11, 1, 10, 4, 57), // 0.4201 day = 36296.64 s
		"45597.4375":       cst(2024, 11, 1, 10, 30, 0),
		"45597":            cst(2024, 11, 1, 0, 0, 0),
		"2024-02-29":       cst(2024, 2, 29, 0, 0, 0),
	} {
		got, err := parseDateTime(in)
		if err != nil || !got.Equal(w) {
			t.Errorf("parseDateTime(%q) = %v, %v, want %v", in, got, err, w)
		}
		if err == nil && got.Location() != mallcoo.CST {
			t.Errorf("parseDateTime(%q) location = %v, want CST", in, got.Location())
		}
	}
	for _, in := range []string{"2024-02-30", "2023-02-29", "2024-13-45 10:00:00", "2024-11-01 24:00:00", "2024-11-01 10:60:00",
		"yesterday", "11/01/2024", "2024-11", "60", "-5", "20241301", "2024", "25568",
		"9999-12-31 23:59:59.6"} { // rounded to the second: year 10000, no yyyy-MM-dd
		if got, err := parseDateTime(in); err == nil {
			t.Errorf("parseDateTime(%q) = %v, want an error", in, got)
		}
	}
}

func TestCleanID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ct   cellType
		want string
		f    idFault
	}{
		{"0201710000001", cellText, "0201710000001", idOK},
		{"'0201710000001", cellText, "0201710000001", idOK},
		{`="0201710000001"`, cellText, "0201710000001", idOK},
		{"201710000001", cellNumber, "201710000001", idOK},
		{"T20241101000123", cellText, "T20241101000123", idOK},
		{"金卡", cellText, "金卡", idOK},
		{"'00E1", cellText, "00E1", idOK},
		{`="1.50"`, cellText, "1.50", idOK},
		{"Gold Card", cellText, "Gold Card", idOK},
		{"A-01_b/2#3", cellText, "A-01_b/2#3", idOK},
		{"金卡（VIP）", cellText, "金卡（VIP）", idOK},
		{"1.23457E+11", cellText, "", idScientific},
		{"1.23457E11", cellText, "", idScientific},
		{"1.23457e11", cellText, "", idScientific},
		{"12.3457E+10", cellText, "", idScientific},
		{"2.0171E+11", cellNumber, "", idScientific},
		{"12E34", cellText, "", idScientific},
		{"1e-5", cellText, "", idScientific},
		{"-1.2E+3", cellText, "", idScientific},
		{".5E3", cellText, "", idScientific},
		{"201710000009.0", cellText, "", idFraction},
		{"123.0", cellText, "", idFraction},
		{"201710000009.5", cellNumber, "", idFraction},
		{"201,710,000,009", cellText, "", idGrouped},
		{"-1,234", cellText, "", idGrouped},
		{"1,234.0", cellText, "", idGrouped},
		{"201，710，000，009", cellText, "", idGrouped},
		{`="201,710,000,009"`, cellText, "201,710,000,009", idOK},
		{"'1,234", cellText, "1,234", idOK},
		{"A1,234", cellText, "A1,234", idOK},
		{"1,23", cellText, "", idFraction},           // a decimal comma
		{"201710000009,0", cellText, "", idFraction}, // .0 in a decimal-comma locale
		{"201710000009，5", cellText, "", idFraction}, // full-width comma
		{"1,2,3", cellText, "1,2,3", idOK},           // no number
		{"'201710000009,0", cellText, "201710000009,0", idOK},
		{"1234567890123456", cellNumber, "", idLongNumber},
		{"12345678901234567", cellLongNumber, "", idLongNumber},
		{"1234567890123456", cellText, "1234567890123456", idOK},
		{"TRUE", cellBool, "", idBool},
		{"TRUE", cellText, "", idBool},
		{"false", cellText, "", idBool},
		{"'TRUE", cellText, "TRUE", idOK},
		{"#N/A", cellError, "", idError},
		{"#N/A", cellText, "", idError},
		{"#value!", cellText, "", idError},
		{"#DIV/0!", cellText, "", idError},
		{"#REF!", cellText, "", idError},
		{"#NAME?", cellText, "", idError},
		{"#NUM!", cellText, "", idError},
		{"#NULL!", cellText, "", idError},
		{"2017\x0010", cellText, "", idControl},
		{"2017\x1b10", cellText, "", idControl},
		{"2017\t10", cellText, "", idControl},
		{"2017\n10", cellText, "", idControl},
		{"2017\u200b10", cellText, "", idControl},
		{"2017\u202e10", cellText, "", idControl},
		{"2017\ufeff10", cellText, "", idControl},
		{"2017\u00a010", cellText, "", idSpace},
		{"2017\u300010", cellText, "", idSpace},
		{"２０１７", cellText, "", idFullWidth},
		{"ＡＢ12", cellText, "", idFullWidth},
		{"12٣4", cellText, "", idFullWidth},
		{"2017😀", cellText, "", idSymbol},
		{"2017\ufffd", cellText, "", idSymbol},
		{"2017\ue000", cellText, "", idSymbol},
		{"2017©", cellText, "", idSymbol},
	} {
		got, f := cleanID(tc.in, tc.ct, 64)
		if f != tc.f || (f == idOK && got != tc.want) {
			t.Errorf("cleanID(%q, %d) = %q, fault %d, want %q, fault %d", tc.in, tc.ct, got, f, tc.want, tc.f)
		}
	}
	if _, f := cleanID(strings.Repeat("9", 65), cellText, 64); f != idTooLong {
		t.Errorf("cleanID(65 digits) fault = %d, want idTooLong", f)
	}
	if got, f := cleanID(strings.Repeat("中", 64), cellText, 64); f != idOK || got != strings.Repeat("中", 64) {
		t.Errorf("cleanID(64 characters) = %q, %d, want it whole", got, f)
	}
}

func TestParseEnum(t *testing.T) {
	spec := mallcoo.SpecOf("score")
	ev := spec.Field("ScoreEvent")
	pay := spec.Field("PayType")
	for _, tc := range []struct {
		f    *mallcoo.Field
		in   string
		m    map[string]string
		want int64
	}{
		{ev, "1", nil, 1},
		{ev, "2101", nil, 2101},
		{ev, "消费积分", nil, 1},
		{ev, "退货退积分", nil, 2101},
		{ev, "Return", nil, 2101},
		{ev, "2101 退货退积分", nil, 2101},
		{ev, "2101-退货退积分", nil, 2101},
		{ev, "消费积分(1)", nil, 1},
		{ev, "1.0", nil, 1},
		{pay, "12", nil, 12},
		{pay, "微信", map[string]string{"微信": "12"}, 12},
		{pay, "999", nil, 999},
	} {
		got, err := parseEnum(tc.f, tc.in, tc.m)
		if err != nil || got != tc.want {
			t.Errorf("parseEnum(%s, %q) = %d, %v, want %d", tc.f.Name, tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		f  *mallcoo.Field
		in string
	}{{ev, "2"}, {ev, "sale!"}, {ev, "1.5"}, {pay, "微信"}, {pay, "99999999999"}} {
		if got, err := parseEnum(tc.f, tc.in, nil); err == nil {
			t.Errorf("parseEnum(%s, %q) = %d, want an error", tc.f.Name, tc.in, got)
		}
	}
}

func TestCleanMobile(t *testing.T) {
	for in, want := range map[string]string{"15155145475": "15155145475", "+86 151-5514-5475": "15155145475", "8615155145475": "15155145475"} {
		if got, ok := cleanMobile(in); !ok || got != want {
			t.Errorf("cleanMobile(%q) = %q, %v, want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"1371234567", "12345678901", "151551454750", "abc"} {
		if got, ok := cleanMobile(in); ok {
			t.Errorf("cleanMobile(%q) = %q, ok, want not ok", in, got)
		}
	}
}

func TestFileDate(t *testing.T) {
	for name, want := range map[string]string{
		"2024-11-01_member.csv": "2024-11-01", "member20241031.csv": "2024-10-31", "m_20241301_20241102.csv": "2024-11-02",
	} {
		got, ok := fileDate(name)
		if !ok || got.Format("2006-01-02") != want {
			t.Errorf("fileDate(%q) = %v, %v, want %s", name, got, ok, want)
		}
	}
	if got, ok := fileDate("member.csv"); ok {
		t.Errorf("fileDate(member.csv) = %v, want none", got)
	}
}

// TestCleanASCII: the path of IDs in printable ASCII finds what the
// general one finds.
func TestCleanASCII(t *testing.T) {
	for _, s := range []string{"0201710000001", "TRUE", "false", "TrUe1", "1.23457E+11", "1e5", "E1", "00E1", "201,710,000,009", "1,280.50",
		"201710000009.0", "201710000009,0", "-5.5", "+1", ".5", "5.", "12345678901234567", "1234567890123456", "a b", "x,y", "#N/A",
		"C1-2_3", "T0000000001", "12345678901234567890123"} {
		for ct := cellType(0); ct < 5; ct++ {
			for _, forced := range []bool{false, true} {
				if a, b := cleanASCII(s, forced, ct, 20), cleanAny(s, forced, ct, 20); a != b {
					t.Errorf("cleanASCII(%q, %v, %d) = %d, cleanAny = %d", s, forced, ct, a, b)
				}
			}
		}
	}
}
