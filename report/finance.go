package report

import (
	"encoding/json"
	"math"
	"math/big"
	"strings"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// financeFields are the amounts and points summed per kind for finance
// reconciliation (mallcoo.Money).
var financeFields = func() map[crmsync.Kind][]string {
	m := map[crmsync.Kind][]string{}
	for _, k := range crmsync.Kinds {
		if sums := mallcoo.SpecOf(k).Money.Sums(); len(sums) > 0 {
			m[k] = sums
		}
	}
	return m
}()

// Finance stages: every row read, rows whose sending was attempted (sent,
// rejected, failed) and rows Mallcoo confirmed (sent).
const (
	stageRead = iota
	stageAttempted
	stageConfirmed
	stages
)

// finance sums amounts exactly, per kind and stage.
type finance struct {
	kinds map[crmsync.Kind]*financeKind
}

type financeKind struct {
	fields []string
	index  []int // of each field in the kind's template columns
	rows   [stages]int
	sums   [stages][]decimal
	vals   []string
}

func newFinance() *finance {
	fin := &finance{kinds: map[crmsync.Kind]*financeKind{}}
	for k, fields := range financeFields {
		fk := &financeKind{fields: fields, index: make([]int, len(fields)), vals: make([]string, len(fields))}
		spec := mallcoo.SpecOf(k)
		for i, name := range fields {
			fk.index[i] = -1
			for j, f := range spec.Fields {
				if f.Name == name {
					fk.index[i] = j
				}
			}
		}
		for s := range fk.sums {
			fk.sums[s] = make([]decimal, len(fields))
		}
		fin.kinds[k] = fk
	}
	return fin
}

// amounts are the finance fields of a body, as JSON numbers.
type amounts struct {
	TradeAmount  json.Number
	PayAmount    json.Number
	ReturnAmount json.Number
	Score        json.Number
	GetBonus     json.Number
	Bonus        json.Number
}

func (a *amounts) get(name string) string {
	switch name {
	case "TradeAmount":
		return a.TradeAmount.String()
	case "PayAmount":
		return a.PayAmount.String()
	case "ReturnAmount":
		return a.ReturnAmount.String()
	case "Score":
		return a.Score.String()
	case "GetBonus":
		return a.GetBonus.String()
	case "Bonus":
		return a.Bonus.String()
	}
	return ""
}

// add counts one result. Amounts come from the body when there is one (what
// is or would be sent), else from the row's cells when they read as numbers
// (an invalid row).
func (fin *finance) add(k crmsync.Kind, r *crmsync.Result) {
	fk := fin.kinds[k]
	if fk == nil {
		return
	}
	clear(fk.vals)
	if len(r.Body) > 0 {
		if !topFields(r.Body, fk.fields, fk.vals) {
			clear(fk.vals)
			var a amounts
			if json.Unmarshal(r.Body, &a) == nil {
				for i, name := range fk.fields {
					fk.vals[i] = a.get(name)
				}
			}
		}
	} else {
		for i, j := range fk.index {
			if j >= 0 && j < len(r.Values) {
				if v, err := mallcoo.ParseAmount(r.Values[j]); err == nil {
					fk.vals[i] = string(v)
				}
			}
		}
	}
	fk.count(stageRead, fk.vals)
	switch r.Outcome {
	case crmsync.OutcomeSent:
		fk.count(stageAttempted, fk.vals)
		fk.count(stageConfirmed, fk.vals)
	case crmsync.OutcomeRejected, crmsync.OutcomeFailed:
		fk.count(stageAttempted, fk.vals)
	}
}

func (fk *financeKind) count(stage int, vals []string) {
	fk.rows[stage]++
	for i, v := range vals {
		if v != "" {
			fk.sums[stage][i].add(v)
		}
	}
}

var ten = big.NewInt(10)

var pow10s = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return
}()

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func pow10(n int) *big.Int {
	return new(big.Int).Exp(ten, big.NewInt(int64(n)), nil)
}

// formatScaled writes n × 10^-scale in plain decimal notation with at least
// two decimals; n may be changed.
func formatScaled(n *big.Int, scale int) string {
	if scale < 2 {
		n.Mul(n, pow10(2-scale))
		scale = 2
	}
	neg := n.Sign() < 0
	s := new(big.Int).Abs(n).String()
	for len(s) <= scale {
		s = "0" + s
	}
	s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	if neg {
		s = "-" + s
	}
	return s
}

// decimal is an decimal sum of decimal strings in little memory: an int64
// count of 10^-scale units, moved to a big.Int only when it would
// overflow. The totals keep nine per day × shop × kind.
type decimal struct {
	units int64
	scale int8
	big   *big.Int // when set, the sum is big + units (same scale)
}

// add adds a decimal such as "-1280.50"; anything else is ignored.
func (d *decimal) add(s string) {
	ip, fp, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(ip, "-")
	if neg {
		ip = ip[1:]
	}
	if ip == "" || !digits(ip) || !digits(fp) || len(fp) > 30 {
		return
	}
	fp = strings.TrimRight(fp, "0")
	for len(fp) > int(d.scale) {
		d.rescale(int8(len(fp)))
	}
	// The value in units of 10^-scale is the digits of ip, fp and
	// scale-len(fp) zeros: at most 18 digits fit an int64.
	if len(ip)+int(d.scale) <= 18 {
		var v int64
		for i := 0; i < len(ip); i++ {
			v = v*10 + int64(ip[i]-'0')
		}
		for i := 0; i < len(fp); i++ {
			v = v*10 + int64(fp[i]-'0')
		}
		v *= pow10s[int(d.scale)-len(fp)]
		if neg {
			v = -v
		}
		if (v > 0 && d.units > math.MaxInt64-v) || (v < 0 && d.units < math.MinInt64-v) {
			d.spill()
		}
		d.units += v
		return
	}
	n, _ := new(big.Int).SetString(ip+fp+strings.Repeat("0", int(d.scale)-len(fp)), 10)
	if neg {
		n.Neg(n)
	}
	d.spill()
	d.big.Add(d.big, n)
}

// spill moves units into big.
func (d *decimal) spill() {
	if d.big == nil {
		d.big = new(big.Int)
	}
	d.big.Add(d.big, big.NewInt(d.units))
	d.units = 0
}

// rescale raises the scale to s, multiplying what is held.
func (d *decimal) rescale(s int8) {
	if d.big == nil && d.units == 0 {
		d.scale = s
		return
	}
	if d.big == nil {
		if p := int(s - d.scale); p <= 18 {
			m := pow10s[p]
			if d.units <= math.MaxInt64/m && d.units >= math.MinInt64/m {
				d.units *= m
				d.scale = s
				return
			}
		}
	}
	d.spill()
	d.big.Mul(d.big, pow10(int(s-d.scale)))
	d.scale = s
}

// String returns the sum with at least two decimals: "0.00", "-12.125".
func (d *decimal) String() string {
	n := big.NewInt(d.units)
	if d.big != nil {
		n.Add(n, d.big)
	}
	return formatScaled(n, int(d.scale))
}
