package report

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// maxCauseKeys bounds the distinct causes a report keeps while it counts:
// past it, a new cause groups on its code and column alone (a million rows
// each with its own bad amount cost no memory).
const maxCauseKeys = 10000

type causeKey struct {
	outcome             crmsync.Outcome
	code, column, value string
}

// causes counts the rows that need a person by cause.
type causes struct {
	l lang
	m map[causeKey]*crmsync.Cause
}

func newCauses(l lang) *causes { return &causes{l: l, m: map[causeKey]*crmsync.Cause{}} }

// add counts result r of kind k: each problem of an invalid row in its own
// cause; a row of another outcome that needs a person in the cause of its
// outcome (a rejection by Mallcoo's Code).
func (c *causes) add(k crmsync.Kind, r *crmsync.Result) {
	if !r.Outcome.NeedsPerson() {
		return
	}
	if r.Outcome != crmsync.OutcomeInvalid {
		value := ""
		if r.Outcome == crmsync.OutcomeRejected && r.HasCode {
			value = strconv.Itoa(r.Code)
		}
		c.count(k, r, causeKey{r.Outcome, string(r.Outcome), "", value})
		return
	}
	for _, p := range r.Problems() {
		value := p.Value
		switch {
		case mallcoo.PersonalField(p.Column) != mallcoo.NotPersonal, p.Column == colEventIDName:
			value = "" // never a member's card ID or mobile
		case p.Code == crmsync.ReasonIDFormat, p.Code == crmsync.ReasonIDTooLong:
			value = "" // each row's ID is its own: the cause is the column's format
		}
		code := p.Code
		if code == "" {
			code = string(crmsync.OutcomeInvalid)
		}
		c.count(k, r, causeKey{r.Outcome, code, p.Column, value})
	}
}

// colEventIDName is the EventID column of the problems workbook: a key,
// grouped without its value.
const colEventIDName = "EventID"

func (c *causes) count(k crmsync.Kind, r *crmsync.Result, key causeKey) {
	cs := c.m[key]
	if cs == nil && len(c.m) >= maxCauseKeys {
		key.value = ""
		cs = c.m[key]
	}
	if cs == nil {
		first := r.Source
		cs = &crmsync.Cause{Code: key.code, Outcome: key.outcome, Kind: k, Column: key.column, Value: key.value, First: &first}
		cs.Text = c.text(k, cs)
		cs.Fix = c.hint(k, cs)
		c.m[key] = cs
	}
	cs.Count++
}

// codeWords describe a reason code in a few words, for a cause: the
// reason of one row may hold a member's ID, a cause's text never does.
var codeWords = map[string]word{
	crmsync.ReasonRequired:     {"必填但为空", "required, but empty"},
	crmsync.ReasonIDFormat:     {"ID格式有误(被Excel改动或含非法字符)", "not a usable ID (changed by Excel, or characters no ID has)"},
	crmsync.ReasonIDTooLong:    {"ID过长", "ID too long"},
	crmsync.ReasonText:         {"含控制字符或乱码", "control characters or broken text"},
	crmsync.ReasonTextTooLong:  {"文字过长", "text too long"},
	crmsync.ReasonAmount:       {"不是有效的金额", "not a valid amount"},
	crmsync.ReasonDateTime:     {"不是有效的日期时间", "not a valid date and time"},
	crmsync.ReasonDateOnly:     {"只有日期没有时间", "a date without a time"},
	crmsync.ReasonNotAllowed:   {"不是允许的值", "not an allowed value"},
	crmsync.ReasonUnmapped:     {"无对应代码(配置中没有映射)", "no code for this word (no mapping in the config)"},
	crmsync.ReasonNotInteger:   {"不是整数", "not an integer"},
	crmsync.ReasonMobile:       {"不是有效的手机号", "not a valid mobile number"},
	crmsync.ReasonCardOrMobile: {"会员ID和手机号都为空", "neither card ID nor mobile"},
	crmsync.ReasonBusinessDate: {"业务日期无效", "not a valid business date"},
	crmsync.ReasonRule:         {"不符合积分规则", "breaks a score rule"},
	crmsync.ReasonDamaged:      {"含编码损坏的文字(U+FFFD)", "text damaged by a wrong encoding (U+FFFD)"},
	crmsync.ReasonFormula:      {"公式没有计算结果", "a formula without a computed value"},
	crmsync.ReasonExtraCells:   {"单元格比表头多(未加引号的逗号使后面的列错位)", "more cells than the header (a comma without quotes shifted the columns)"},
	crmsync.ReasonList:         {"明细列表有问题", "its item list has a problem"},
	crmsync.ReasonBuild:        {"无法生成请求", "the request could not be made"},
	crmsync.ReasonStoredBody:   {"账本中保存的请求不符合现行规则,未发送", "the body kept in the ledger breaks a rule of this crmsync: not sent"},
}

