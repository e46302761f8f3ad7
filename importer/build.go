package importer

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// fieldParser reads the typed values of one row (or one list item) and
// keeps the first problem; after a problem every read returns a zero value.
type fieldParser struct {
	fields   []mallcoo.Field
	vals     []string
	xlsx     bool
	mappings func(field string) map[string]string
	prob     *crmsync.Problem
	column   string // when set, problems are reported on this column (list items)
	prefix   [2]string
	// strict makes a date alone where a datetime is due a problem rather
	// than a warning (strict_datetime).
	strict   bool
	warnings []string
}

// warn adds a warning about field name: the row is sent, the report says
// why a person may want to look.
func (p *fieldParser) warn(name, zh, en string) {
	p.warnings = append(p.warnings, reason(name+": "+zh, name+": "+en))
}

func (p *fieldParser) fail(name, zh, en string) {
	if p.prob != nil {
		return
	}
	col := name
	if p.column != "" {
		col = p.column
		zh, en = p.prefix[0]+name+": "+zh, p.prefix[1]+name+": "+en
	}
	p.prob = &crmsync.Problem{Column: col, Reason: reason(zh, en)}
}

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
	if p.prob != nil {
		return f, "", false
	}
	if v == "" {
		if f.Required {
			p.fail(name, fmt.Sprintf("%s(%s)必填,不能为空", f.Label, f.Name), fmt.Sprintf("%s is required, but empty", f.Name))
		}
		return f, "", false
	}
	return f, v, true
}

func (p *fieldParser) id(name string) string {
	_, v, ok := p.text(name)
	if !ok {
		return ""
	}
	t, ok := cleanID(v, p.xlsx)
	if !ok {
		p.fail(name, fmt.Sprintf("ID被Excel转成了科学计数法(%s),请把该列设为文本后重新导出", t),
			"Excel turned this ID into scientific notation; format the column as text and export again")
		return ""
	}
	if t == "" {
		if f, _ := p.lookup(name); f.Required {
			p.fail(name, "必填,不能为空", "required, but empty")
		}
	}
	return t
}

func (p *fieldParser) optID(name string) *string {
	if t := p.id(name); t != "" {
		return &t
	}
	return nil
}

func (p *fieldParser) optText(name string) *string {
	if _, v, ok := p.text(name); ok {
		return &v
	}
	return nil
}

func (p *fieldParser) optURLText(name string) *mallcoo.URLText {
	if _, v, ok := p.text(name); ok {
		t := mallcoo.URLText(v)
		return &t
	}
	return nil
}

func (p *fieldParser) amount(name string) mallcoo.Amount {
	if a := p.optAmount(name); a != nil {
		return *a
	}
	return ""
}

func (p *fieldParser) optAmount(name string) *mallcoo.Amount {
	_, v, ok := p.text(name)
	if !ok {
		return nil
	}
	a, err := parseAmount(v, p.xlsx)
	if err != nil {
		p.fail(name, fmt.Sprintf("不是有效的数字(%s),请写成如 1280.50", v), fmt.Sprintf("%q is not a valid number; write it like 1280.50", v))
		return nil
	}
	return &a
}

func (p *fieldParser) time(name string) mallcoo.LocalTime {
	if t := p.optTime(name); t != nil {
		return *t
	}
	return mallcoo.LocalTime{}
}

func (p *fieldParser) optTime(name string) *mallcoo.LocalTime {
	_, v, ok := p.text(name)
	if !ok {
		return nil
	}
	t, err := parseDateTime(v)
	if err != nil {
		p.fail(name, fmt.Sprintf("不是有效的日期时间(%s),请写成 2024-11-01 10:05:03", v),
			fmt.Sprintf("%q is not a valid date and time; write it as 2024-11-01 10:05:03", v))
		return nil
	}
	if dateOnly(v, t) {
		zh := fmt.Sprintf("只有日期没有时间(%s),按 00:00:00 发送;请导出完整的日期时间,如 2024-11-01 10:05:03", v)
		en := fmt.Sprintf("%q is a date without a time of day: sent as 00:00:00; export the full date and time, e.g. 2024-11-01 10:05:03", v)
		if p.strict {
			zh = fmt.Sprintf("只有日期没有时间(%s),请导出完整的日期时间,如 2024-11-01 10:05:03", v)
			en = fmt.Sprintf("%q is a date without a time of day (strict_datetime); export the full date and time, e.g. 2024-11-01 10:05:03", v)
			p.fail(name, zh, en)
			return nil
		}
		p.warn(name, zh, en)
	}
	return &mallcoo.LocalTime{Time: t}
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
		t := string(a)
		return &t
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
		if len(f.Enum) > 0 {
			zh, en := enumList(f)
			if f.Closed {
				p.fail(name, fmt.Sprintf("不是允许的值(%s),可填: %s", v, zh), fmt.Sprintf("%q is not an allowed value; use one of: %s", v, en))
			} else {
				p.fail(name, fmt.Sprintf("不是整数代码(%s),可填如: %s,或在配置中映射该词", v, zh),
					fmt.Sprintf("%q is not an integer code (e.g. %s); or map the word in the config", v, en))
			}
		} else {
			p.fail(name, fmt.Sprintf("不是整数(%s),或请在配置中映射该词", v), fmt.Sprintf("%q is not an integer; or map the word in the config", v))
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
		v := int(n)
		return &v
	}
	return nil
}

