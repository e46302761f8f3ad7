package importer

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// fieldParser reads the typed values of one row (or one list item) and
// keeps every problem, one per column: a field with a problem reads as a
// zero value, and the other fields are still read, so a person sees all
// that is wrong with a row at once.
type fieldParser struct {
	fields   []mallcoo.Field
	vals     []string
	types    []cellType // the cell type of each value; nil: all text (CSV, JSON list cells)
	mappings func(field string) map[string]string
	probs    []crmsync.Problem
	column   string // when set, problems are reported on this column (list items)
	prefix   [2]string
	// strict makes a date alone where a datetime is due a problem rather
	// than a warning (strict_datetime).
	strict   bool
	warnings []crmsync.Problem
	// arena holds the row's optional values (nil: each on the heap).
	arena *valueArena
}

// valueArena holds the optional values of one row's body, those its wire
// type points to (a field that may be left out), so that they cost no
// allocation each: the body is encoded before the next row is read and not
// kept. Reset for each row; beyond its room values go on the heap.
type valueArena struct {
	strs  slab[string]
	urls  slab[mallcoo.URLText]
	amts  slab[mallcoo.Amount]
	times slab[mallcoo.LocalTime]
	ints  slab[int]
	longs slab[int64]
}

// slab is room for a few values of one type.
type slab[T any] struct {
	buf [8]T
	n   int
}

func (s *slab[T]) put(v T) *T {
	if s.n == len(s.buf) {
		p := new(T)
		*p = v
		return p
	}
	s.buf[s.n] = v
	s.n++
	return &s.buf[s.n-1]
}

// reset makes the arena's room free for the next row.
func (a *valueArena) reset() {
	a.strs.n, a.urls.n, a.amts.n, a.times.n, a.ints.n, a.longs.n = 0, 0, 0, 0, 0, 0
}

// at returns a pointer to v, in the arena if there is one.
func at[T any](a *valueArena, s func(*valueArena) *slab[T], v T) *T {
	if a == nil {
		p := new(T)
		*p = v
		return p
	}
	return s(a).put(v)
}

func strSlab(a *valueArena) *slab[string]             { return &a.strs }
func urlSlab(a *valueArena) *slab[mallcoo.URLText]    { return &a.urls }
func amountSlab(a *valueArena) *slab[mallcoo.Amount]  { return &a.amts }
func timeSlab(a *valueArena) *slab[mallcoo.LocalTime] { return &a.times }
func intSlab(a *valueArena) *slab[int]                { return &a.ints }
func longSlab(a *valueArena) *slab[int64]             { return &a.longs }

// warn adds a warning about field name, of code: the row is sent, the
// report says why a person may want to look.
func (p *fieldParser) warn(name, code, zh, en string) {
	p.warnings = append(p.warnings, crmsync.NewProblem(name, code, "", zh, en))
}

// fail records a problem of field name: its code, the cell text at fault
// ("" when none) and the reason. A column keeps its first problem only.
func (p *fieldParser) fail(name, code, value, zh, en string) {
	col := name
	if p.column != "" {
		col = p.column
		zh, en = p.prefix[0]+name+": "+zh, p.prefix[1]+name+": "+en
	}
	for _, q := range p.probs {
		if q.Column == col {
			return
		}
	}
	p.probs = append(p.probs, crmsync.NewProblem(col, code, shown(value), zh, en))
}

// failed reports whether the row has a problem so far.
func (p *fieldParser) failed() bool { return len(p.probs) > 0 }

func (p *fieldParser) lookup(name string) (*mallcoo.Field, string) {
	for i := range p.fields {
		if p.fields[i].Name == name {
			return &p.fields[i], p.vals[i]
		}
	}
	panic("importer: no field " + name)
}

// text returns a field's cell text, reporting a required field left empty.
func (p *fieldParser) text(name string) (*mallcoo.Field, string, bool) {
	f, v := p.lookup(name)
	if v == "" {
		if f.Required {
			p.fail(name, crmsync.ReasonRequired, "", fmt.Sprintf("%s(%s)必填,不能为空", f.Label, f.Name), fmt.Sprintf("%s is required, but empty", f.Name))
		}
		return f, "", false
	}
	return f, v, true
}

