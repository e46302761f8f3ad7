package importer

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// kindFromName finds a kind in a sheet or file name: a kind name or the
// endpoint's Chinese title, case-insensitive. The longer names are tried
// first, so "score-v2" is not read as "score".
func kindFromName(name string) (crmsync.Kind, bool) {
	n := strings.ToLower(name)
	for _, alias := range []string{"score-v2", "scorev2", "score_v2", "消费积分变更通知v2"} {
		if strings.Contains(n, alias) {
			return crmsync.KindScoreV2, true
		}
	}
	for _, alias := range []string{"over-limit", "overlimit", "over_limit"} {
		if strings.Contains(n, alias) {
			return crmsync.KindOverLimit, true
		}
	}
	for _, k := range crmsync.Kinds {
		if strings.Contains(n, strings.ToLower(mallcoo.SpecOf(k).Title)) {
			return k, true
		}
	}
	for _, k := range crmsync.Kinds {
		if strings.Contains(n, string(k)) {
			return k, true
		}
	}
	return "", false
}

// baseName is a file's name without directory and extension.
func baseName(path string) string {
	b := filepath.Base(path)
	return strings.TrimSuffix(b, filepath.Ext(b))
}

// Extra columns that are not request fields.
const (
	colEventID = "EventID"
	colBizDate = "BusinessDate"
	colIgnored = "-" // the problems workbook's reason, next step and source columns
	colTransID = "TransID"
)

// headerKey normalises a header cell for matching: trimmed, lower-case,
// without spaces, underscores and the "*" that marks a required column.
func headerKey(s string) string {
	s = trimCell(s)
	s = strings.Trim(s, "*＊")
	s = strings.ToLower(s)
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '_', '\u3000', '\u00a0':
			return -1
		}
		return r
	}, s)
}

// headerSet maps normalised header words to field names for one spec (or
// one list sheet).
type headerSet map[string]string

func newHeaderSet(fields []mallcoo.Field, extra map[string]string) headerSet {
	h := headerSet{}
	for _, f := range fields {
		h[headerKey(f.Label)] = f.Name
	}
	for _, f := range fields { // names win over another field's label
		h[headerKey(f.Name)] = f.Name
	}
	for k, v := range extra {
		h[headerKey(k)] = v
	}
	return h
}

var (
	kindExtras = map[string]string{
		"EventID": colEventID, "事件ID": colEventID,
		"原因": colIgnored, "问题原因": colIgnored, "reason": colIgnored,
		"下一步": colIgnored, "next step": colIgnored, "来源": colIgnored, "source": colIgnored,
	}
	memberExtras = map[string]string{"BusinessDate": colBizDate, "业务日期": colBizDate}
	headerSets   = func() map[crmsync.Kind]headerSet {
		m := map[crmsync.Kind]headerSet{}
		for _, k := range crmsync.Kinds {
			extra := map[string]string{}
			for a, b := range kindExtras {
				extra[a] = b
			}
			if k == crmsync.KindMember {
				for a, b := range memberExtras {
					extra[a] = b
				}
			}
			hs := newHeaderSet(mallcoo.SpecOf(k).Fields, extra)
			// Another endpoint's label for the same field (a member file
			// headed 会员卡号ID), unless this kind uses the words itself.
			for _, o := range crmsync.Kinds {
				for _, f := range mallcoo.SpecOf(o).Fields {
					if mallcoo.SpecOf(k).Field(f.Name) == nil {
						continue
					}
					if _, taken := hs[headerKey(f.Label)]; !taken {
						hs[headerKey(f.Label)] = f.Name
					}
				}
			}
			m[k] = hs
		}
		return m
	}()
)

// field matches one header cell: the whole text, else the parts of
// "label(FieldName)", "label（FieldName）", "FieldName label" or a two-line
// cell, when they agree.
func (h headerSet) field(cell string) string {
	k := headerKey(cell)
	if k == "" {
		return ""
	}
	if f, ok := h[k]; ok {
		return f
	}
	parts := strings.FieldsFunc(trimCell(cell), func(r rune) bool {
		return strings.ContainsRune(" \t\r\n()（）/|:：\u3000", r)
	})
	if len(parts) < 2 {
		return ""
	}
	found := ""
	for _, p := range parts {
		f, ok := h[headerKey(p)]
		if !ok {
			continue
		}
		if found != "" && found != f {
			return ""
		}
		found = f
	}
	return found
}

