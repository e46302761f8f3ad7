package importer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// The score-v2 list fields and how their sibling sheets and files are named.
var listKinds = []struct {
	field    string
	suffixes []string // lower-case name endings: "<main>.promotions", "<main>优惠明细"
}{
	{"ConsumePromotionList", []string{"promotions", "优惠明细"}},
	{"ConsumePayList", []string{"payments", "支付明细"}},
}

// listOf reports whether a sheet or file base name names a score-v2 list,
// which list, and the name of its main sheet or file (the prefix before
// the suffix, "" when the name is only the suffix or the spec's own name).
func listOf(name string) (field, prefix string, ok bool) {
	tn := trimCell(name)
	n := strings.ToLower(tn)
	if len(n) != len(tn) {
		return "", "", false
	}
	for _, lk := range listKinds {
		for _, suf := range lk.suffixes {
			if !strings.HasSuffix(n, suf) {
				continue
			}
			p := tn[:len(n)-len(suf)]
			// "payments" must stand alone or follow a dot: "bonus_payments"
			// is not a list.
			if suf[0] < 0x80 && p != "" && !strings.HasSuffix(p, ".") {
				continue
			}
			return lk.field, strings.TrimRight(p, "._- "), true
		}
	}
	return "", "", false
}

// strongListName reports whether a list file's name says score-v2 itself
// (score-v2.payments.csv, 消费积分变更通知V2优惠明细.csv, 支付明细.csv), so it
// is a list file even without its main file beside it.
func strongListName(path string) bool {
	_, prefix, ok := listOf(baseName(path))
	if !ok {
		return false
	}
	p := strings.ToLower(prefix)
	if p == "" || strings.HasSuffix(p, "score-v2") || strings.HasSuffix(p, "消费积分变更通知v2") {
		return true
	}
	b := strings.ToLower(baseName(path))
	return strings.HasSuffix(b, "优惠明细") || strings.HasSuffix(b, "支付明细")
}

// listItem is one row of a list sheet: the item fields' cell text.
type listItem struct {
	vals  []string
	types []cellType
}

// listSource holds one list sheet or file, its items grouped by TransID. List
// sheets are small next to their main sheet, so they are loaded whole.
type listSource struct {
	byTrans map[string][]listItem
	// joined are the TransIDs an order row of the main sheet asked for;
	// the items of any other TransID were sent with no order (orphans).
	joined map[string]bool
	// problem says why the list cannot be trusted (a row whose TransID is
	// unusable, no TransID column): its orders are then invalid rather
	// than sent with part of their payments or promotions.
	problem crmsync.Text
}

// orphans returns how many TransIDs of the list no order row asked for,
// and the first few of them, sorted.
func (ls *listSource) orphans() (n int, first []string) {
	for id := range ls.byTrans {
		if !ls.joined[id] {
			n++
			first = append(first, id)
		}
	}
	slices.Sort(first)
	return n, first[:min(len(first), 3)]
}

func itemSpec(field string) *mallcoo.ItemSpec {
	return mallcoo.SpecOf(crmsync.KindScoreV2).Items[field]
}

