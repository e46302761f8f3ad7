package mallcoo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// CST is China Standard Time (UTC+8, no daylight saving). TimeStamp headers
// and event times are read and written in it whatever the machine's zone.
var CST = loadCST()

func loadCST() *time.Location {
	if l, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return l
	}
	return time.FixedZone("CST", 8*3600)
}

// DateTimeLayout is Mallcoo's datetime format.
const DateTimeLayout = "2006-01-02 15:04:05"

// Amount is a decimal sent as a JSON number exactly as written (canonical:
// no thousands separators, no leading '+', no trailing fractional zeros), so
// no float noise reaches Mallcoo. Build one with ParseAmount.
type Amount string

// MaxAmountLen is the longest canonical amount, sign and point included.
const MaxAmountLen = 20

// AmountFault says why a text is not an amount.
type AmountFault int

// Amount faults.
const (
	NotANumber  AmountFault = iota // no digits, letters, stray characters
	BadGrouping                    // thousands separators not in groups of three ("12,34", "1,2,3", "1.234,56")
	BadSign                        // more than one sign, or a sign in the wrong place ("+-5", "--5", "5-")
	Exponent                       // scientific notation ("1e3", "1.2E+5")
	Percent                        // a percentage ("5%")
	InnerSpace                     // a space inside the number ("1 234")
	TooLong                        // more than MaxAmountLen characters once canonical
)

// AmountError is a text ParseAmount refuses, and why.
type AmountError struct {
	Text  string // the text, trimmed
	Fault AmountFault
}

func (e *AmountError) Error() string {
	switch e.Fault {
	case BadGrouping:
		return fmt.Sprintf("%q has thousands separators that are not in groups of three", e.Text)
	case BadSign:
		return fmt.Sprintf("%q has more than one sign or a misplaced sign", e.Text)
	case Exponent:
		return fmt.Sprintf("%q is in scientific notation", e.Text)
	case Percent:
		return fmt.Sprintf("%q is a percentage", e.Text)
	case InnerSpace:
		return fmt.Sprintf("%q has a space inside the number", e.Text)
	case TooLong:
		return fmt.Sprintf("%q has too many digits", e.Text)
	}
	return fmt.Sprintf("%q is not a number", e.Text)
}

