package importer

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync"
)

// TestNewReader: a config's tables give a Reader with kinds by their own
// names and mapping tables by their field's spelling; a bad table gives a
// *TableError naming the path of keys to the mistake, and no Reader.
func TestNewReader(t *testing.T) {
	r, err := NewReader(Tables{
		Columns:  map[string]string{"退款时间": "ReturnTime"},
		Kinds:    map[string]KindTables{"Score_V2": {Required: []string{"PosID"}, Columns: map[string]string{"会员": "ThirdPartyCardID"}}},
		Mappings: map[string]map[string]int{"paytype": {"微信": 12}},
	})
	if err != nil {
		t.Fatalf("NewReader(good tables) = %v", err)
	}
	want := Reader{
		Columns:  map[crmsync.Kind]map[string]string{"": {"退款时间": "ReturnTime"}, crmsync.KindScoreV2: {"会员": "ThirdPartyCardID"}},
		Required: map[crmsync.Kind][]string{crmsync.KindScoreV2: {"PosID"}},
		Mappings: map[string]map[string]int{"PayType": {"微信": 12}},
	}
	if d := cmp.Diff(want.Columns, r.Columns); d != "" {
		t.Errorf("NewReader: Columns (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want.Required, r.Required); d != "" {
		t.Errorf("NewReader: Required (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want.Mappings, r.Mappings); d != "" {
		t.Errorf("NewReader: Mappings (-want +got):\n%s", d)
	}

	for _, tc := range []struct {
		name string
		t    Tables
		key  []string
	}{
		{"no such kind", Tables{Kinds: map[string]KindTables{"scores": {}}}, []string{"kinds", "scores"}},
		{"kind twice", Tables{Kinds: map[string]KindTables{"Score": {}, "score": {}}}, []string{"kinds", "score"}},
		{"required no field", Tables{Kinds: map[string]KindTables{"score": {Required: []string{"PosNo"}}}}, []string{"kinds", "score", "required"}},
		{"kind column no field", Tables{Kinds: map[string]KindTables{"grade": {Columns: map[string]string{"积分": "Score"}}}}, []string{"kinds", "grade", "columns", "积分"}},
		{"column no field", Tables{Columns: map[string]string{"会员": "Card"}}, []string{"columns", "会员"}},
		// The reader matches headers ignoring case, spaces, _ and * (headerKey):
		// two headers it takes for one, naming two fields, gave the column
		// one of the two fields at random (map order).
		{"same header, two fields", Tables{Columns: map[string]string{"会员 卡号": "ThirdPartyCardID", "会员卡号": "Mobile"}}, []string{"columns", "会员卡号"}},
		{"kind's same header, two fields", Tables{Kinds: map[string]KindTables{"member": {Columns: map[string]string{"Card": "ThirdPartyCardID", "*card": "Mobile"}}}},
			[]string{"kinds", "member", "columns", "Card"}},
		{"mapping no int field", Tables{Mappings: map[string]map[string]int{"CrmShopID": {"一楼": 1}}}, []string{"mappings", "CrmShopID"}},
		{"mapping twice", Tables{Mappings: map[string]map[string]int{"PayType": {"a": 1}, "paytype": {"b": 1}}}, []string{"mappings", "paytype"}},
		{"empty word", Tables{Mappings: map[string]map[string]int{"PayType": {" ": 1}}}, []string{"mappings", "PayType", " "}},
		{"same word", Tables{Mappings: map[string]map[string]int{"PayType": {"微信": 12, " 微信 ": 13}}}, []string{"mappings", "PayType", "微信"}},
		// The reader trims words as it trims cells (trimCell): a word with a
		// zero-width space or BOM is the same word, and which of the two
		// codes a cell got would be chance (map order).
		{"same word but an invisible space", Tables{Mappings: map[string]map[string]int{"PayType": {"微信": 12, "微信\u200b": 13}}}, []string{"mappings", "PayType", "微信\u200b"}},
		{"same word but a BOM", Tables{Mappings: map[string]map[string]int{"PayType": {"微信": 12, "\ufeff微信": 13}}}, []string{"mappings", "PayType", "\ufeff微信"}},
		{"only an invisible space", Tables{Mappings: map[string]map[string]int{"PayType": {"\u200b": 1}}}, []string{"mappings", "PayType", "\u200b"}},
		{"code too large", Tables{Mappings: map[string]map[string]int{"PayType": {"微信": 1 << 31}}}, []string{"mappings", "PayType", "微信"}},
		{"closed enum", Tables{Mappings: map[string]map[string]int{"ChangeType": {"升": 5}}}, []string{"mappings", "ChangeType", "升"}},
	} {
		r, err := NewReader(tc.t)
		var te *TableError
		if !errors.As(err, &te) || !slices.Equal(te.Key, tc.key) || te.Problem == "" || r != nil {
			t.Errorf("%s: NewReader(%+v) = %v, %#v; want no Reader and a *TableError at %q", tc.name, tc.t, r, err, tc.key)
		}
	}
}