// headerMap is a header row resolved against one kind.
type headerMap struct {
	kind    crmsync.Kind
	cols    []int // per spec field: the column index, or -1
	eventID int
	bizDate int
	mapped  int      // fields found
	missing []string // required fields not found
	dup     string   // a field two columns map to, if any
	unknown int      // non-empty cells that matched nothing
	// extra are the columns of those cells, extraNames their header text.
	extra      []int
	extraNames []string
	// width is the number of header columns: up to its last non-empty cell.
	width int
}

// mapHeader resolves a row of header cells against kind k, with the
// header words of sets (headerSets and the config's aliases).
func mapHeader(sets map[crmsync.Kind]headerSet, k crmsync.Kind, cells []string) *headerMap {
	spec := mallcoo.SpecOf(k)
	hs := sets[k]
	m := &headerMap{kind: k, cols: make([]int, len(spec.Fields)), eventID: -1, bizDate: -1}
	for i := range m.cols {
		m.cols[i] = -1
	}
	index := map[string]int{}
	for i, f := range spec.Fields {
		index[f.Name] = i
	}
	set := func(p *int, name string, col int) {
		if *p >= 0 {
			if m.dup == "" {
				m.dup = name
			}
			return
		}
		*p = col
	}
	for c, cell := range cells {
		if trimCell(cell) != "" {
			m.width = c + 1
		}
		f := hs.field(cell)
		switch f {
		case "":
			if t := trimCell(cell); t != "" {
				m.unknown++
				m.extra = append(m.extra, c)
				m.extraNames = append(m.extraNames, t)
			}
		case colIgnored:
		case colEventID:
			set(&m.eventID, colEventID, c)
		case colBizDate:
			set(&m.bizDate, colBizDate, c)
		default:
			i := index[f]
			if m.cols[i] < 0 {
				m.mapped++
			}
			set(&m.cols[i], f, c)
		}
	}
	if k == crmsync.KindMember {
		if m.cols[0] < 0 && m.cols[1] < 0 {
			m.missing = []string{spec.Fields[0].Name + "/" + spec.Fields[1].Name}
		}
	} else {
		for i, f := range spec.Fields {
			if f.Required && m.cols[i] < 0 {
				m.missing = append(m.missing, f.Name)
			}
		}
	}
	return m
}

// better reports whether m fits its header row better than o.
func (m *headerMap) better(o *headerMap) bool {
	if o == nil {
		return true
	}
	if (len(m.missing) == 0) != (len(o.missing) == 0) {
		return len(m.missing) == 0
	}
	if m.mapped != o.mapped {
		return m.mapped > o.mapped
	}
	// Same number of columns: the kind whose fields they cover more fully.
	return m.mapped*len(mallcoo.SpecOf(o.kind).Fields) > o.mapped*len(mallcoo.SpecOf(m.kind).Fields)
}

