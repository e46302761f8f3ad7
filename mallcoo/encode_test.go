package mallcoo

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
)

// fill sets every field of the struct v (addressable) from the fuzzer's
// bytes and strings: a pointer or list is nil, empty or set as bits say, a
// string is one of strs, an Amount one of strs made canonical or left as
// written, a LocalTime some second of the years around now (zero now and
// then), an int any value.
func fill(v reflect.Value, bits uint64, strs []string, depth int) uint64 {
	next := func() uint64 { b := bits & 7; bits = bits>>3 | bits<<61; return b }
	pick := func() string { return strs[int(next())%len(strs)] }
	var set func(f reflect.Value)
	set = func(f reflect.Value) {
		switch f.Type() {
		case typeString, typeURLText:
			f.SetString(pick())
			return
		case typeAmount:
			s := pick()
			if a, err := ParseAmount(s); err == nil && next() != 0 {
				s = string(a)
			}
			f.SetString(s)
			return
		case typeLocalTime:
			if next() == 0 {
				return // zero: Marshal refuses it
			}
			sec := int64(bits%(20*365*86400)) + 1.5e9
			if next() == 7 {
				sec = int64(bits>>1)%(1<<44) - 1<<43 // any year, BC and beyond 9999 too
			}
			f.Set(reflect.ValueOf(LocalTime{Time: time.Unix(sec, int64(next())*1e8).UTC()}))
			return
		case typeInt, typeInt64:
			f.SetInt(int64(bits) >> (next() * 8))
			next()
			return
		}
		switch f.Kind() {
		case reflect.Pointer:
			if next() < 2 {
				return // nil
			}
			p := reflect.New(f.Type().Elem())
			set(p.Elem())
			f.Set(p)
		case reflect.Slice:
			n := int(next())
			if n == 0 || depth > 0 {
				return // nil
			}
			s := reflect.MakeSlice(f.Type(), n-1, n-1)
			for i := 0; i < s.Len(); i++ {
				bits = fill(s.Index(i), bits*31+uint64(i), strs, depth+1)
			}
			f.Set(s)
		default:
			panic("fill: " + f.Type().String())
		}
	}
	for i := 0; i < v.NumField(); i++ {
		set(v.Field(i))
	}
	return bits
}

var wireTypes = []struct {
	v    any
	kind crmsync.Kind
}{
	{MemberNotice{}, crmsync.KindMember}, {GradeInform{}, crmsync.KindGrade},
	{ScoreInform{}, crmsync.KindScore}, {ScoreInformV2{}, crmsync.KindScoreV2},
	{OverLimitInform{}, crmsync.KindOverLimit}, {BonusChange{}, crmsync.KindBonus},
	{VerifyInform{}, crmsync.KindVerify}, {InvalidInform{}, crmsync.KindInvalid},
}

// checkEncode holds AppendBody to encoding/json (the full form) and to
// WireBody of it (the wire form) for one value of every kind.
func checkEncode(t *testing.T, bits uint64, strs []string) {
	t.Helper()
	for _, w := range wireTypes {
		v := reflect.New(reflect.TypeOf(w.v))
		fill(v.Elem(), bits, strs, 0)
		want, wantErr := marshalJSON(v.Interface())
		full, wire, err := AppendBody([]byte("x"), []byte("y"), v.Interface())
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("AppendBody(%#v) error %v, encoding/json's %v", v.Elem().Interface(), err, wantErr)
		}
		if err != nil {
			if err.Error() != wantErr.Error() || string(full) != "x" || string(wire) != "y" {
				t.Fatalf("AppendBody(%#v) = %q, %q, %v; want x, y and %v", v.Elem().Interface(), full, wire, err, wantErr)
			}
			continue
		}
		if !bytes.Equal(full[1:], want) {
			t.Fatalf("AppendBody(%s) full form\n got %s\nwant %s", w.kind, full[1:], want)
		}
		if ww := WireBody(w.kind, want); !bytes.Equal(wire[1:], ww) {
			t.Fatalf("AppendBody(%s) wire form\n got %s\nwant %s (WireBody of %s)", w.kind, wire[1:], ww, want)
		}
		if m, err := Marshal(v.Elem().Interface()); err != nil || !bytes.Equal(m, want) {
			t.Fatalf("Marshal(%s) = %s, %v; want %s", w.kind, m, err, want)
		}
	}
}

