package mallcoo

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync"
)

// The score events (ScoreEvents).
const (
	ScoreSale   = 1
	ScoreReturn = 2101
)

// ScoreTime is a score event's event time: a return's ReturnTime when it
// has one, else its TradeTime.
func ScoreTime(event int, trade LocalTime, ret *LocalTime) time.Time {
	if event == ScoreReturn && ret != nil {
		return ret.Time
	}
	return trade.Time
}

// ScoreMoney is the money a score event moves, as finance counts it, from
// the body's ScoreEvent, amount (TradeAmount or PayAmount) and
// ReturnAmount as written there: a sale's amount, minus a return's
// ReturnAmount.
func ScoreMoney(event, amount, returnAmount string) string {
	if event != strconv.Itoa(ScoreReturn) {
		return amount
	}
	switch {
	case returnAmount == "":
		return ""
	case strings.HasPrefix(returnAmount, "-"):
		return returnAmount[1:]
	}
	return "-" + returnAmount
}

// The rules below are stated once: the importer applies them to rows (with
// the Chinese and English reasons), CheckBody to bodies (the fake server).

// SpecFor returns the endpoint of kind k with the optional fields named in
// required made required: some malls require score TradeSerialNo and PosID
// ("根据商场是否要求必填"), and a mall may require any field of any kind.
// Names are the API field names, matched without regard to case. With no
// names it returns SpecOf(k) itself. An unknown kind or field is an error
// naming what is allowed.
func SpecFor(k crmsync.Kind, required []string) (*Spec, error) {
	base, ok := specs[k]
	if !ok {
		return nil, fmt.Errorf("unknown kind %q (want one of %s)", k, crmsync.KindList())
	}
	if len(required) == 0 {
		return base, nil
	}
	s := *base
	s.Fields = slices.Clone(base.Fields)
	for _, name := range required {
		i := slices.IndexFunc(s.Fields, func(f Field) bool { return strings.EqualFold(f.Name, name) })
		if i < 0 {
			names := make([]string, len(s.Fields))
			for j, f := range s.Fields {
				names[j] = f.Name
			}
			return nil, fmt.Errorf("%s has no field %q (its fields: %s)", k, name, strings.Join(names, ", "))
		}
		if s.Fields[i].Type == List {
			return nil, fmt.Errorf("%s %s is a list from sibling sheets: it cannot be required", k, s.Fields[i].Name)
		}
		s.Fields[i].Required = true
	}
	return &s, nil
}

// mobileRE is a mainland mobile number: 11 digits, 13x to 19x.
var mobileRE = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

// ValidMobile reports whether s is a mainland mobile number (11 digits,
// starting 13 to 19), the rule of member Mobile.
func ValidMobile(s string) bool { return mobileRE.MatchString(s) }

// RuleBreak is a row or body that breaks a rule of Mallcoo's: the field, a
// reason in Chinese and in English, and whether it is only a warning (the
// event is sent, the report says why a person may want to look).
type RuleBreak struct {
	Field   string
	ZH, EN  string
	Warning bool
}

// Score is what the score rules look at in a score or score-v2 event.
// ReturnAmount and Score are canonical amounts ("" when absent).
type Score struct {
	Event         int
	HasReturnTime bool
	ReturnAmount  Amount
	Score         Amount
}

// CheckScore applies the vendor's rules of the score kinds and returns what
// breaks them, errors first, then warnings:
//
//   - a return (ScoreEvent 2101) needs ReturnTime and ReturnAmount
//     ("当积分类型为退货退积分时必填"); its ReturnAmount is positive (the
//     amount given back) and its Score not positive ("退货退积分传负值");
//   - a sale (ScoreEvent 1) has a Score not negative ("消费积分时传正值");
//     ReturnTime or ReturnAmount on a sale are a warning: they are not
//     sent;
//   - a Score of 0 is a warning: the vendor asks for a positive (sale) or
//     negative (return) value, and a 0 is often a points rule not applied.
func CheckScore(s Score) []RuleBreak {
	var out []RuleBreak
	add := func(field, zh, en string, warn bool) {
		out = append(out, RuleBreak{Field: field, ZH: zh, EN: en, Warning: warn})
	}
	switch s.Event {
	case ScoreReturn:
		switch {
		case !s.HasReturnTime:
			add("ReturnTime", "退货(2101)必须填写退货时间", "a return (2101) needs ReturnTime", false)
		case s.ReturnAmount == "":
			add("ReturnAmount", "退货(2101)必须填写退货金额", "a return (2101) needs ReturnAmount", false)
		case s.ReturnAmount.Sign() <= 0:
			add("ReturnAmount", fmt.Sprintf("退货金额应为正数(退回的金额),不是 %s", s.ReturnAmount),
				fmt.Sprintf("a return's ReturnAmount must be positive (the amount given back), not %s", s.ReturnAmount), false)
		case s.Score.Sign() > 0:
			add("Score", fmt.Sprintf("退货的积分值应为负数(%s)", s.Score), fmt.Sprintf("a return's Score must be negative or zero, not %s", s.Score), false)
		}
	case ScoreSale:
		if s.Score.Sign() < 0 {
			add("Score", fmt.Sprintf("消费的积分值应为正数(%s)", s.Score), fmt.Sprintf("a sale's Score must be positive or zero, not %s", s.Score), false)
		}
		if s.HasReturnTime || s.ReturnAmount != "" {
			field := "ReturnTime"
			if !s.HasReturnTime {
				field = "ReturnAmount"
			}
			add(field, "消费(1)不应填写退货时间或退货金额,未发送这两项", "a sale (1) has ReturnTime or ReturnAmount: they are not sent", true)
		}
	}
	if s.Score == "0" && (s.Event == ScoreSale || s.Event == ScoreReturn) && (len(out) == 0 || out[0].Warning) {
		add("Score", "积分值为0:消费应为正数,退货应为负数,请核对积分规则", "Score is 0: a sale earns a positive Score, a return a negative one; check the points rule", true)
	}
	return out
}