// missingText names the missing columns with their Chinese labels.
func missingText(k crmsync.Kind, names []string) string {
	spec := mallcoo.SpecOf(k)
	var out []string
	for _, n := range names {
		if f := spec.Field(n); f != nil {
			out = append(out, fmt.Sprintf("%s(%s)", f.Label, f.Name))
		} else {
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}

// headerRows is how many non-empty rows at the top of a sheet may come
// before its header row (titles, notes).
const headerRows = 10

// findHeader picks the header row and kind from the first non-empty rows.
// kind is "" when neither the command line nor a name fixed it.
func findHeader(sets map[crmsync.Kind]headerSet, kind crmsync.Kind, rows [][]string) (int, *headerMap, crmsync.Text) {
	var best *headerMap
	for i, cells := range rows {
		var rowBest *headerMap
		if kind != "" {
			rowBest = mapHeader(sets, kind, cells)
		} else {
			var most *headerMap // the kind the most columns belong to
			for _, k := range crmsync.Kinds {
				m := mapHeader(sets, k, cells)
				if m.mapped == 0 {
					continue
				}
				if m.better(rowBest) {
					rowBest = m
				}
				if most == nil || m.mapped > most.mapped {
					most = m
				}
			}
			// A score table that lacks a column must not pass for a member
			// table because its card column is complete for member.
			if most != nil && most.mapped > rowBest.mapped {
				rowBest = most
			}
		}
		if rowBest == nil {
			continue
		}
		if len(rowBest.missing) == 0 {
			if rowBest.dup != "" {
				return i, nil, reason(fmt.Sprintf("表头中%s列出现了不止一次,请删掉多余的列", rowBest.dup),
					fmt.Sprintf("the header has more than one %s column; delete the extra one", rowBest.dup))
			}
			return i, rowBest, crmsync.Text{}
		}
		if rowBest.better(best) {
			best = rowBest
		}
	}
	if best == nil || best.mapped == 0 {
		if kind != "" {
			return -1, nil, reason(fmt.Sprintf("找不到%s的表头,请使用导入模板的表头(字段名或中文名)", kind),
				fmt.Sprintf("no %s header row found; use the import template's headers (field names or Chinese labels)", kind))
		}
		return -1, nil, reason("无法识别表头和数据类型,请使用导入模板的表头,并用类型命名文件或工作表(如 score.csv),或使用 -kind",
			"no recognisable headers; use the import template's headers and name the file or sheet after its kind (e.g. score.csv), or use -kind")
	}
	miss := missingText(best.kind, best.missing)
	return -1, nil, reason(fmt.Sprintf("%s表缺少必需的列: %s,请按导入模板补上这些列", best.kind, miss),
		fmt.Sprintf("the %s table lacks required columns: %s; add them as in the import template", best.kind, miss))
}

// withAliases returns headerSets with a mall's own column names added:
// aliases[""] for every kind, aliases[kind] for one (which wins). An alias
// names a field by its API name; one naming a field a kind lacks is left
// out of that kind.
func withAliases(aliases map[crmsync.Kind]map[string]string) map[crmsync.Kind]headerSet {
	if len(aliases) == 0 {
		return headerSets
	}
	out := map[crmsync.Kind]headerSet{}
	for _, k := range crmsync.Kinds {
		hs := headerSet{}
		for w, f := range headerSets[k] {
			hs[w] = f
		}
		spec := mallcoo.SpecOf(k)
		for _, from := range []crmsync.Kind{"", k} {
			for header, field := range aliases[from] {
				if f := spec.Field(field); f != nil {
					hs[headerKey(header)] = f.Name
				} else if strings.EqualFold(field, colEventID) {
					hs[headerKey(header)] = colEventID
				}
			}
		}
		out[k] = hs
	}
	return out
}

// nearestField names the field of kind k whose name or label is nearest
// to a header text: "退货时间(ReturnTime)".
func nearestField(k crmsync.Kind, header string) string {
	h := []rune(headerKey(header))
	best, bestD := "", -1
	for _, f := range mallcoo.SpecOf(k).Fields {
		for _, w := range []string{f.Name, f.Label} {
			if w == "" {
				continue
			}
			if d := editDistance(h, []rune(headerKey(w))); bestD < 0 || d < bestD {
				best, bestD = f.Label+"("+f.Name+")", d
			}
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// isSecondHeader reports whether a row right under the header is a second
// header line (labels under names, or the reverse), as templates write.
func isSecondHeader(m *headerMap, cells []string) bool {
	hs := headerSets[m.kind]
	spec := mallcoo.SpecOf(m.kind)
	matched := 0
	for c, cell := range cells {
		if trimCell(cell) == "" {
			continue
		}
		f := hs.field(cell)
		if f == "" || f == colIgnored || f == colEventID || f == colBizDate {
			if f == "" {
				return false
			}
			continue
		}
		i := -1
		for j := range spec.Fields {
			if spec.Fields[j].Name == f {
				i = j
			}
		}
		if i < 0 || m.cols[i] != c {
			return false
		}
		matched++
	}
	return matched > 0
}