// typeOf returns the cell type a field's value was read from.
func (p *fieldParser) typeOf(name string) cellType {
	for i := range p.fields {
		if p.fields[i].Name == name && i < len(p.types) {
			return p.types[i]
		}
	}
	return cellText
}

// shown is a cell's text for a reason: cut short, so a runaway cell does
// not fill the report.
func shown(v string) string {
	const max = 40
	if utf8.RuneCountInString(v) <= max {
		return v
	}
	r := []rune(v)
	return string(r[:max]) + "…"
}

func (p *fieldParser) id(name string) string {
	f, v, ok := p.text(name)
	if !ok {
		return ""
	}
	t, fault := cleanID(v, p.typeOf(name), f.MaxLen)
	if fault != idOK {
		zh, en := idReason(t, fault, f.MaxLen)
		p.fail(name, idCode(fault), t, zh, en)
		return ""
	}
	if t == "" && f.Required {
		p.fail(name, crmsync.ReasonRequired, "", "必填,不能为空", "required, but empty")
	}
	return t
}

// idReason says what is wrong with an ID cell and what to write instead.
func idReason(t string, fault idFault, maxLen int) (zh, en string) {
	v, q := shown(t), fmt.Sprintf("%q", shown(t))
	switch fault {
	case idScientific:
		return fmt.Sprintf("ID被Excel转成了科学计数法(%s),已丢失数字;请把该列设为文本后重新导出", v),
			fmt.Sprintf("%s is in scientific notation: Excel has already dropped digits of this ID; format the column as text and export again", q)
	case idFraction:
		return fmt.Sprintf("ID带小数点或小数逗号(%s),无法确定原ID;请把该列设为文本,按原样填写ID(不带小数点)", v),
			fmt.Sprintf("%s has a decimal point (or a decimal comma), which no ID has (Excel may have turned it into a number); format the column as text and write the ID exactly as issued", q)
	case idGrouped:
		return fmt.Sprintf("ID带千位分隔符(%s),是Excel按数字格式写出的;请把该列设为文本,按原样填写ID(不带逗号)", v),
			fmt.Sprintf("%s has thousands separators, which no ID has (Excel wrote a number column with its format); format the column as text and write the ID exactly as issued", q)
	case idLongNumber:
		return fmt.Sprintf("ID是超过15位的数字单元格(%s),Excel只保留15位有效数字;请把该列设为文本后重新导出", v),
			fmt.Sprintf("%s is a number cell of more than 15 digits, and Excel keeps only 15; format the column as text and export again", q)
	case idBool:
		return "ID是逻辑值(TRUE/FALSE)单元格;请填写ID文本", "a TRUE/FALSE cell is not an ID; write the ID as text"
	case idError:
		return fmt.Sprintf("单元格是Excel错误值(%s);请修正公式或直接填写ID", v),
			fmt.Sprintf("%s is an Excel error value; fix the formula or write the ID", q)
	case idTooLong:
		n := utf8.RuneCountInString(t)
		return fmt.Sprintf("ID长%d个字符,超过上限%d", n, maxLen), fmt.Sprintf("the ID is %d characters long; at most %d are allowed", n, maxLen)
	}
	pos, r := badRune(t, fault)
	switch fault {
	case idControl:
		return fmt.Sprintf("ID第%d个字符是控制字符或不可见字符(U+%04X);请删除", pos, r),
			fmt.Sprintf("character %d of the ID is a control or invisible character (U+%04X); delete it", pos, r)
	case idSpace:
		return fmt.Sprintf("ID第%d个字符是特殊空格(U+%04X,如不换行空格);请删除", pos, r),
			fmt.Sprintf("character %d of the ID is a special space (U+%04X, e.g. a no-break space); delete it", pos, r)
	case idFullWidth:
		return fmt.Sprintf("ID第%d个字符是全角或非ASCII数字/字母(%q);请改为半角", pos, r),
			fmt.Sprintf("character %d of the ID is a full-width or non-ASCII digit or letter (%q); write it in half-width ASCII", pos, r)
	}
	return fmt.Sprintf("ID第%d个字符是表情、符号或无法识别的字符(U+%04X);ID只能含字母、数字和标点", pos, r),
		fmt.Sprintf("character %d of the ID is an emoji, symbol or unreadable character (U+%04X); an ID holds letters, digits and punctuation", pos, r)
}

