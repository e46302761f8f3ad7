package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/internal/numbering"
	"github.com/crmsync/crmsync/mallcoo"
)

// reconcileWords are the labels of the reconciliation report.
var reconcileWords = map[string]word{
	"recTitle":      {"crmsync 对账报告", "crmsync reconciliation"},
	"generated":     {"生成时间(北京时间)", "Generated (UTC+8)"},
	"ledger":        {"账本", "Ledger"},
	"tiesOut":       {"全部一致", "Ties out"},
	"runActive":     {"注意:对账时有运行正在进行,数字可能还会变化", "Note: a run held the ledger while reconciling; figures may still move"},
	"windows":       {"对账范围(事件时间,北京时间)", "Windows compared (event time, UTC+8)"},
	"since":         {"起(含)", "From (incl.)"},
	"until":         {"止(不含)", "Until (excl.)"},
	"categories":    {"对账结果", "Result"},
	"category":      {"类别", "Category"},
	"count":         {"数量", "Count"},
	"c.matched":     {"一致", "matched"},
	"c.mismatched":  {"内容不符", "mismatched"},
	"c.missing":     {"未送达", "missing"},
	"c.orphan":      {"仅账本有", "orphans"},
	"c.invalid":     {"无效或重复", "invalid"},
	"c.skipped":     {"范围外跳过", "skipped"},
	"duplicates":    {"其中重复键", "of which duplicate keys"},
	"fixedRows":     {"其中已修正的错误行", "of which bad rows whose fixed version was delivered"},
	"totals":        {"按营业日×商户×类型合计(差异标红)", "Totals per business day × shop × kind (differences in red)"},
	"date":          {"营业日", "Business day"},
	"shop":          {"商户", "Shop"},
	"fileRows":      {"文件行数", "File rows"},
	"sentRows":      {"已发送行数", "Sent rows"},
	"confRows":      {"已确认行数", "Confirmed rows"},
	"fileAmount":    {"文件金额", "File amount"},
	"sentAmount":    {"已发送金额", "Sent amount"},
	"confAmount":    {"已确认金额", "Confirmed amount"},
	"fileScore":     {"文件积分", "File score"},
	"sentScore":     {"已发送积分", "Sent score"},
	"confScore":     {"已确认积分", "Confirmed score"},
	"eventTime":     {"事件时间", "Event time"},
	"ledgerTime":    {"账本事件时间", "Ledger event time"},
	"state":         {"账本状态", "Ledger state"},
	"details":       {"说明", "Details"},
	"body":          {"内容", "Body"},
	"totalsNote":    {"金额:消费为消费金额,退货为负的退货金额;积分:积分值(积分变更为GetBonus,积分处理结果为Bonus)。已发送=账本中文件各键最后发送的内容(含被拒绝、失败、不确定)加仅账本有的事件;已确认=猫酷返回成功的。", "Amount: a sale's amount, minus a return's ReturnAmount; score: Score (bonus: GetBonus, verify: Bonus). Sent: the ledger's last body for the files' keys (rejected, failed, uncertain included) plus orphans; confirmed: those Mallcoo accepted (Code 1)."},
	"none":          {"(空)", "(none)"},
	"neverSeen":     {"从未发送", "never sent"},
	"s.sent":        {"已发送", "sent"},
	"s.failed":      {"失败", "failed"},
	"s.rejected":    {"被拒绝", "rejected"},
	"s.uncertain":   {"不确定", "uncertain"},
	"s.inflight":    {"发送中", "in flight"},
	"filesCompared": {"对账文件", "Files compared"},
}

// CategoryName is category c as the reconciliation report names it, in
// language lang ("zh" or "en").
func CategoryName(c crmsync.Category, lang string) string {
	return parseLang(lang).rt("c." + string(c))
}

// rt returns a reconciliation label, falling back to the report's words.
func (l lang) rt(key string) string {
	w, ok := reconcileWords[key]
	if !ok {
		return l.T(key)
	}
	if l == "en" {
		return w.en
	}
	return w.zh
}