var encodeStrings = []string{"", "T0001", "0201710000001", "测试 备注/&<>", "a\"b\\c\n\t\r\b\f\x01\x1f", "\u2028\u2029", "bad \xff\xfe utf-8", "1,280.50", "-0.50", "007.5", "1e3", "¥12.30"}

// TestEncodeMatchesMarshal: every kind's plan writes what encoding/json
// and WireBody write, for values with every optional field nil, empty or
// set, odd strings, amounts canonical or not and zero times.
func TestEncodeMatchesMarshal(t *testing.T) {
	for seed := uint64(0); seed < 3000; seed++ {
		checkEncode(t, seed*0x9e3779b97f4a7c15+seed, encodeStrings)
	}
}

func TestEncodeNotABody(t *testing.T) {
	if _, _, err := AppendBody(nil, nil, 5); err == nil {
		t.Error("AppendBody(5) succeeded, want an error")
	}
	if _, _, err := AppendBody(nil, nil, (*ScoreInform)(nil)); err == nil {
		t.Error("AppendBody((*ScoreInform)(nil)) succeeded, want an error")
	}
	if b, err := Marshal((*ScoreInform)(nil)); err != nil || string(b) != "null" {
		t.Errorf("Marshal((*ScoreInform)(nil)) = %s, %v; want null", b, err)
	}
}

func FuzzEncode(f *testing.F) {
	f.Add(uint64(0), "", "T1", "1,280.50")
	f.Add(uint64(0xdeadbeefcafe), "测试\u2028", "\xff", "-0")
	f.Fuzz(func(t *testing.T, bits uint64, a, b, c string) {
		checkEncode(t, bits, []string{a, b, c, ""})
	})
}

// BenchmarkAppendBody encodes a score body both ways per iteration: as
// crmsync did before the plans (encoding/json, then WireBody over its
// output) and with AppendBody; it reports how many times faster the plan
// is ("x-json": the plan's time over the old way's).
func BenchmarkAppendBody(b *testing.B) {
	serial, pos := "POS-1", "POS01"
	v := &ScoreInform{TransID: "T0000000001", ThirdPartyCardID: "0201700000001", ScoreEvent: 1,
		TradeTime: LocalTime{Time: time.Date(2024, 11, 1, 10, 5, 3, 0, CST)}, TradeAmount: "1280.5", CrmShopID: "S0012",
		TradeSerialNo: &serial, PosID: &pos, Score: "1280"}
	var old, plan time.Duration
	var full, wire []byte
	for b.Loop() {
		t0 := time.Now()
		body, err := marshalJSON(v)
		if err != nil {
			b.Fatal(err)
		}
		_ = WireBody(crmsync.KindScore, body)
		t1 := time.Now()
		if full, wire, err = AppendBody(full[:0], wire[:0], v); err != nil {
			b.Fatal(err)
		}
		old += t1.Sub(t0)
		plan += time.Since(t1)
	}
	b.ReportMetric(float64(old.Nanoseconds())/float64(b.N), "json-ns/body")
	b.ReportMetric(float64(plan.Nanoseconds())/float64(b.N), "plan-ns/body")
	b.ReportMetric(plan.Seconds()/old.Seconds(), "x-json")
}

// BenchmarkWireBody brings a score-v2 body with lists to its wire form, as
// a read row's body is once per row.
func BenchmarkWireBody(b *testing.B) {
	body := []byte(`{"TransID":"V1","ThirdPartyCardID":"0201700000001","ScoreEvent":1,"TradeTime":"2024-11-01 10:05:03","PayAmount":99.99,"CrmShopID":"S0012","TradeSerialNo":null,"PosID":null,"ReturnTime":null,"ReturnAmount":null,"Score":99,"TotalAmount":null,"PromotionAmount":null,"ConsumePayList":[{"PayType":1,"Amount":50},{"PayType":2,"Amount":49.99}]}`)
	for b.Loop() {
		_ = WireBody(crmsync.KindScoreV2, body)
	}
}