// idCode is the reason code of an ID fault.
func idCode(fault idFault) string {
	if fault == idTooLong {
		return crmsync.ReasonIDTooLong
	}
	return crmsync.ReasonIDFormat
}

// badRune finds the first character of t behind fault, counting from 1.
func badRune(t string, fault idFault) (int, rune) {
	n := 0
	for _, r := range t {
		n++
		if idChars(string(r)) == fault {
			return n, r
		}
	}
	return 0, 0
}

func (p *fieldParser) optID(name string) *string {
	if t := p.id(name); t != "" {
		return at(p.arena, strSlab, t)
	}
	return nil
}

// freeText returns a free-text cell (a remark, a description) after
// checkText.
func (p *fieldParser) freeText(name string) (string, bool) {
	f, v, ok := p.text(name)
	if !ok {
		return "", false
	}
	switch checkText(v, f.MaxLen) {
	case textControl:
		pos, r := 0, rune(0)
		for _, c := range v {
			pos++
			if checkText(string(c), 0) == textControl {
				r = c
				break
			}
		}
		p.fail(name, crmsync.ReasonText, v, fmt.Sprintf("第%d个字符是控制字符或方向控制符(U+%04X);请删除它(换行和制表符可以保留)", pos, r),
			fmt.Sprintf("character %d is a control character or a direction override (U+%04X); delete it (line breaks and tabs may stay)", pos, r))
		return "", false
	case textBroken:
		p.fail(name, crmsync.ReasonText, v, "含有乱码字符(U+FFFD),文件编码可能有误;请以UTF-8或GBK重新导出",
			"holds U+FFFD, the mark of text decoded in the wrong encoding; export the file again as UTF-8 or GBK")
		return "", false
	case textTooLong:
		n := utf8.RuneCountInString(v)
		p.fail(name, crmsync.ReasonTextTooLong, "", fmt.Sprintf("长%d个字符,超过上限%d", n, f.MaxLen), fmt.Sprintf("is %d characters long; at most %d are allowed", n, f.MaxLen))
		return "", false
	}
	return v, true
}

func (p *fieldParser) optText(name string) *string {
	if v, ok := p.freeText(name); ok {
		return at(p.arena, strSlab, v)
	}
	return nil
}

func (p *fieldParser) optURLText(name string) *mallcoo.URLText {
	if v, ok := p.freeText(name); ok {
		return at(p.arena, urlSlab, mallcoo.URLText(v))
	}
	return nil
}

func (p *fieldParser) amount(name string) mallcoo.Amount {
	a, _ := p.amountOf(name)
	return a
}

func (p *fieldParser) optAmount(name string) *mallcoo.Amount {
	if a, ok := p.amountOf(name); ok {
		return at(p.arena, amountSlab, a)
	}
	return nil
}

// amountOf reads an amount field; false when it is empty or has a problem.
func (p *fieldParser) amountOf(name string) (mallcoo.Amount, bool) {
	f, v, ok := p.text(name)
	if !ok {
		return "", false
	}
	ct := p.typeOf(name)
	a, err := parseAmount(v, ct)
	if err != nil {
		zh, en := amountReason(v, ct, err)
		p.fail(name, crmsync.ReasonAmount, v, zh, en)
		return "", false
	}
	if f.Cents && a.Decimals() > 2 {
		zh, en := centsReason(v, ct)
		p.fail(name, crmsync.ReasonAmountCents, v, zh, en)
		return "", false
	}
	return a, true
}

// centsReason says that an amount of money has more decimal places than
// fen allow, and where such a value comes from.
func centsReason(v string, ct cellType) (zh, en string) {
	sv, q := shown(v), fmt.Sprintf("%q", shown(v))
	if ct == cellNumber {
		return fmt.Sprintf("金额最多两位小数(分),单元格的值是 %s(表格里显示的可能是四舍五入后的值,如公式结果);请在CRM中把金额取整到分后重新导出", sv),
			fmt.Sprintf("an amount of money has at most two decimal places (fen); the cell holds %s (the sheet may show it rounded, e.g. a formula's result); round it to fen in the CRM and export again", q)
	}
	return fmt.Sprintf("金额最多两位小数(分),不能是 %s;请在CRM中把金额取整到分后重新导出", sv),
		fmt.Sprintf("an amount of money has at most two decimal places (fen), not %s; round it to fen in the CRM and export again", q)
}