// ReconcileCategories are the categories in report order.
var ReconcileCategories = []crmsync.Category{crmsync.CategoryMatched, crmsync.CategoryMismatched, crmsync.CategoryMissing, crmsync.CategoryOrphan, crmsync.CategoryInvalid, crmsync.CategorySkipped}

// Total is the finance total of one business day (event date, China time),
// shop and kind: rows, amount and score as in the files, as sent and as
// confirmed by Mallcoo. Amounts are decimal decimal strings.
type Total struct {
	Date            string       `json:"date"` // yyyy-mm-dd; "" for kinds without an event time
	Shop            string       `json:"shop"` // CrmShopID (score kinds), ShopCode (over-limit), else ""
	Kind            crmsync.Kind `json:"kind"`
	FileRows        int          `json:"file_rows"`
	SentRows        int          `json:"sent_rows"`
	ConfirmedRows   int          `json:"confirmed_rows"`
	FileAmount      string       `json:"file_amount"`
	SentAmount      string       `json:"sent_amount"`
	ConfirmedAmount string       `json:"confirmed_amount"`
	FileScore       string       `json:"file_score"`
	SentScore       string       `json:"sent_score"`
	ConfirmedScore  string       `json:"confirmed_score"`
	// Differs is true when the three columns do not all agree.
	Differs bool `json:"differs"`
}

// ReconcileInfo is what the summary sheet says about a reconciliation
// besides its entries.
type ReconcileInfo struct {
	Ledger    string
	Files     []crmsync.FileSummary
	Windows   []crmsync.Window
	RunActive bool
	Generated time.Time
}

// Reconcile writes a reconciliation report: a summary sheet (counts per
// category, the windows compared and the finance totals per business day ×
// shop × kind) and one sheet per category that needs a person (mismatched,
// missing, orphans, invalid) with a row per entry. Matched rows are only
// counted. Rows are streamed as Add receives them, so memory grows with the
// number of day × shop × kind totals, not with the number of rows.
type Reconcile struct {
	path string
	l    lang
	b    *book

	counts     map[crmsync.Category]int
	duplicates int
	fixed      int // matched entries that are bad rows settled by their delivered fix
	totals     map[totalKey]*total
	sheets     map[crmsync.Category]*stream
	cells      []any
	vals       []string
	mask       masker
	opt        Options
	redAmount  int     // style of differing amounts, once made
	final      *Totals // the totals once Totals was called

	// Shops and kinds met, numbered for totalKey.
	shops numbering.Of[string, uint32]
	kinds numbering.Of[crmsync.Kind, uint8]
}

// totalKey is a total's business day, shop and kind: the day as days since
// 1970-01-01 (dated false: no event time), the shop and kind as their
// numbers in Reconcile's shops and kinds. Twelve bytes, where the names
// took 48 and a string of their own each: a backfill of a year over 300
// shops makes 100,000 totals.
type totalKey struct {
	day   int32
	dated bool
	kind  uint8
	shop  uint32
}

// stage of a total: as in the files, as sent, as confirmed.
const (
	inFile = iota
	asSent
	asConfirmed
)

type total struct {
	rows   [3]int
	amount [3]decimal
	score  [3]decimal
}