// ParseAmount reads a decimal the way CRM exports write them, accepting only
// forms that cannot be misread, and returns the canonical form:
//
//   - plain digits with an optional fraction: "1280.50", "007.5", ".5" (= 0.5);
//   - thousands grouped in threes by ',' or '，' (one kind per number), the
//     first group 1–3 digits not starting with 0: "1,280.50", "1，280";
//   - at most one leading sign, '+' or '-';
//   - an optional currency sign ¥ or ￥ before or after the sign ("¥-5",
//     "-¥5"), optionally followed by spaces;
//   - padding around the text.
//
// Everything else is refused with an *AmountError: "12,34", "1,2,3",
// "1.234,56", "+-5", "--5", "1,,234", ",123", "1 234", "5.", "1e3", "5%",
// "TRUE", "#N/A". A decimal comma is never guessed.
func ParseAmount(s string) (Amount, error) {
	if canonical(s) {
		return Amount(s), nil
	}
	text := strings.TrimSpace(s)
	fail := func(f AmountFault) (Amount, error) { return "", &AmountError{Text: text, Fault: f} }
	t := text
	neg, signs, currency := false, 0, false
	for t != "" {
		switch {
		case t[0] == '+' || t[0] == '-':
			neg = t[0] == '-'
			signs++
			t = t[1:]
			continue
		case !currency && (strings.HasPrefix(t, "¥") || strings.HasPrefix(t, "￥")):
			if signs > 1 {
				return fail(BadSign)
			}
			_, n := utf8.DecodeRuneInString(t)
			t = strings.TrimLeft(t[n:], " ")
			currency = true
			continue
		}
		break
	}
	if signs > 1 {
		return fail(BadSign)
	}
	// t is now the unsigned number.
	digits, frac, sep, pointSeen := 0, 0, "", false
	// On the stack for any amount of usual length: this runs for every
	// amount not written canonically ("1280.50", "1,280").
	var ib, fb [24]byte
	var gb [8]int
	intPart, fracPart, groups := ib[:0], fb[:0], append(gb[:0], 0)
	for i := 0; i < len(t); {
		c := t[i]
		switch {
		case c >= '0' && c <= '9':
			if pointSeen {
				fracPart = append(fracPart, c)
				frac++
			} else {
				intPart = append(intPart, c)
				groups[len(groups)-1]++
			}
			digits++
			i++
		case c == '.':
			if pointSeen {
				return fail(BadGrouping) // "1.234.567", "1,234.567.8"
			}
			pointSeen = true
			i++
		case c == ',' || strings.HasPrefix(t[i:], "，"):
			n := 1
			if c != ',' {
				n = len("，")
			}
			if pointSeen {
				return fail(BadGrouping) // "1.234,56"
			}
			if sep != "" && sep != t[i:i+n] {
				return fail(BadGrouping)
			}
			sep = t[i : i+n]
			groups = append(groups, 0)
			i += n
		case c == '+' || c == '-':
			return fail(BadSign)
		case c == 'e' || c == 'E':
			if digits > 0 && strings.ContainsAny(t[i+1:], "0123456789") {
				return fail(Exponent)
			}
			return fail(NotANumber)
		case c == '%':
			return fail(Percent)
		case c == ' ' || c == '\t':
			return fail(InnerSpace)
		default:
			if r, _ := utf8.DecodeRuneInString(t[i:]); r == '％' {
				return fail(Percent)
			} else if unicode.IsSpace(r) {
				return fail(InnerSpace)
			}
			return fail(NotANumber)
		}
	}
	if digits == 0 {
		// "", ".", "-.", "¥": a typo, never zero.
		return fail(NotANumber)
	}
	if pointSeen && frac == 0 {
		return fail(NotANumber) // "5.": a digit is missing
	}
	if sep != "" {
		// 1-3 digits, then groups of exactly three; no leading zero group.
		if groups[0] < 1 || groups[0] > 3 || intPart[0] == '0' {
			return fail(BadGrouping)
		}
		for _, g := range groups[1:] {
			if g != 3 {
				return fail(BadGrouping)
			}
		}
	}
	ip := bytes.TrimLeft(intPart, "0")
	if len(ip) == 0 {
		ip = []byte{'0'}
	}
	fp := bytes.TrimRight(fracPart, "0")
	var ob [MaxAmountLen + 2]byte
	out := ob[:0]
	if neg && (len(ip) > 1 || ip[0] != '0' || len(fp) > 0) {
		out = append(out, '-')
	}
	out = append(out, ip...)
	if len(fp) > 0 {
		out = append(append(out, '.'), fp...)
	}
	if len(out) > MaxAmountLen {
		return fail(TooLong)
	}
	return Amount(out), nil
}

// Decimals returns how many decimal places the amount needs: its digits
// after the point, trailing zeros not counted (12.300 needs 1).
func (a Amount) Decimals() int {
	_, frac, ok := strings.Cut(string(a), ".")
	if !ok {
		return 0
	}
	return len(strings.TrimRight(frac, "0"))
}

// Sign returns -1, 0 or 1.
func (a Amount) Sign() int {
	switch {
	case a == "" || a == "0":
		return 0
	case strings.HasPrefix(string(a), "-"):
		return -1
	}
	return 1
}

// MarshalJSON writes the amount as a bare JSON number.
func (a Amount) MarshalJSON() ([]byte, error) {
	if !canonical(string(a)) {
		return nil, fmt.Errorf("amount %q is not canonical", string(a))
	}
	return []byte(a), nil
}