// amountReason says what is wrong with an amount cell and what to write.
func amountReason(v string, ct cellType, err error) (zh, en string) {
	sv, q := shown(v), fmt.Sprintf("%q", shown(v))
	var ae *mallcoo.AmountError
	fault := mallcoo.NotANumber
	if errors.As(err, &ae) {
		fault = ae.Fault
	}
	switch {
	case ct == cellBool:
		return "逻辑值(TRUE/FALSE)不是金额;请填写数字,如 1280.50", "a TRUE/FALSE cell is not an amount; write a number like 1280.50"
	case ct == cellError || isExcelError(v):
		return fmt.Sprintf("单元格是Excel错误值(%s);请修正公式或直接填写金额,如 1280.50", sv),
			fmt.Sprintf("%s is an Excel error value; fix the formula or write the amount, like 1280.50", q)
	case ct == cellLongNumber:
		return fmt.Sprintf("数字单元格超过15位有效数字(%s),Excel无法精确保存;请把该列设为文本后重新导出", sv),
			fmt.Sprintf("%s is a number cell of more than the 15 significant digits Excel keeps exactly; format the column as text and export again", q)
	}
	switch fault {
	case mallcoo.BadGrouping:
		return fmt.Sprintf("千位分隔符位置不对(%s):每个逗号后须恰好三位数字,小数点用“.”;请写成 1280.50 或 1,280.50", sv),
			fmt.Sprintf("%s has thousands separators out of place (each ',' is followed by exactly three digits; the decimal point is '.'); write 1280.50 or 1,280.50", q)
	case mallcoo.BadSign:
		return fmt.Sprintf("正负号有误(%s):最多一个,写在最前;请写成如 -5 或 5", sv),
			fmt.Sprintf("%s has more than one sign or a misplaced one; write one leading sign, like -5", q)
	case mallcoo.Exponent:
		return fmt.Sprintf("金额是科学计数法(%s);请写成如 1280.50", sv), fmt.Sprintf("%s is in scientific notation; write it like 1280.50", q)
	case mallcoo.Percent:
		return fmt.Sprintf("金额不能是百分比(%s);请写成如 12.50", sv), fmt.Sprintf("%s is a percentage, not an amount; write it like 12.50", q)
	case mallcoo.InnerSpace:
		return fmt.Sprintf("金额中间有空格(%s);请删除空格,写成如 1234 或 1,234", sv),
			fmt.Sprintf("%s has a space inside; write it without, like 1234 or 1,234", q)
	case mallcoo.TooLong:
		return fmt.Sprintf("金额位数过多(%s),最多%d个字符", sv, mallcoo.MaxAmountLen),
			fmt.Sprintf("%s has too many digits (at most %d characters)", q, mallcoo.MaxAmountLen)
	}
	return fmt.Sprintf("不是有效的数字(%s),请写成如 1280.50", sv), fmt.Sprintf("%s is not a valid number; write it like 1280.50", q)
}

func (p *fieldParser) time(name string) mallcoo.LocalTime {
	t, _ := p.timeOf(name)
	return t
}

func (p *fieldParser) optTime(name string) *mallcoo.LocalTime {
	if t, ok := p.timeOf(name); ok {
		return at(p.arena, timeSlab, t)
	}
	return nil
}