// NewReconcile starts the reconciliation report to be written to path.
func NewReconcile(path string, opt Options) (*Reconcile, error) {
	l := parseLang(opt.Lang)
	if err := CheckTarget(path); err != nil {
		return nil, err
	}
	b, err := newBook(l, l.rt("recTitle"), time.Now())
	if err == nil {
		b.mode = opt.fileMode()
		if err = b.markOutput(); err != nil {
			b.close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("write reconciliation %s: %w", path, err)
	}
	if err := b.useSheet(l.T("summary")); err != nil {
		b.close()
		return nil, fmt.Errorf("write reconciliation %s: %w", path, err)
	}
	return &Reconcile{
		path:   path,
		l:      l,
		b:      b,
		counts: map[crmsync.Category]int{},
		totals: map[totalKey]*total{},
		sheets: map[crmsync.Category]*stream{},
		cells:  make([]any, len(entryColumns)),
		vals:   make([]string, factCount),
		mask:   masker{show: opt.ShowPersonal},
		opt:    opt,
	}, nil
}

// entryColumns are the columns of a category sheet.
var entryColumns = []struct {
	key   string
	width float64
}{
	{"kind", 10}, {"key", 24}, {"sourceFile", 28}, {"sheet", 12}, {"row", 8}, {"eventTime", 20},
	{"state", 12}, {"ledgerTime", 20}, {"details", 60}, {"code", 10}, {"message", 24}, {"body", 60},
}

// Counts returns the number of entries per category so far.
func (r *Reconcile) Counts() map[crmsync.Category]int { return r.counts }

// Duplicates returns how many invalid entries are duplicate keys.
func (r *Reconcile) Duplicates() int { return r.duplicates }

// Fixed returns how many matched entries are bad rows whose fixed version
// was delivered (ReconcileEntry.Fixed).
func (r *Reconcile) Fixed() int { return r.fixed }

// Add counts one entry into the totals and writes it to its category's
// sheet.
func (r *Reconcile) Add(e *crmsync.ReconcileEntry) error {
	if r.final != nil {
		return fmt.Errorf("write reconciliation %s: Add after the totals were taken", r.path)
	}
	r.counts[e.Category]++
	if e.Duplicate {
		r.duplicates++
	}
	if e.Fixed {
		r.fixed++
	}
	switch e.Category {
	case crmsync.CategoryMatched, crmsync.CategoryMismatched, crmsync.CategoryMissing:
		file := r.facts(e.Kind, e.Time, e.Body)
		file.add(inFile)
		if len(e.LedgerBody) > 0 {
			sent := file
			if !sameBytes(e.LedgerBody, e.Body) || e.LedgerKind != e.Kind || !e.LedgerTime.Equal(e.Time) {
				sent = r.facts(e.LedgerKind, e.LedgerTime, e.LedgerBody)
			}
			sent.add(asSent)
			if e.State == crmsync.StateSent {
				sent.add(asConfirmed)
			}
		}
	case crmsync.CategoryOrphan:
		f := r.facts(e.LedgerKind, e.LedgerTime, e.LedgerBody)
		f.add(asSent)
		f.add(asConfirmed)
	}
	if !e.Category.NeedsPerson() {
		return nil
	}
	if err := r.row(e); err != nil {
		return fmt.Errorf("write reconciliation %s: %s: %w", r.path, e.Category, err)
	}
	return nil
}

// kindFacts are the body fields the totals read, per kind (see facts):
// ScoreEvent and the kind's mallcoo.Money fields, a name for each, empty
// where the kind has none.
var kindFacts = func() map[crmsync.Kind][]string {
	m := map[crmsync.Kind][]string{}
	for _, k := range crmsync.Kinds {
		mo := mallcoo.SpecOf(k).Money
		if mo == (mallcoo.Money{}) {
			continue
		}
		event := ""
		if mo.ReturnAmount != "" {
			event = "ScoreEvent"
		}
		m[k] = []string{factEvent: event, factAmount: mo.Amount, factReturn: mo.ReturnAmount, factPoints: mo.Points, factShop: mo.Shop}
	}
	return m
}()

// The places of kindFacts' fields.
const (
	factEvent = iota
	factAmount
	factReturn
	factPoints
	factShop
	factCount
)

// sameBytes reports whether a and b are the same slice (the ledger's body
// of a matched row is the file's, shared), sparing a second parse.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// fact is what one body adds to its total.
type fact struct {
	t             *total
	amount, score string
}

func (f fact) add(stage int) {
	f.t.rows[stage]++
	if f.amount != "" {
		f.t.amount[stage].add(f.amount)
	}
	if f.score != "" {
		f.t.score[stage].add(f.score)
	}
}

// facts reads a body of kind k with event time t: its total (by day, shop
// and kind), amount and score.
func (r *Reconcile) facts(k crmsync.Kind, t time.Time, body []byte) fact {
	v := r.vals
	clear(v)
	names := kindFacts[k]
	if len(body) > 0 && len(names) > 0 && !topFields(body, names, v) {
		clear(v)
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) == nil {
			for i, f := range names {
				if raw, ok := m[f]; ok && string(raw) != "null" {
					v[i] = strings.Trim(string(raw), `"`)
				}
			}
		}
	}
	key := totalKey{kind: r.kinds.ID(k)}
	if !t.IsZero() {
		y, m, d := t.In(mallcoo.CST).Date()
		key.day, key.dated = int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()/86400), true
	}
	var f fact
	if len(names) > 0 {
		key.shop = r.shops.ID(v[factShop])
		f.amount = mallcoo.ScoreMoney(v[factEvent], v[factAmount], v[factReturn])
		f.score = v[factPoints]
	} else {
		key.shop = r.shops.ID("")
	}
	f.t = r.totals[key]
	if f.t == nil {
		f.t = &total{}
		r.totals[key] = f.t
	}
	return f
}