// canonical reports whether s is an amount in canonical form — what
// ParseAmount returns: an optional '-', no leading zeros, no trailing
// fractional zeros, at most MaxAmountLen characters. It runs for every amount of
// every row (ParseAmount's fast path, MarshalJSON's check), so no regexp.
func canonical(s string) bool {
	if len(s) == 0 || len(s) > MaxAmountLen {
		return false
	}
	i := 0
	if s[0] == '-' {
		i = 1
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intLen := i - start
	if intLen == 0 || (intLen > 1 && s[start] == '0') {
		return false
	}
	if i == len(s) {
		return !(start == 1 && s == "-0")
	}
	if s[i] != '.' {
		return false
	}
	i++
	fs := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i == len(s) && i > fs && s[len(s)-1] != '0'
}

// UnmarshalJSON reads a JSON number verbatim.
func (a *Amount) UnmarshalJSON(b []byte) error {
	v, err := ParseAmount(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// LocalTime is a datetime sent as "yyyy-MM-dd HH:mm:ss" in China Standard Time.
type LocalTime struct{ time.Time }

// MarshalJSON writes the time in Mallcoo's layout.
func (t LocalTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return nil, fmt.Errorf("datetime is not set")
	}
	return []byte(`"` + t.In(CST).Format(DateTimeLayout) + `"`), nil
}

// UnmarshalJSON reads Mallcoo's layout.
func (t *LocalTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseInLocation(DateTimeLayout, s, CST)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// URLText is free text sent URL-encoded as UTF-8 (the Desc fields of
// over-limit, bonus, verify and invalid), the way the vendor's example does:
// %e6%b5%8b… (lower-case hex, '+' for a space, as .NET's UrlEncode).
type URLText string

// MarshalJSON writes the encoded text as a JSON string.
func (t URLText) MarshalJSON() ([]byte, error) {
	return json.Marshal(URLEncode(string(t)))
}

// URLEncode encodes s as .NET's HttpUtility.UrlEncode does, which is what
// Mallcoo decodes.
func URLEncode(s string) string {
	return string(appendURLEncoded(make([]byte, 0, len(s)), s))
}

func appendURLEncoded(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '!', c == '*', c == '(', c == ')':
			b = append(b, c)
		case c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return b
}

// Marshal encodes a request body once. HTML characters are not escaped, so
// Chinese text and symbols stay readable in logs and the ledger; these are
// the bytes that are signed and sent.
// A wire type (or a pointer to one) goes through its compiled plan (see
// AppendBody), anything else through encoding/json.
func Marshal(v any) ([]byte, error) {
	if bodyType(v) {
		full, _, err := AppendBody(nil, nil, v)
		if err != nil {
			return nil, err
		}
		return full, nil
	}
	return marshalJSON(v)
}

// bodyType reports whether v is a wire type or a pointer to one.
func bodyType(v any) bool {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return false // encoding/json writes null
		}
		rv = rv.Elem()
	}
	return rv.IsValid() && plans[rv.Type()] != nil
}

// marshalJSON is Marshal by encoding/json.
func marshalJSON(v any) ([]byte, error) {
	e := encoders.Get().(*encoder)
	defer encoders.Put(e)
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil {
		return nil, err
	}
	// A copy: the buffer goes back to the pool.
	return bytes.Clone(bytes.TrimRight(e.buf.Bytes(), "\n")), nil
}

// encoder is a reusable JSON encoder and its buffer: Marshal runs once per
// input row, so a million-row file should not build a million encoders.
type encoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var encoders = sync.Pool{New: func() any {
	e := &encoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}}

// MemberNotice is the body of 会员信息变更通知 (member).
type MemberNotice struct {
	ThirdPartyCardID *string `json:"ThirdPartyCardID"`
	Mobile           *string `json:"Mobile"`
}

// GradeInform is the body of 会员等级变更通知 (grade).
type GradeInform struct {
	ThirdPartyCardID  string    `json:"ThirdPartyCardID"`
	BeforeCardCode    string    `json:"BeforeCardCode"`
	AfterCardCode     string    `json:"AfterCardCode"`
	ChangeType        int       `json:"ChangeType"`
	ChangeTime        LocalTime `json:"ChangeTime"`
	Remark            *string   `json:"Remark"`
	GradeChangeRuleID *int64    `json:"GradeChangeRuleID"`
	GradeChangeType   *int      `json:"GradeChangeType"`
	GradeChangeID     *string   `json:"GradeChangeID"`
}

// ScoreInform is the body of 消费积分变更通知 (score).
type ScoreInform struct {
	TransID          string     `json:"TransID"`
	ThirdPartyCardID string     `json:"ThirdPartyCardID"`
	ScoreEvent       int        `json:"ScoreEvent"`
	TradeTime        LocalTime  `json:"TradeTime"`
	TradeAmount      Amount     `json:"TradeAmount"`
	CrmShopID        string     `json:"CrmShopID"`
	TradeSerialNo    *string    `json:"TradeSerialNo"`
	PosID            *string    `json:"PosID"`
	ReturnTime       *LocalTime `json:"ReturnTime"`
	ReturnAmount     *Amount    `json:"ReturnAmount"`
	Score            Amount     `json:"Score"`
	PayType          *int       `json:"PayType"`
}

// ScoreInformV2 is the body of 消费积分变更通知V2 (score-v2).
type ScoreInformV2 struct {
	TransID              string      `json:"TransID"`
	ThirdPartyCardID     string      `json:"ThirdPartyCardID"`
	ScoreEvent           int         `json:"ScoreEvent"`
	TradeTime            LocalTime   `json:"TradeTime"`
	PayAmount            Amount      `json:"PayAmount"`
	CrmShopID            string      `json:"CrmShopID"`
	TradeSerialNo        *string     `json:"TradeSerialNo"`
	PosID                *string     `json:"PosID"`
	ReturnTime           *LocalTime  `json:"ReturnTime"`
	ReturnAmount         *Amount     `json:"ReturnAmount"`
	Score                Amount      `json:"Score"`
	TotalAmount          *Amount     `json:"TotalAmount"`
	PromotionAmount      *Amount     `json:"PromotionAmount"`
	ConsumePromotionList []Promotion `json:"ConsumePromotionList"`
	ConsumePayList       []Payment   `json:"ConsumePayList"`
}

// Promotion is one item of ConsumePromotionList.
type Promotion struct {
	PromotionType *int    `json:"PromotionType"`
	RuleNo        *string `json:"RuleNo"`
	No            *string `json:"No"`
	Amount        *Amount `json:"Amount"`
	Desc          *string `json:"Desc"`
}

// Payment is one item of ConsumePayList.
type Payment struct {
	PayType *int    `json:"PayType"`
	PayNo   *string `json:"PayNo"`
	Amount  *Amount `json:"Amount"`
}

// OverLimitInform is the body of 积分超上限事件通知 (over-limit).
type OverLimitInform struct {
	RefID                string   `json:"RefID"`
	ShopCode             *string  `json:"ShopCode"`
	Value                *string  `json:"Value"`
	RuleValue            *string  `json:"RuleValue"`
	BonusAction          *int     `json:"BonusAction"`
	CurBonusAction       *int     `json:"CurBonusAction"`
	BonusLimitSceneType  *int     `json:"BonusLimitSceneType"`
	BonusLimitObjType    *int     `json:"BonusLimitObjType"`
	BonusLimitActionType *int     `json:"BonusLimitActionType"`
	BonusLimitTimeType   *int     `json:"BonusLimitTimeType"`
	Desc                 *URLText `json:"Desc"`
}

// BonusChange is the body of CRM积分变更事件 (bonus).
type BonusChange struct {
	ThirdPartyCardID string    `json:"ThirdPartyCardID"`
	BonusAction      int       `json:"BonusAction"`
	GetBonus         Amount    `json:"GetBonus"`
	AfterBonus       Amount    `json:"AfterBonus"`
	RefID            string    `json:"RefID"`
	CreateTime       LocalTime `json:"CreateTime"`
	Desc             *URLText  `json:"Desc"`
}

// VerifyInform is the body of 积分处理结果通知 (verify).
type VerifyInform struct {
	RefID             string    `json:"RefID"`
	BonusAction       int       `json:"BonusAction"`
	Bonus             Amount    `json:"Bonus"`
	CurrentBonus      Amount    `json:"CurrentBonus"`
	BonusVerifyStatus int       `json:"BonusVerifyStatus"`
	BonusVerifyTime   LocalTime `json:"BonusVerifyTime"`
	Desc              *URLText  `json:"Desc"`
}

// InvalidInform is the body of 积分作废回调通知 (invalid).
type InvalidInform struct {
	RefID       string   `json:"RefID"`
	BonusAction int      `json:"BonusAction"`
	Desc        *URLText `json:"Desc"`
}