// timeOf reads a date-time field; false when it is empty or has a problem.
func (p *fieldParser) timeOf(name string) (mallcoo.LocalTime, bool) {
	_, v, ok := p.text(name)
	if !ok {
		return mallcoo.LocalTime{}, false
	}
	if p.typeOf(name) == cellDate && offsetRE.MatchString(v) {
		// A t="d" cell with a time zone: what it shows depends on the
		// program opening it (dateCellText).
		v = shown(v)
		p.fail(name, crmsync.ReasonDateTime, v, fmt.Sprintf("日期单元格带时区(%s),不同软件显示的时间不同,无法确定;请写成中国时间,不带时区,如 2024-11-01 10:05:03", v),
			fmt.Sprintf("%q is a date cell with a time zone, which spreadsheet programs show differently (LibreOffice as UTC): write it as China time without a zone, e.g. 2024-11-01 10:05:03", v))
		return mallcoo.LocalTime{}, false
	}
	t, err := parseDateTime(v)
	if err != nil {
		v = shown(v)
		p.fail(name, crmsync.ReasonDateTime, v, fmt.Sprintf("不是有效的日期时间(%s),请写成 2024-11-01 10:05:03", v),
			fmt.Sprintf("%q is not a valid date and time; write it as 2024-11-01 10:05:03", v))
		return mallcoo.LocalTime{}, false
	}
	if dateOnly(v, t) {
		zh := fmt.Sprintf("只有日期没有时间(%s),按 00:00:00 发送;请导出完整的日期时间,如 2024-11-01 10:05:03", v)
		en := fmt.Sprintf("%q is a date without a time of day: sent as 00:00:00; export the full date and time, e.g. 2024-11-01 10:05:03", v)
		if p.strict {
			zh = fmt.Sprintf("只有日期没有时间(%s),请导出完整的日期时间,如 2024-11-01 10:05:03", v)
			en = fmt.Sprintf("%q is a date without a time of day (strict_datetime); export the full date and time, e.g. 2024-11-01 10:05:03", v)
			p.fail(name, crmsync.ReasonDateOnly, v, zh, en)
			return mallcoo.LocalTime{}, false
		}
		p.warn(name, crmsync.ReasonDateOnly, zh, en)
	}
	return mallcoo.LocalTime{Time: t}, true
}

// dateOnly reports whether the cell text s, read as t, holds a date alone:
// midnight, and no time of day written (no ':', not the 14 digits of
// yyyyMMddHHmmss, not an Excel serial with a fraction).
func dateOnly(s string, t time.Time) bool {
	if t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0 || strings.ContainsAny(s, ":：") {
		return false
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !strings.ContainsAny(s, "-/年"):
			return false // an Excel serial with a time fraction
		}
	}
	return digits <= 8
}

// optNumberText reads a text field that holds a number when it is one
// (Field.Number: over-limit Value and RuleValue): a number is sent in
// canonical form ("5,000" → "5000", "3000.0" → "3000"), other text as
// written.
func (p *fieldParser) optNumberText(name string) *string {
	v := p.optText(name)
	if v == nil {
		return nil
	}
	if a, err := mallcoo.ParseAmount(*v); err == nil {
		return at(p.arena, strSlab, string(a))
	}
	return v
}

func (p *fieldParser) integer(name string) (int64, bool) {
	f, v, ok := p.text(name)
	if !ok {
		return 0, false
	}
	var m map[string]string
	if p.mappings != nil {
		m = p.mappings(name)
	}
	n, err := parseEnum(f, v, m)
	if err != nil {
		v = shown(v)
		if len(f.Enum) > 0 {
			zh, en := f.Enum.Text("zh", ", "), f.Enum.Text("en", ", ")
			if f.Closed {
				p.fail(name, crmsync.ReasonNotAllowed, v, fmt.Sprintf("不是允许的值(%s),可填: %s", v, zh), fmt.Sprintf("%q is not an allowed value; use one of: %s", v, en))
			} else {
				p.fail(name, crmsync.ReasonUnmapped, v, fmt.Sprintf("不是整数代码(%s),可填如: %s,或在配置中映射该词", v, zh),
					fmt.Sprintf("%q is not an integer code (e.g. %s); or map the word in the config", v, en))
			}
		} else {
			code := crmsync.ReasonUnmapped // a word: a mapping in the config fixes it
			if intRE.MatchString(v) {
				code = crmsync.ReasonNotInteger
			}
			p.fail(name, code, v, fmt.Sprintf("不是整数(%s),或请在配置中映射该词", v), fmt.Sprintf("%q is not an integer; or map the word in the config", v))
		}
		return 0, false
	}
	return n, true
}

func (p *fieldParser) enum(name string) int {
	n, _ := p.integer(name)
	return int(n)
}