// Totals are a reconciliation's totals sorted by date, shop and kind
// (Reconcile.Totals). A line is made when asked for (At) from its sums: a
// year of 300 shops is 100,000 lines, which are never all held at once.
type Totals struct {
	r      *Reconcile
	keys   []namedKey
	differ int
}

// namedKey is a total's key with its date written out.
type namedKey struct {
	totalKey
	date string
}

// Len is the number of lines.
func (ts *Totals) Len() int {
	if ts == nil {
		return 0
	}
	return len(ts.keys)
}

// Differ is the number of lines whose columns do not all agree.
func (ts *Totals) Differ() int {
	if ts == nil {
		return 0
	}
	return ts.differ
}

// At returns line i.
func (ts *Totals) At(i int) Total {
	k, r := ts.keys[i], ts.r
	t := r.totals[k.totalKey]
	o := Total{
		Date: k.date, Shop: r.shops.Value(k.shop), Kind: r.kinds.Value(k.kind),
		FileRows: t.rows[inFile], SentRows: t.rows[asSent], ConfirmedRows: t.rows[asConfirmed],
		FileAmount: t.amount[inFile].String(), SentAmount: t.amount[asSent].String(), ConfirmedAmount: t.amount[asConfirmed].String(),
		FileScore: t.score[inFile].String(), SentScore: t.score[asSent].String(), ConfirmedScore: t.score[asConfirmed].String(),
	}
	o.Differs = o.FileRows != o.SentRows || o.SentRows != o.ConfirmedRows ||
		o.FileAmount != o.SentAmount || o.SentAmount != o.ConfirmedAmount ||
		o.FileScore != o.SentScore || o.SentScore != o.ConfirmedScore
	return o
}

// All returns every line (for tests and small reconciliations).
func (ts *Totals) All() []Total {
	out := make([]Total, ts.Len())
	for i := range out {
		out[i] = ts.At(i)
	}
	return out
}

// Totals returns the totals sorted by date, shop and kind. After the first
// call the totals are final: Add no longer takes entries.
func (r *Reconcile) Totals() *Totals {
	if r.final != nil {
		return r.final
	}
	dates := map[int32]string{}
	keys := make([]namedKey, 0, len(r.totals))
	for k := range r.totals {
		n := namedKey{totalKey: k}
		if k.dated {
			if n.date = dates[k.day]; n.date == "" {
				n.date = time.Unix(int64(k.day)*86400, 0).UTC().Format("2006-01-02")
				dates[k.day] = n.date
			}
		}
		keys = append(keys, n)
	}
	order := map[crmsync.Kind]int{}
	for i, k := range crmsync.Kinds {
		order[k] = i
	}
	sort.Slice(keys, func(a, b int) bool {
		x, y := keys[a], keys[b]
		if x.date != y.date {
			return x.date < y.date
		}
		if xs, ys := r.shops.Value(x.shop), r.shops.Value(y.shop); xs != ys {
			return xs < ys
		}
		return order[r.kinds.Value(x.kind)] < order[r.kinds.Value(y.kind)]
	})
	ts := &Totals{r: r, keys: keys}
	for i := range keys {
		if ts.At(i).Differs {
			ts.differ++
		}
	}
	r.final = ts
	return ts
}

