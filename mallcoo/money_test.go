package mallcoo

import (
	"slices"
	"testing"

	"github.com/crmsync/crmsync"
)

func TestScoreMoney(t *testing.T) {
	for _, c := range []struct{ event, amount, ret, want string }{
		{"1", "100.50", "", "100.50"},
		{"1", "100.50", "20", "100.50"}, // a sale's return fields are not sent
		{"2101", "100.50", "20.10", "-20.10"},
		{"2101", "100.50", "-20.10", "20.10"},
		{"2101", "100.50", "", ""},
		{"", "", "", ""},
	} {
		if got := ScoreMoney(c.event, c.amount, c.ret); got != c.want {
			t.Errorf("ScoreMoney(%q, %q, %q) = %q, want %q", c.event, c.amount, c.ret, got, c.want)
		}
	}
}

// TestMoney: the money fields finance sums are fields of their kind's
// spec, so a renamed field cannot leave the totals reading nothing.
func TestMoney(t *testing.T) {
	want := map[crmsync.Kind][]string{
		crmsync.KindScore:   {"TradeAmount", "ReturnAmount", "Score"},
		crmsync.KindScoreV2: {"PayAmount", "ReturnAmount", "Score"},
		crmsync.KindBonus:   {"GetBonus"},
		crmsync.KindVerify:  {"Bonus"},
	}
	for _, k := range crmsync.Kinds {
		s := SpecOf(k)
		if got := s.Money.Sums(); !slices.Equal(got, want[k]) {
			t.Errorf("SpecOf(%s).Money.Sums() = %q, want %q", k, got, want[k])
		}
		for _, name := range append(s.Money.Sums(), s.Money.Shop) {
			if name != "" && s.Field(name) == nil {
				t.Errorf("SpecOf(%s).Money names %s, not a field of the kind", k, name)
			}
		}
	}
}

func TestEnumText(t *testing.T) {
	if got, want := ScoreEvents.Text("zh", ", "), "1 消费积分, 2101 退货退积分"; got != want {
		t.Errorf("ScoreEvents.Text(zh) = %q, want %q", got, want)
	}
	if got, want := ScoreEvents.Text("en", "; "), "1 sale; 2101 return"; got != want {
		t.Errorf("ScoreEvents.Text(en) = %q, want %q", got, want)
	}
	if !ScoreEvents.Has(ScoreReturn) || ScoreEvents.Has(2) {
		t.Errorf("ScoreEvents.Has(2101), Has(2) = %v, %v; want true, false", ScoreEvents.Has(ScoreReturn), ScoreEvents.Has(2))
	}
}