func (p *fieldParser) optInt(name string) *int {
	if n, ok := p.integer(name); ok {
		return at(p.arena, intSlab, int(n))
	}
	return nil
}

func (p *fieldParser) optLong(name string) *int64 {
	if n, ok := p.integer(name); ok {
		return at(p.arena, longSlab, n)
	}
	return nil
}

// built is what a kind's builder makes of a row.
type built struct {
	body     any
	key      string // natural key
	lane     string
	time     time.Time
	warnings []crmsync.Problem
}

// rowInput is one data row with the context its builder needs.
type rowInput struct {
	p        *fieldParser
	bizDate  string // member: the BusinessDate cell, if any
	fileDate *time.Time
	now      func() time.Time
	lists    map[string]*listSource // score-v2: sibling lists by list field
	values   []string               // for list fields' display text
	bodies   *bodies                // room for the body built; nil: the heap
}

// bodies is a sheet's room for the body of the row being built (one of each
// wire type) and its built: the body is encoded before the next row is read
// and not kept, so it costs no allocation.
type bodies struct {
	b         built
	member    mallcoo.MemberNotice
	grade     mallcoo.GradeInform
	score     mallcoo.ScoreInform
	scoreV2   mallcoo.ScoreInformV2
	overLimit mallcoo.OverLimitInform
	bonus     mallcoo.BonusChange
	verify    mallcoo.VerifyInform
	invalid   mallcoo.InvalidInform
}

// room returns in's room for a body.
func (in *rowInput) room() *bodies {
	if in.bodies == nil {
		return new(bodies)
	}
	return in.bodies
}

// kept copies v to slot, its room, and returns slot.
func kept[T any](slot *T, v T) *T {
	*slot = v
	return slot
}