// row writes an entry to its category's sheet.
func (r *Reconcile) row(e *crmsync.ReconcileEntry) error {
	s := r.sheets[e.Category]
	if s == nil {
		cols := make([]column, len(entryColumns))
		for i, c := range entryColumns {
			cols[i] = column{header: r.l.rt(c.key), width: c.width}
			if c.key == "key" || c.key == "sourceFile" || c.key == "sheet" || c.key == "body" {
				cols[i].style = r.b.st.text
			}
		}
		s = newStream(r.b, r.l.rt("c."+string(e.Category)), cols, excelize.TotalRows)
		r.sheets[e.Category] = s
	}
	c := r.cells
	clear(c)
	m := &r.mask
	m.row(e.Kind, e.Values, e.Body, e.LedgerBody)
	c[0] = string(e.Kind)
	c[1] = str(m.text(e.Key))
	c[2] = str(e.Source.File)
	c[3] = str(e.Source.Sheet)
	if e.Source.Row > 0 {
		c[4] = e.Source.Row
	}
	c[5] = clock(e.Time)
	if e.Category != crmsync.CategoryInvalid {
		c[6] = r.state(e.State)
	}
	c[7] = clock(e.LedgerTime)
	details := reasonText(e.Kind, &crmsync.Result{Column: e.Column, Reason: e.Reason}, r.l)
	if e.Category == crmsync.CategoryMismatched {
		details = strings.Join(FieldDiffs(e.LedgerBody, e.Body, r.l == "en"), "; ")
	}
	c[8] = str(m.text(details))
	if e.HasCode {
		c[9] = e.Code
	}
	c[10] = str(m.text(e.Message))
	body := e.Body
	if e.Category == crmsync.CategoryOrphan {
		body = e.LedgerBody
	}
	if body == nil && e.Category == crmsync.CategoryInvalid {
		fields := mallcoo.SpecOf(e.Kind).Fields
		vals := make([]string, min(len(e.Values), len(fields))) // unknown columns' cells follow the fields: not shown
		for i := range vals {
			vals[i] = m.value(fields[i].Name, e.Values[i])
		}
		c[11] = str(strings.Join(vals, " | "))
	} else {
		c[11] = str(m.text(string(body)))
	}
	return s.add(c)
}

func (r *Reconcile) state(s crmsync.State) string {
	if s == crmsync.StateNone {
		return r.l.rt("neverSeen")
	}
	return r.l.rt("s." + string(s))
}

// FieldDiffs lists the top-level fields whose values differ between the
// body sent before and the file's, as "Field: before → after" (a field
// absent or null shows as "(none)" in English, "(空)" in Chinese). Fields
// come in the order of the file's body, then those only the ledger's has.
func FieldDiffs(sent, file []byte, en bool) []string {
	none := reconcileWords["none"].zh
	if en {
		none = reconcileWords["none"].en
	}
	a, aOrder := rawFields(sent)
	b, bOrder := rawFields(file)
	show := func(raw json.RawMessage) string {
		if raw == nil || string(raw) == "null" {
			return none
		}
		var s string
		if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
			return s
		}
		return string(raw)
	}
	var out []string
	seen := map[string]bool{}
	for _, name := range append(bOrder, aOrder...) {
		if seen[name] {
			continue
		}
		seen[name] = true
		x, y := a[name], b[name]
		if bytes.Equal(compactJSON(x), compactJSON(y)) || (isNull(x) && isNull(y)) {
			continue
		}
		out = append(out, name+": "+show(x)+" → "+show(y))
	}
	if len(out) == 0 && !bytes.Equal(sent, file) {
		out = append(out, "("+strconv.Itoa(len(sent))+" → "+strconv.Itoa(len(file))+" bytes)")
	}
	return out
}