// text says what a cause is: "支付方式(PayType) “微信”: 无对应代码(配置中没有映射)",
// "被拒绝: 猫酷 Code 3001".
func (c *causes) text(k crmsync.Kind, cs *crmsync.Cause) string {
	l := c.l
	if cs.Outcome != crmsync.OutcomeInvalid {
		t := l.outcome(cs.Outcome)
		if cs.Value != "" {
			mc := "猫酷 Code "
			if l == "en" {
				mc = "Mallcoo Code "
			}
			t += ": " + mc + cs.Value
		}
		return t
	}
	var b strings.Builder
	if cs.Column != "" {
		b.WriteString(columnName(k, cs.Column, l))
		if cs.Value != "" {
			fmt.Fprintf(&b, " %q", cs.Value)
		}
		b.WriteString(": ")
	}
	if w, ok := codeWords[cs.Code]; ok {
		if l == "en" {
			b.WriteString(w.en)
		} else {
			b.WriteString(w.zh)
		}
	} else {
		b.WriteString(l.outcome(cs.Outcome))
	}
	return b.String()
}

// top returns at most n causes, most rows first.
func (c *causes) top(n int) []crmsync.Cause {
	out := make([]crmsync.Cause, 0, len(c.m))
	for _, cs := range c.m {
		out = append(out, *cs)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.First.String() != b.First.String() {
			return a.First.String() < b.First.String()
		}
		return a.Text < b.Text
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// hint is the one action that fixes every row of a cause.
func (c *causes) hint(k crmsync.Kind, cs *crmsync.Cause) string {
	l := c.l
	en := l == "en"
	pick := func(zh, e string) string {
		if en {
			return e
		}
		return zh
	}
	col := columnName(k, cs.Column, l)
	f := mallcoo.SpecOf(k).Field(cs.Column)
	switch cs.Code {
	case crmsync.ReasonUnmapped:
		example := "<code>"
		if f != nil && len(f.Enum) > 0 {
			example = strconv.Itoa(f.Enum[0].Code)
		} else if f != nil && f.Example != "" {
			example = f.Example
		} else if it := exampleOfItem(cs.Column); it != "" {
			example = it
		}
		line := fmt.Sprintf("[mappings.%s] %q = %s", cs.Column, cs.Value, example)
		return pick("在配置文件中加一行 "+line+"(代码按猫酷的枚举填写),然后重新运行;无需逐行修改",
			"add the line "+line+" to the config file (the code from Mallcoo's list) and run again; no row needs editing")
	case crmsync.ReasonNotAllowed:
		return pick(fmt.Sprintf("把%s的 %q 改为允许的值;若CRM固定用这个词,在配置中加 [mappings.%s] %q = <代码>", col, cs.Value, cs.Column, cs.Value),
			fmt.Sprintf("write an allowed value in %s instead of %q; if the CRM always writes this word, add [mappings.%s] %q = <code> to the config", col, cs.Value, cs.Column, cs.Value))
	case crmsync.ReasonRequired:
		return pick(fmt.Sprintf("填写%s;若整列都空,检查CRM导出是否包含此列,或列名是否需要在配置 [columns] 中对应", col),
			fmt.Sprintf("fill in %s; if the whole column is empty, check that the CRM export has it, or map its header in the config's [columns]", col))
	case crmsync.ReasonIDFormat:
		return pick(fmt.Sprintf("在CRM或Excel中把%s列设为文本后重新导出", col),
			fmt.Sprintf("format the %s column as text in the CRM or Excel and export again", col))
	case crmsync.ReasonStoredBody:
		return pick(fmt.Sprintf("在CRM中修正此事件的%s后重新导出并运行(修正后的行会发送);或用 crmsync resolve -as dismiss 放弃", col),
			fmt.Sprintf("fix %s of this event in the CRM, export and run again (the fixed row is sent); or give it up with crmsync resolve -as dismiss", col))
	case crmsync.ReasonDateOnly:
		return pick("导出完整的日期时间(如 2024-11-01 10:05:03),或在配置中关闭 strict_datetime",
			"export the full date and time (2024-11-01 10:05:03), or turn strict_datetime off in the config")
	case crmsync.ReasonFormula:
		return pick("在Excel中打开该文件并保存(公式会算出结果),或让生成文件的程序写入数值,然后重新运行",
			"open the file in Excel and save it (the formulas get their values), or have the program that writes it write values; then run again")
	case crmsync.ReasonExtraCells:
		return pick("让CRM导出时给含逗号的单元格加双引号(或去掉金额的千位逗号),然后重新导出;不要只改错位的行",
			"have the CRM quote cells that hold a comma (or drop the thousands comma of amounts) and export again; do not just edit the shifted rows")
	case crmsync.ReasonDamaged, crmsync.ReasonText:
		return pick("文件编码可能有误:以UTF-8或GBK重新导出,或用 -encoding 指定编码",
			"the file's encoding may be wrong: export it again as UTF-8 or GBK, or name it with -encoding")
	}
	return nextStep(cs.Outcome, false, l)
}

// exampleOfItem is the example code of a list item field of that name
// (score-v2's ConsumePayList PayType).
func exampleOfItem(name string) string {
	for _, k := range crmsync.Kinds {
		for _, it := range items(mallcoo.SpecOf(k)) {
			for _, f := range it.Fields {
				if f.Name == name && f.Example != "" {
					return f.Example
				}
			}
		}
	}
	return ""
}

// NextStep says what a person does about a row of outcome o, in language
// lang: fix the cell, nothing (retry), check Mallcoo, ...; "" for an
// outcome that needs no one. stopped says sending stopped early
// (Summary.Stopped): a failed row then waits for the stop's cause to be
// fixed, not for nothing.
func NextStep(o crmsync.Outcome, stopped bool, lang string) string {
	return nextStep(o, stopped, parseLang(lang))
}

// stoppedRow reports whether r was not sent, or not taken as rejected,
// because sending stopped: its reason says so.
func stoppedRow(r *crmsync.Result) bool {
	c := r.ReasonCode()
	return c == crmsync.ReasonNotSent || c == crmsync.ReasonRejectedStopped
}

func nextStep(o crmsync.Outcome, stopped bool, l lang) string {
	var zh, en string
	switch {
	case o == crmsync.OutcomeFailed && stopped:
		zh, en = "先修正上面“发送已停止”所说的问题(凭据、网络或商场设置),再运行 crmsync retry 重发这些行",
			"first fix what 'sending stopped' says (the credentials, the network or the mall's settings), then crmsync retry sends these rows"
	default:
		return outcomeStep(o, l)
	}
	if l == "en" {
		return en
	}
	return zh
}

func outcomeStep(o crmsync.Outcome, l lang) string {
	var zh, en string
	switch o {
	case crmsync.OutcomeInvalid:
		zh, en = "在待处理文件中修正标出的单元格,再用 crmsync run 导入该文件", "fix the marked cells in the problems workbook, then crmsync run it"
	case crmsync.OutcomeDuplicate:
		zh, en = "同一键出现多次,只发送了第一行;若两行确是不同事件,在待处理文件中给此行一个新的交易ID/事件ID", "the key appears more than once and the first row was taken; if they are different events, give this row a new key in the problems workbook"
	case crmsync.OutcomeRejected:
		zh, en = "按猫酷的Code和Message修正数据(或在猫酷中处理),再导入待处理文件", "fix what Mallcoo's Code and Message name (in the row or in Mallcoo), then import the problems workbook"
	case crmsync.OutcomeFailed:
		zh, en = "无需修改:未送达,crmsync retry 或下次运行会重发;若持续失败,检查网络和猫酷配置", "nothing to fix: not delivered; crmsync retry (or the next run) sends it again; if it keeps failing, check the network and the Mallcoo settings"
	case crmsync.OutcomeUncertain:
		zh, en = "无需修改此行:先在猫酷中核实是否已收到;未收到才用 crmsync retry -uncertain 重发", "nothing to fix in the row: check in Mallcoo whether it arrived; only if it did not, resend it with crmsync retry -uncertain"
	case crmsync.OutcomeBlocked:
		zh, en = "无需修改此行:它在等同一会员更早的事件;处理原因中指出的那一行后重新运行", "nothing to fix in this row: it waits for an earlier event of the same member; deal with the row its reason names, then run again"
	case crmsync.OutcomeChanged:
		zh, en = "比较新旧内容后决定:若要更正,在待处理文件中给此行新的交易ID(事件ID列留空)后导入;若无需更正,不用处理", "compare the old and new content and decide: to send a correction, give the row a new TransID (and clear EventID) in the problems workbook and import it; otherwise leave it"
	default:
		return ""
	}
	if l == "en" {
		return en
	}
	return zh
}