func build(k crmsync.Kind, in *rowInput) (*built, []crmsync.Problem) {
	p := in.p
	room := in.room()
	var b *built
	switch k {
	case crmsync.KindMember:
		b = buildMember(in)
	case crmsync.KindGrade:
		v := mallcoo.GradeInform{
			ThirdPartyCardID:  p.id("ThirdPartyCardID"),
			BeforeCardCode:    p.id("BeforeCardCode"),
			AfterCardCode:     p.id("AfterCardCode"),
			ChangeType:        p.enum("ChangeType"),
			ChangeTime:        p.time("ChangeTime"),
			Remark:            p.optText("Remark"),
			GradeChangeRuleID: p.optLong("GradeChangeRuleID"),
			GradeChangeType:   p.optInt("GradeChangeType"),
			GradeChangeID:     p.optID("GradeChangeID"),
		}
		key := v.ThirdPartyCardID + "|" + v.ChangeTime.In(mallcoo.CST).Format(mallcoo.DateTimeLayout) + "|" + v.AfterCardCode
		if v.GradeChangeID != nil {
			key = *v.GradeChangeID
		}
		b = kept(&room.b, built{body: kept(&room.grade, v), key: key, lane: v.ThirdPartyCardID, time: v.ChangeTime.Time})
	case crmsync.KindScore:
		v := mallcoo.ScoreInform{
			TransID:          p.id("TransID"),
			ThirdPartyCardID: p.id("ThirdPartyCardID"),
			ScoreEvent:       p.enum("ScoreEvent"),
			TradeTime:        p.time("TradeTime"),
			TradeAmount:      p.amount("TradeAmount"),
			CrmShopID:        p.id("CrmShopID"),
			TradeSerialNo:    p.optID("TradeSerialNo"),
			PosID:            p.optID("PosID"),
			ReturnTime:       p.optTime("ReturnTime"),
			ReturnAmount:     p.optAmount("ReturnAmount"),
			Score:            p.amount("Score"),
			PayType:          p.optInt("PayType"),
		}
		checkScore(p, v.ScoreEvent, &v.ReturnTime, &v.ReturnAmount, v.Score)
		b = kept(&room.b, built{body: kept(&room.score, v), key: v.TransID, lane: v.ThirdPartyCardID, time: mallcoo.ScoreTime(v.ScoreEvent, v.TradeTime, v.ReturnTime)})
	case crmsync.KindScoreV2:
		b = buildScoreV2(in)
	case crmsync.KindOverLimit:
		v := mallcoo.OverLimitInform{
			RefID:                p.id("RefID"),
			ShopCode:             p.optID("ShopCode"),
			Value:                p.optNumberText("Value"),
			RuleValue:            p.optNumberText("RuleValue"),
			BonusAction:          p.optInt("BonusAction"),
			CurBonusAction:       p.optInt("CurBonusAction"),
			BonusLimitSceneType:  p.optInt("BonusLimitSceneType"),
			BonusLimitObjType:    p.optInt("BonusLimitObjType"),
			BonusLimitActionType: p.optInt("BonusLimitActionType"),
			BonusLimitTimeType:   p.optInt("BonusLimitTimeType"),
			Desc:                 p.optURLText("Desc"),
		}
		action := ""
		if v.BonusAction != nil {
			action = fmt.Sprint(*v.BonusAction)
		}
		b = kept(&room.b, built{body: kept(&room.overLimit, v), key: v.RefID + "|" + action, lane: v.RefID})
	case crmsync.KindBonus:
		v := mallcoo.BonusChange{
			ThirdPartyCardID: p.id("ThirdPartyCardID"),
			BonusAction:      p.enum("BonusAction"),
			GetBonus:         p.amount("GetBonus"),
			AfterBonus:       p.amount("AfterBonus"),
			RefID:            p.id("RefID"),
			CreateTime:       p.time("CreateTime"),
			Desc:             p.optURLText("Desc"),
		}
		b = kept(&room.b, built{body: kept(&room.bonus, v), key: v.RefID + "|" + v.ThirdPartyCardID, lane: v.ThirdPartyCardID, time: v.CreateTime.Time})
	case crmsync.KindVerify:
		v := mallcoo.VerifyInform{
			RefID:             p.id("RefID"),
			BonusAction:       p.enum("BonusAction"),
			Bonus:             p.amount("Bonus"),
			CurrentBonus:      p.amount("CurrentBonus"),
			BonusVerifyStatus: p.enum("BonusVerifyStatus"),
			BonusVerifyTime:   p.time("BonusVerifyTime"),
			Desc:              p.optURLText("Desc"),
		}
		b = kept(&room.b, built{body: kept(&room.verify, v), key: v.RefID, lane: v.RefID, time: v.BonusVerifyTime.Time})
	case crmsync.KindInvalid:
		v := mallcoo.InvalidInform{
			RefID:       p.id("RefID"),
			BonusAction: p.enum("BonusAction"),
			Desc:        p.optURLText("Desc"),
		}
		b = kept(&room.b, built{body: kept(&room.invalid, v), key: v.RefID, lane: v.RefID})
	default:
		panic("importer: no builder for kind " + string(k))
	}
	if p.failed() {
		return nil, p.probs
	}
	b.warnings = append(p.warnings, b.warnings...)
	if !b.time.IsZero() {
		b.time = b.time.In(mallcoo.CST)
	}
	return b, nil
}

func buildMember(in *rowInput) *built {
	p := in.p
	card := p.id("ThirdPartyCardID")
	_, mob, _ := p.text("Mobile")
	var v mallcoo.MemberNotice
	lane := ""
	if card != "" {
		v.ThirdPartyCardID = at(p.arena, strSlab, card)
		lane = card
	}
	if mob != "" {
		m, ok := cleanMobile(mob)
		if !ok {
			p.fail("Mobile", crmsync.ReasonMobile, mob, fmt.Sprintf("不是有效的11位手机号(%s)", shown(mob)), fmt.Sprintf("%q is not an 11-digit mainland mobile number", shown(mob)))
			return nil
		}
		v.Mobile = at(p.arena, strSlab, m)
		if lane == "" {
			lane = "m:" + m
		}
	}
	if p.failed() {
		return nil
	}
	if lane == "" {
		p.fail("ThirdPartyCardID", crmsync.ReasonCardOrMobile, "", "第三方会员ID和手机号至少填一个", "fill in ThirdPartyCardID or Mobile")
		return nil
	}
	var day time.Time
	switch {
	case in.bizDate != "":
		t, err := parseDateTime(in.bizDate)
		if err != nil {
			p.fail(colBizDate, crmsync.ReasonBusinessDate, in.bizDate, fmt.Sprintf("业务日期不是有效的日期(%s)", shown(in.bizDate)),
				fmt.Sprintf("%q is not a valid business date", shown(in.bizDate)))
			return nil
		}
		day = t.In(mallcoo.CST)
	case in.fileDate != nil:
		day = *in.fileDate
	default:
		day = in.now().In(mallcoo.CST)
	}
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, mallcoo.CST)
	room := in.room()
	return kept(&room.b, built{body: kept(&room.member, v), key: lane + "|" + day.Format("2006-01-02"), lane: lane, time: day})
}