func isNull(raw json.RawMessage) bool { return raw == nil || string(raw) == "null" }

func compactJSON(raw json.RawMessage) []byte {
	if raw == nil {
		return nil
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return raw
	}
	return buf.Bytes()
}

// rawFields decodes a JSON object's members in order.
func rawFields(body []byte) (map[string]json.RawMessage, []string) {
	m := map[string]json.RawMessage{}
	var order []string
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return m, nil
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		name, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			break
		}
		m[name] = raw
		order = append(order, name)
	}
	return m, order
}

// Close writes the summary sheet and saves the workbook to its path (a
// temporary file renamed into place).
func (r *Reconcile) Close(info ReconcileInfo) error {
	defer r.b.close()
	for _, c := range ReconcileCategories {
		if s := r.sheets[c]; s != nil {
			if err := s.finish(); err != nil {
				return fmt.Errorf("write reconciliation %s: %s sheet: %w", r.path, c, err)
			}
		}
	}
	if err := r.summary(info); err != nil {
		return fmt.Errorf("write reconciliation %s: summary: %w", r.path, err)
	}
	if dir := filepath.Dir(r.path); dir != "" {
		if err := os.MkdirAll(dir, r.opt.dirMode()); err != nil {
			return fmt.Errorf("write reconciliation: %w", err)
		}
	}
	if err := CheckTarget(r.path); err != nil {
		return err
	}
	if err := r.b.save(context.Background(), r.path); err != nil {
		return fmt.Errorf("write reconciliation %s: %w", r.path, err)
	}
	return nil
}

// Discard releases the workbook without writing it.
func (r *Reconcile) Discard() { r.b.close() }