// loadList reads a list table: a header row with TransID (交易ID) and item
// fields by name or label, then items. It returns a reason when the table
// has no such header.
func loadList(field string, t table) (*listSource, crmsync.Text, error) {
	it := itemSpec(field)
	hs := newHeaderSet(it.Fields, map[string]string{"TransID": colTransID, "交易ID": colTransID,
		"原因": colIgnored, "问题原因": colIgnored, "reason": colIgnored})
	var cols []int
	transCol := -1
	seen := 0
	ls := &listSource{byTrans: map[string][]listItem{}}
	row, badRow, badID, badFault := 0, 0, "", idOK
	for {
		cells, err := t.next()
		if err == io.EOF {
			break
		}
		if pe, ok := err.(*syntaxError); ok {
			return nil, pe.reason, nil
		}
		if err != nil {
			return nil, crmsync.Text{}, err
		}
		row++
		if emptyRow(cells) {
			continue
		}
		if cols == nil {
			seen++
			c, tc := make([]int, len(it.Fields)), -1
			for i := range c {
				c[i] = -1
			}
			for ci, cell := range cells {
				switch f := hs.field(cell); f {
				case "", colIgnored:
				case colTransID:
					tc = ci
				default:
					for i := range it.Fields {
						if it.Fields[i].Name == f && c[i] < 0 {
							c[i] = ci
						}
					}
				}
			}
			if tc >= 0 {
				cols, transCol = c, tc
			} else if seen >= headerRows {
				break
			}
			continue
		}
		id, fault := "", idOK
		types := cellTypes(t)
		if transCol < len(cells) {
			id, fault = cleanID(trimCell(cells[transCol]), typeAt(types, transCol), mallcoo.MaxIDLen)
		}
		if fault != idOK || id == "" {
			if badRow == 0 {
				badRow, badFault = row, fault
				if transCol < len(cells) {
					badID = shown(trimCell(cells[transCol]))
				}
			}
			continue
		}
		vals := make([]string, len(cols))
		var vtypes []cellType
		if types != nil {
			vtypes = make([]cellType, len(cols))
		}
		for i, c := range cols {
			if c >= 0 && c < len(cells) {
				vals[i] = trimCell(cells[c])
				if vtypes != nil {
					vtypes[i] = typeAt(types, c)
				}
			}
		}
		ls.byTrans[id] = append(ls.byTrans[id], listItem{vals: vals, types: vtypes})
	}
	if cols == nil {
		ls.problem = reason(fmt.Sprintf("%s明细表缺少交易ID(TransID)列", it.Titles[0]),
			fmt.Sprintf("the %s list has no TransID column to join on", it.Sheet))
		return ls, ls.problem, nil
	}
	if badRow > 0 {
		zh, en := "交易ID为空", "the TransID is empty"
		if badFault != idOK {
			zh, en = idReason(badID, badFault, mallcoo.MaxIDLen)
		}
		ls.problem = reason(fmt.Sprintf("%s明细表第%d行的交易ID %q 无法识别(%s),无法关联到订单;修正后重新导入", it.Titles[0], badRow, badID, zh),
			fmt.Sprintf("row %d of the %s list has an unusable TransID %q (%s): it joins no order; fix it and import again", badRow, it.Sheet, badID, en))
		return ls, ls.problem, nil
	}
	return ls, crmsync.Text{}, nil
}

// joinLists marks transID as an order of the sheet in every sibling list,
// whether or not its row is valid: the items of an invalid order are not
// orphans (the order row says why it was not sent).
func joinLists(in *rowInput, transID string) {
	for _, src := range in.lists {
		if src == nil || transID == "" {
			continue
		}
		if src.joined == nil {
			src.joined = map[string]bool{}
		}
		src.joined[transID] = true
	}
}

// readList returns a score-v2 row's list: from the list cell when it holds
// a JSON array, else from the sibling list joined on TransID. It sets the
// row's value of the list column to the list as compact JSON.
func readList[T mallcoo.Promotion | mallcoo.Payment](in *rowInput, field, transID string) []T {
	p := in.p
	idx := -1
	for i := range p.fields {
		if p.fields[i].Name == field {
			idx = i
		}
	}
	it := itemSpec(field)
	var items [][]string
	var types [][]cellType // per item; nil for a JSON cell (text)
	if cell := in.values[idx]; cell != "" {
		var err error
		if items, err = parseListJSON(it, cell); err != nil {
			p.fail(field, crmsync.ReasonList, "", "不是有效的JSON数组: "+err.Error(), "not a valid JSON array: "+err.Error())
			return nil
		}
	} else if src := in.lists[field]; src != nil {
		if !src.problem.IsZero() {
			// Which order the bad list row belongs to is unknown: no
			// order may go out with part of its list.
			p.fail(field, crmsync.ReasonList, "", "明细表有问题(见文件问题),未发送", "its list sheet has a problem (see the file problems), not sent")
			return nil
		}
		for _, li := range src.byTrans[transID] {
			items = append(items, li.vals)
			types = append(types, li.types)
		}
	}
	if len(items) == 0 {
		return nil
	}
	out := make([]T, 0, len(items))
	for n, vals := range items {
		var vt []cellType
		if n < len(types) {
			vt = types[n]
		}
		ip := &fieldParser{fields: it.Fields, vals: vals, types: vt, mappings: p.mappings, column: field,
			prefix: [2]string{fmt.Sprintf("第%d项 ", n+1), fmt.Sprintf("item %d ", n+1)}}
		var v any
		switch any(*new(T)).(type) {
		case mallcoo.Promotion:
			v = mallcoo.Promotion{
				PromotionType: ip.optInt("PromotionType"),
				RuleNo:        ip.optID("RuleNo"),
				No:            ip.optID("No"),
				Amount:        ip.optAmount("Amount"),
				Desc:          ip.optText("Desc"),
			}
		case mallcoo.Payment:
			v = mallcoo.Payment{
				PayType: ip.optInt("PayType"),
				PayNo:   ip.optID("PayNo"),
				Amount:  ip.optAmount("Amount"),
			}
		}
		if ip.failed() {
			p.probs = append(p.probs, ip.probs[0])
			in.values[idx] = rawListJSON(it, items)
			return nil
		}
		out = append(out, v.(T))
	}
	if b, err := mallcoo.Marshal(out); err == nil {
		in.values[idx] = string(b)
	}
	return out
}