// checkScore applies the rules of the score kinds (mallcoo.CheckScore) to
// a row: an error makes the row invalid, a warning goes to the report. A
// sale's return fields are cleared: they are not sent.
func checkScore(p *fieldParser, event int, rt **mallcoo.LocalTime, ra **mallcoo.Amount, score mallcoo.Amount) {
	if p.failed() {
		return
	}
	s := mallcoo.Score{Event: event, HasReturnTime: *rt != nil, Score: score}
	if *ra != nil {
		s.ReturnAmount = **ra
	}
	for _, b := range mallcoo.CheckScore(s) {
		if !b.Warning {
			p.fail(b.Field, crmsync.ReasonRule, "", b.ZH, b.EN)
			return
		}
		p.warn(b.Field, crmsync.ReasonRule, b.ZH, b.EN)
	}
	if event == mallcoo.ScoreSale {
		*rt, *ra = nil, nil
	}
}

func buildScoreV2(in *rowInput) *built {
	p := in.p
	v := mallcoo.ScoreInformV2{
		TransID:          p.id("TransID"),
		ThirdPartyCardID: p.id("ThirdPartyCardID"),
		ScoreEvent:       p.enum("ScoreEvent"),
		TradeTime:        p.time("TradeTime"),
		PayAmount:        p.amount("PayAmount"),
		CrmShopID:        p.id("CrmShopID"),
		TradeSerialNo:    p.optID("TradeSerialNo"),
		PosID:            p.optID("PosID"),
		ReturnTime:       p.optTime("ReturnTime"),
		ReturnAmount:     p.optAmount("ReturnAmount"),
		Score:            p.amount("Score"),
		TotalAmount:      p.optAmount("TotalAmount"),
		PromotionAmount:  p.optAmount("PromotionAmount"),
	}
	joinLists(in, v.TransID)
	if !p.failed() {
		v.ConsumePromotionList = readList[mallcoo.Promotion](in, "ConsumePromotionList", v.TransID)
	}
	if !p.failed() {
		v.ConsumePayList = readList[mallcoo.Payment](in, "ConsumePayList", v.TransID)
	}
	checkScore(p, v.ScoreEvent, &v.ReturnTime, &v.ReturnAmount, v.Score)
	room := in.room()
	b := kept(&room.b, built{body: kept(&room.scoreV2, v), key: v.TransID, lane: v.ThirdPartyCardID, time: mallcoo.ScoreTime(v.ScoreEvent, v.TradeTime, v.ReturnTime)})
	if !p.failed() && v.TotalAmount != nil {
		promo := mallcoo.Amount("0")
		if v.PromotionAmount != nil {
			promo = *v.PromotionAmount
		}
		if sum := addAmounts(v.PayAmount, promo); sum.Cmp(ratOf(*v.TotalAmount)) != 0 {
			s := sum.FloatString(8)
			s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
			b.warnings = append(b.warnings, crmsync.NewProblem("", crmsync.ReasonRule, "", // the text names the fields
				fmt.Sprintf("订单总金额(%s)不等于支付金额+优惠金额(%s+%s=%s)", *v.TotalAmount, v.PayAmount, promo, s),
				fmt.Sprintf("TotalAmount %s is not PayAmount + PromotionAmount (%s + %s = %s)", *v.TotalAmount, v.PayAmount, promo, s)))
		}
	}
	return b
}

func ratOf(a mallcoo.Amount) *big.Rat {
	r, ok := new(big.Rat).SetString(string(a))
	if !ok {
		return new(big.Rat)
	}
	return r
}

func addAmounts(a, b mallcoo.Amount) *big.Rat {
	return new(big.Rat).Add(ratOf(a), ratOf(b))
}