func (p *fieldParser) optLong(name string) *int64 {
	if n, ok := p.integer(name); ok {
		return &n
	}
	return nil
}

// built is what a kind's builder makes of a row.
type built struct {
	body     any
	key      string // natural key
	lane     string
	time     time.Time
	warnings []string
}

// rowInput is one data row with the context its builder needs.
type rowInput struct {
	p        *fieldParser
	bizDate  string // member: the BusinessDate cell, if any
	fileDate *time.Time
	now      func() time.Time
	lists    map[string]*listSource // score-v2: sibling lists by list field
	values   []string               // for list fields' display text
}

func build(k crmsync.Kind, in *rowInput) (*built, *crmsync.Problem) {
	p := in.p
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
		b = &built{body: v, key: key, lane: v.ThirdPartyCardID, time: v.ChangeTime.Time}
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
		b = &built{body: v, key: v.TransID, lane: v.ThirdPartyCardID, time: scoreTime(v.ScoreEvent, v.TradeTime, v.ReturnTime)}
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
		b = &built{body: v, key: v.RefID + "|" + action, lane: v.RefID}
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
		b = &built{body: v, key: v.RefID + "|" + v.ThirdPartyCardID, lane: v.ThirdPartyCardID, time: v.CreateTime.Time}
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
		b = &built{body: v, key: v.RefID, lane: v.RefID, time: v.BonusVerifyTime.Time}
	case crmsync.KindInvalid:
		v := mallcoo.InvalidInform{
			RefID:       p.id("RefID"),
			BonusAction: p.enum("BonusAction"),
			Desc:        p.optURLText("Desc"),
		}
		b = &built{body: v, key: v.RefID, lane: v.RefID}
	default:
		panic("importer: no builder for kind " + string(k))
	}
	if p.prob != nil {
		return nil, p.prob
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
	if p.prob != nil {
		return nil
	}
	var v mallcoo.MemberNotice
	lane := ""
	if card != "" {
		v.ThirdPartyCardID = &card
		lane = card
	}
	if mob != "" {
		m, ok := cleanMobile(mob)
		if !ok {
			p.fail("Mobile", fmt.Sprintf("不是有效的11位手机号(%s)", mob), fmt.Sprintf("%q is not an 11-digit mainland mobile number", mob))
			return nil
		}
		v.Mobile = &m
		if lane == "" {
			lane = "m:" + m
		}
	}
	if lane == "" {
		p.fail("ThirdPartyCardID", "第三方会员ID和手机号至少填一个", "fill in ThirdPartyCardID or Mobile")
		return nil
	}
	var day time.Time
	switch {
	case in.bizDate != "":
		t, err := parseDateTime(in.bizDate)
		if err != nil {
			p.prob = &crmsync.Problem{Column: colBizDate, Reason: reason(fmt.Sprintf("业务日期不是有效的日期(%s)", in.bizDate),
				fmt.Sprintf("%q is not a valid business date", in.bizDate))}
			return nil
		}
		day = t.In(mallcoo.CST)
	case in.fileDate != nil:
		day = *in.fileDate
	default:
		day = in.now().In(mallcoo.CST)
	}
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, mallcoo.CST)
	return &built{body: v, key: lane + "|" + day.Format("2006-01-02"), lane: lane, time: day}
}

// checkScore applies the rules of the score kinds (mallcoo.CheckScore) to
// a row: an error makes the row invalid, a warning goes to the report. A
// sale's return fields are cleared: they are not sent.
func checkScore(p *fieldParser, event int, rt **mallcoo.LocalTime, ra **mallcoo.Amount, score mallcoo.Amount) {
	if p.prob != nil {
		return
	}
	s := mallcoo.Score{Event: event, HasReturnTime: *rt != nil, Score: score}
	if *ra != nil {
		s.ReturnAmount = **ra
	}
	for _, b := range mallcoo.CheckScore(s) {
		if !b.Warning {
			p.fail(b.Field, b.ZH, b.EN)
			return
		}
		p.warn(b.Field, b.ZH, b.EN)
	}
	if event == 1 {
		*rt, *ra = nil, nil
	}
}

func scoreTime(event int, trade mallcoo.LocalTime, ret *mallcoo.LocalTime) time.Time {
	if event == 2101 && ret != nil {
		return ret.Time
	}
	return trade.Time
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
	if p.prob == nil {
		v.ConsumePromotionList = readList[mallcoo.Promotion](in, "ConsumePromotionList", v.TransID)
	}
	if p.prob == nil {
		v.ConsumePayList = readList[mallcoo.Payment](in, "ConsumePayList", v.TransID)
	}
	checkScore(p, v.ScoreEvent, &v.ReturnTime, &v.ReturnAmount, v.Score)
	b := &built{body: v, key: v.TransID, lane: v.ThirdPartyCardID, time: scoreTime(v.ScoreEvent, v.TradeTime, v.ReturnTime)}
	if p.prob == nil && v.TotalAmount != nil {
		promo := mallcoo.Amount("0")
		if v.PromotionAmount != nil {
			promo = *v.PromotionAmount
		}
		if sum := addAmounts(v.PayAmount, promo); sum.Cmp(ratOf(*v.TotalAmount)) != 0 {
			s := sum.FloatString(8)
			s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
			b.warnings = append(b.warnings, reason(
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