// parseListJSON reads a list cell: a JSON array of objects (or one object)
// whose keys are item field names or labels and whose values are strings,
// numbers or null. It reads the JSON token by token, in the cell's order,
// so a field given twice (the same key twice, or a field under two of its
// names: "Amount" and "支付金额") is an error rather than one of the two
// values picked at random.
func parseListJSON(it *mallcoo.ItemSpec, cell string) ([][]string, error) {
	hs := newHeaderSet(it.Fields, nil)
	dec := json.NewDecoder(strings.NewReader(cell))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%v", err)
	}
	var out [][]string
	switch tok {
	case json.Delim('['):
		for n := 1; dec.More(); n++ {
			tok, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("%v", err)
			}
			if tok != json.Delim('{') {
				return nil, fmt.Errorf("item %d is not an object", n)
			}
			vals, err := parseListItem(it, hs, dec, n)
			if err != nil {
				return nil, err
			}
			out = append(out, vals)
		}
		if _, err := dec.Token(); err != nil { // ']'
			return nil, fmt.Errorf("%v", err)
		}
	case json.Delim('{'):
		vals, err := parseListItem(it, hs, dec, 1)
		if err != nil {
			return nil, err
		}
		out = append(out, vals)
	default:
		return nil, fmt.Errorf("want an array of objects")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("text after the array")
	}
	return out, nil
}

// parseListItem reads one object of a list cell, its '{' already read.
func parseListItem(it *mallcoo.ItemSpec, hs headerSet, dec *json.Decoder, n int) ([]string, error) {
	vals := make([]string, len(it.Fields))
	keys := make([]string, len(it.Fields)) // the key each field was given under
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%v", err)
		}
		k, _ := tok.(string)
		name := hs.field(k)
		i := -1
		for j := range it.Fields {
			if it.Fields[j].Name == name {
				i = j
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("item %d: unknown key %q", n, k)
		}
		if keys[i] != "" {
			if keys[i] == k {
				return nil, fmt.Errorf("item %d: key %q given twice", n, k)
			}
			return nil, fmt.Errorf("item %d: %s given twice, as %q and %q", n, it.Fields[i].Name, keys[i], k)
		}
		keys[i] = k
		v, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%v", err)
		}
		switch x := v.(type) {
		case nil:
		case string:
			vals[i] = trimCell(x)
		case json.Number:
			vals[i] = x.String()
		default:
			return nil, fmt.Errorf("item %d: %s is not a string or number", n, k)
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, fmt.Errorf("%v", err)
	}
	return vals, nil
}

// rawListJSON writes list items as text, for showing a bad list: the same
// JSON reads back into the same items.
func rawListJSON(it *mallcoo.ItemSpec, items [][]string) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for n, vals := range items {
		if n > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('{')
		first := true
		for i, v := range vals {
			if v == "" {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			k, _ := json.Marshal(it.Fields[i].Name)
			s, _ := mallcoo.Marshal(v)
			b.Write(k)
			b.WriteByte(':')
			b.Write(s)
		}
		b.WriteByte('}')
	}
	b.WriteByte(']')
	return b.String()
}

// siblingLists finds the list files next to a score-v2 CSV: the same base
// name followed by ".promotions"/"优惠明细" or ".payments"/"支付明细".
func siblingLists(path string) map[string]string {
	dir, base := filepath.Dir(path), baseName(path)
	entries, err := readDirNames(dir)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, name := range entries {
		if !strings.EqualFold(filepath.Ext(name), ".csv") {
			continue
		}
		field, prefix, ok := listOf(baseName(name))
		if !ok || !strings.EqualFold(prefix, base) {
			continue
		}
		if _, dup := out[field]; !dup {
			out[field] = filepath.Join(dir, name)
		}
	}
	return out
}