// summary streams the summary sheet, which was created first.
func (r *Reconcile) summary(info ReconcileInfo) error {
	l := r.l
	name := l.T("summary")
	sw, err := r.b.f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	widths := []float64{14, 14, 10, 10, 10, 12, 14, 14, 14, 12, 12, 12}
	// The amount and score columns (G to L) fit the widest total as
	// shown: a wider number shows as ###.
	ts := r.Totals()
	for i := range ts.Len() {
		t := ts.At(i)
		for j, v := range []string{t.FileAmount, t.SentAmount, t.ConfirmedAmount, t.FileScore, t.SentScore, t.ConfirmedScore} {
			widths[6+j] = max(widths[6+j], float64(amountWidth(v)+2))
		}
	}
	for i, w := range widths {
		if err := sw.SetColWidth(i+1, i+1, w); err != nil {
			return err
		}
	}
	st := r.b.st
	row := 0
	put := func(cells ...any) error {
		row++
		return sw.SetRow("A"+strconv.Itoa(row), cells)
	}
	bold := func(s string) excelize.Cell { return excelize.Cell{StyleID: st.bold, Value: s} }
	head := func(s string) excelize.Cell { return excelize.Cell{StyleID: st.header, Value: s} }
	if err := put(excelize.Cell{StyleID: st.title, Value: l.rt("recTitle")}); err != nil {
		return err
	}
	row++
	ties := l.T("yes")
	for c, n := range r.counts {
		if n > 0 && c.NeedsPerson() {
			ties = l.T("no")
		}
	}
	for _, f := range info.Files {
		if !f.Problem.IsZero() {
			ties = l.T("no")
		}
	}
	for _, kv := range [][2]any{
		{l.rt("generated"), clock(info.Generated)},
		{l.rt("ledger"), info.Ledger},
		{l.rt("tiesOut"), ties},
	} {
		if err := put(bold(kv[0].(string)), kv[1]); err != nil {
			return err
		}
	}
	if info.RunActive {
		if err := put(excelize.Cell{StyleID: st.problem, Value: l.rt("runActive")}); err != nil {
			return err
		}
	}

	row++
	if err := put(bold(l.rt("categories"))); err != nil {
		return err
	}
	if err := put(head(l.rt("category")), head(l.rt("count"))); err != nil {
		return err
	}
	for _, c := range ReconcileCategories {
		var v any = l.rt("c." + string(c))
		if c.NeedsPerson() && r.counts[c] > 0 {
			v = excelize.Cell{StyleID: st.problem, Value: v}
		}
		if err := put(v, r.counts[c]); err != nil {
			return err
		}
	}
	if r.duplicates > 0 {
		if err := put(l.rt("duplicates"), r.duplicates); err != nil {
			return err
		}
	}
	if r.fixed > 0 {
		if err := put(l.rt("fixedRows"), r.fixed); err != nil {
			return err
		}
	}

	if len(info.Files) > 0 {
		row++
		if err := put(bold(l.rt("filesCompared"))); err != nil {
			return err
		}
		if err := put(head(l.T("path")), head(l.T("sheet")), head(l.T("kind")), head(l.T("rowsRead")), head(l.T("problem"))); err != nil {
			return err
		}
		for _, f := range info.Files {
			cells := []any{f.Path, str(f.Sheet), str(string(f.Kind)), f.Rows, str(f.Note(string(l)))}
			if !f.Problem.IsZero() {
				cells[4] = excelize.Cell{StyleID: st.problem, Value: f.Problem.In(string(l))}
			}
			if err := put(cells...); err != nil {
				return err
			}
		}
	}

	if len(info.Windows) > 0 {
		row++
		if err := put(bold(l.rt("windows"))); err != nil {
			return err
		}
		if err := put(head(l.T("kind")), head(l.rt("since")), head(l.rt("until"))); err != nil {
			return err
		}
		for _, w := range info.Windows {
			if err := put(string(w.Kind), clock(w.Since), clock(w.Until)); err != nil {
				return err
			}
		}
	}

	row++
	if err := put(bold(l.rt("totals"))); err != nil {
		return err
	}
	if err := put(l.rt("totalsNote")); err != nil {
		return err
	}
	hdr := []any{}
	for _, k := range []string{"date", "shop", "kind", "fileRows", "sentRows", "confRows", "fileAmount", "sentAmount", "confAmount", "fileScore", "sentScore", "confScore"} {
		hdr = append(hdr, head(l.rt(k)))
	}
	if err := put(hdr...); err != nil {
		return err
	}
	for i := range ts.Len() {
		t := ts.At(i)
		style := st.amount
		if t.Differs {
			style = r.problemAmount()
		}
		num := func(s string) excelize.Cell {
			f, _ := strconv.ParseFloat(s, 64) // an Excel number is a double; the decimal text is in the JSON
			return excelize.Cell{StyleID: style, Value: f}
		}
		cnt := func(n int) any {
			if t.Differs {
				return excelize.Cell{StyleID: st.problem, Value: n}
			}
			return n
		}
		if err := put(str(t.Date), str(t.Shop), string(t.Kind), cnt(t.FileRows), cnt(t.SentRows), cnt(t.ConfirmedRows),
			num(t.FileAmount), num(t.SentAmount), num(t.ConfirmedAmount), num(t.FileScore), num(t.SentScore), num(t.ConfirmedScore)); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// problemAmount is the style of an amount that differs: red, two decimals.
// It is made once per workbook.
func (r *Reconcile) problemAmount() int {
	if r.redAmount != 0 {
		return r.redAmount
	}
	two := "#,##0.00"
	id, err := r.b.f.NewStyle(&excelize.Style{CustomNumFmt: &two, Font: &excelize.Font{Color: "C00000", Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"FFC7CE"}}})
	if err != nil {
		return r.b.st.problem
	}
	r.redAmount = id
	return id
}
