package mallcoo

import (
	"strconv"
	"strings"

	"github.com/crmsync/crmsync"
)

// FieldType is the JSON type Mallcoo expects for a field.
type FieldType int

// Field types.
const (
	String   FieldType = iota // JSON string, always, even when it looks like a number (IDs)
	Int                       // JSON integer (enums)
	Long                      // JSON integer, 64-bit
	Decimal                   // JSON number, written as the user wrote it
	DateTime                  // JSON string "yyyy-MM-dd HH:mm:ss"
	List                      // JSON array of objects (score-v2 promotions and payments)
)

func (t FieldType) String() string {
	switch t {
	case String:
		return "string"
	case Int:
		return "int"
	case Long:
		return "long"
	case Decimal:
		return "decimal"
	case DateTime:
		return "datetime"
	case List:
		return "list"
	}
	return "unknown"
}

// EnumValue is one documented value of an enum field, with the Chinese word
// a CRM export may use instead of the number.
type EnumValue struct {
	Code  int
	Label string // Chinese
	Name  string // English
}

// Text is the value as a person reads it: "2101 退货退积分", in English
// ("en") "2101 return".
func (v EnumValue) Text(lang string) string {
	w := v.Label
	if lang == "en" {
		w = v.Name
	}
	return strconv.Itoa(v.Code) + " " + w
}

// Enum is the documented values of an enum field.
type Enum []EnumValue

// Has reports whether code is one of the values.
func (e Enum) Has(code int) bool {
	for _, v := range e {
		if v.Code == code {
			return true
		}
	}
	return false
}

// Text lists the values as a person reads them, joined by sep:
// "1 消费积分, 2101 退货退积分".
func (e Enum) Text(lang, sep string) string {
	parts := make([]string, len(e))
	for i, v := range e {
		parts[i] = v.Text(lang)
	}
	return strings.Join(parts, sep)
}

// Field describes one request field: the API name, the vendor's Chinese
// label, its type and rule. The importer maps headers with it, validates
// with it, and the import templates are generated from it.
type Field struct {
	Name     string
	Label    string // the vendor's Chinese wording, used as header alias and in templates
	Type     FieldType
	Required bool
	// Enum lists the documented values; Closed means no other value is valid
	// (an open enum accepts any integer).
	Enum    Enum
	Closed  bool
	URLText bool // sent URL-encoded (UTF-8): the Desc of over-limit, bonus, verify and invalid
	// Empty is how the field goes on the wire when the row leaves it empty
	// (optional fields only): as the vendor's example of the endpoint shows
	// it. See Empty.
	Empty Empty
	// Number marks a String field that holds a number (over-limit Value and
	// RuleValue: points or a count): when the cell is a number it is sent
	// in canonical form ("5,000" → "5000", "3000.0" → "3000"), still as a
	// JSON string.
	Number  bool
	Rule    string // the rule in a person's words (Chinese), for templates
	RuleEN  string // the same in English
	Example string // an example value for templates
	// Cents marks a Decimal field of money in yuan: at most two decimal
	// places (fen). A value with more (an XLSX formula's 333.333333333333
	// shown as 333.33) is invalid, never rounded: what finance reconciles
	// is what the CRM shows.
	Cents bool
	// MaxLen is the longest value accepted, in characters (String fields:
	// MaxIDLen for identifiers and codes, MaxTextLen for free text; set for
	// every String field by init). A longer cell is invalid, never cut.
	MaxLen int
}

// Length limits of String fields, in characters. Mallcoo documents none;
// these are far above any real ID or note and stop a runaway cell (a whole
// file pasted into one) from being sent.
const (
	MaxIDLen   = 64  // IDs, shop codes, card codes, serial numbers, PosID, Value/RuleValue
	MaxTextLen = 500 // free text: Remark, Desc
)

// freeText names the String fields that hold a person's words, not an
// identifier.
var freeText = map[string]bool{"Remark": true, "Desc": true}

func init() {
	set := func(fs []Field) {
		for i := range fs {
			f := &fs[i]
			if f.Type != String || f.MaxLen != 0 || f.Name == "Mobile" { // Mobile: 11 digits, its own rule
				continue
			}
			f.MaxLen = MaxIDLen
			if freeText[f.Name] {
				f.MaxLen = MaxTextLen
			}
		}
	}
	for _, s := range specs {
		set(s.Fields)
		for _, it := range s.Items {
			set(it.Fields)
		}
	}
}

// FreeText reports whether a String field holds free text (a remark or
// description) rather than an identifier.
func (f *Field) FreeText() bool { return f.Type == String && freeText[f.Name] }

// Spec is one endpoint: its kind, path, the vendor's title and its fields in
// template order.
type Spec struct {
	Kind   crmsync.Kind
	Path   string // with the documented trailing slash
	Title  string // the vendor's Chinese title, also accepted as a sheet or file name
	Fields []Field
	// Items describe the sibling sheets of list fields (score-v2): the
	// TransID join column first, then the item fields.
	Items map[string]*ItemSpec
	// Money names the body fields finance sums (see Money).
	Money Money
}

// Money names the fields of a kind's body that finance sums: Amount
// (TradeAmount or PayAmount) and ReturnAmount of the score kinds, Points
// (Score, GetBonus or Bonus), and Shop, what totals are kept by. An empty
// name: the kind has no such field.
type Money struct {
	Amount, ReturnAmount, Points, Shop string
}

// Sums are the money fields summed, in order: Amount, ReturnAmount,
// Points, those the kind has.
func (m Money) Sums() []string {
	var out []string
	for _, f := range []string{m.Amount, m.ReturnAmount, m.Points} {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// ItemSpec describes the items of a list field and the sibling sheet or file
// they come from.
type ItemSpec struct {
	Field  string   // the list field, e.g. ConsumePromotionList
	Sheet  string   // sibling sheet/file suffix, e.g. "score-v2.promotions"
	Titles []string // Chinese sheet titles accepted for it
	Fields []Field  // item fields (the TransID join column is not among them)
}

// Field returns the field named name (case-insensitive), or nil.
func (s *Spec) Field(name string) *Field {
	for i := range s.Fields {
		if strings.EqualFold(s.Fields[i].Name, name) {
			return &s.Fields[i]
		}
	}
	return nil
}

// SpecOf returns the endpoint of kind k; it panics on an unknown kind, which
// is a programming error (kinds are parsed with crmsync.ParseKind).
func SpecOf(k crmsync.Kind) *Spec {
	s, ok := specs[k]
	if !ok {
		panic("mallcoo: no spec for kind " + string(k))
	}
	return s
}

// Enums known publicly.
var (
	ChangeTypes = Enum{{0, "升级", "upgrade"}, {1, "降级", "downgrade"}}
	// GradeChangeTypes are the ways a grade changed.
	GradeChangeTypes = Enum{{1, "自动", "automatic"}, {2, "手工", "manual"}}
	// ScoreEvents are the only two events the score endpoints take.
	ScoreEvents = Enum{{1, "消费积分", "sale"}, {2101, "退货退积分", "return"}}
	// BonusActions are the publicly known points actions; more exist.
	BonusActions = Enum{
		{0, "全部", "all"}, {1, "消费积分", "consumption"}, {4, "积分调整", "adjustment"},
		{6, "抽奖发放积分", "lottery"}, {7, "签到奖励积分", "check-in"}, {10, "新用户奖励积分", "new member"},
		{12, "完善个人资料奖励", "profile completion"},
	}
	VerifyStatuses   = Enum{{1, "通过", "approved"}, {-1, "拒绝", "refused"}}
	LimitSceneTypes  = Enum{{1, "商场", "mall"}, {2, "商户", "shop"}}
	LimitObjTypes    = Enum{{1, "商场或商户", "mall or shop"}, {2, "个人", "person"}}
	LimitActionTypes = Enum{{1, "积分", "points"}, {2, "次数", "count"}}
	LimitTimeTypes   = Enum{{1, "每天", "daily"}, {2, "每月", "monthly"}}
)

// scoreCommon are the fields the score kinds share. The vendor's examples
// differ in how they show the empty ones: v1 sends TradeSerialNo, PosID and
// ReturnTime as "" and ReturnAmount as null; v2 sends all four as null.
var scoreCommon = func(amountName, amountLabel string, emptyText Empty) []Field {
	return []Field{
		{Name: "TransID", Label: "交易ID", Type: String, Required: true, Rule: "必填;消费单号,退货时为退货单号,唯一", RuleEN: "required; sale number, or return number for a return; unique", Example: "T20241101000123"},
		{Name: "ThirdPartyCardID", Label: "会员卡号ID", Type: String, Required: true, Rule: "必填", RuleEN: "required", Example: "0201710000001"},
		{Name: "ScoreEvent", Label: "积分事件", Type: Int, Required: true, Enum: ScoreEvents, Closed: true, Rule: "必填;1 消费积分,2101 退货退积分", RuleEN: "required; 1 sale, 2101 return", Example: "1"},
		{Name: "TradeTime", Label: "消费时间", Type: DateTime, Required: true, Rule: "必填;yyyy-MM-dd HH:mm:ss", RuleEN: "required; yyyy-MM-dd HH:mm:ss", Example: "2024-11-01 10:05:03"},
		{Name: amountName, Label: amountLabel, Type: Decimal, Cents: true, Required: true, Rule: "必填;金额,最多两位小数", RuleEN: "required; amount, at most 2 decimal places", Example: "1280.50"},
		{Name: "CrmShopID", Label: "消费商户", Type: String, Required: true, Rule: "必填;商户在商场CRM中的编号", RuleEN: "required; the shop's code in the mall CRM", Example: "S0012"},
		{Name: "TradeSerialNo", Label: "交易流水号", Type: String, Empty: emptyText, Rule: "选填;退货时为原消费单号", RuleEN: "optional; for a return the original sale's number", Example: "POS-88812"},
		{Name: "PosID", Label: "pos机编号", Type: String, Empty: emptyText, Rule: "选填", RuleEN: "optional", Example: "POS01"},
		{Name: "ReturnTime", Label: "退货时间", Type: DateTime, Empty: emptyText, Rule: "退货(2101)必填", RuleEN: "required for a return (2101)", Example: ""},
		{Name: "ReturnAmount", Label: "退货金额", Type: Decimal, Cents: true, Empty: Null, Rule: "退货(2101)必填;正数", RuleEN: "required for a return (2101); positive", Example: ""},
		{Name: "Score", Label: "积分值", Type: Decimal, Required: true, Rule: "必填;消费为正数,退货为负数(0会提示)", RuleEN: "required; positive for a sale, negative for a return (0 warns)", Example: "1280"},
	}
}

var specs = map[crmsync.Kind]*Spec{
	crmsync.KindMember: {
		Kind: crmsync.KindMember, Path: "/User/AdvancedInfo/v1/Update/Notice/", Title: "会员信息变更通知",
		Fields: []Field{
			{Name: "ThirdPartyCardID", Label: "第三方会员ID", Type: String, Rule: "与手机号二选一", RuleEN: "this or Mobile", Example: "0201610000343"},
			{Name: "Mobile", Label: "手机号", Type: String, Rule: "与第三方会员ID二选一;11位手机号", RuleEN: "this or ThirdPartyCardID; 11-digit mobile", Example: "15155145475"},
		},
	},
	crmsync.KindGrade: {
		Kind: crmsync.KindGrade, Path: "/User/AdvancedInfo/v1/UpdateGrade/Inform/", Title: "会员等级变更通知",
		Fields: []Field{
			{Name: "ThirdPartyCardID", Label: "第三方会员ID", Type: String, Required: true, Rule: "必填", RuleEN: "required", Example: "201710000001"},
			{Name: "BeforeCardCode", Label: "变更前卡等级", Type: String, Required: true, Rule: "必填", RuleEN: "required", Example: "Vip123"},
			{Name: "AfterCardCode", Label: "变更后卡等级", Type: String, Required: true, Rule: "必填", RuleEN: "required", Example: "金卡"},
			{Name: "ChangeType", Label: "变更类型", Type: Int, Required: true, Enum: ChangeTypes, Closed: true, Rule: "必填;0 升级,1 降级", RuleEN: "required; 0 upgrade, 1 downgrade", Example: "0"},
			{Name: "ChangeTime", Label: "变更时间", Type: DateTime, Required: true, Rule: "必填;yyyy-MM-dd HH:mm:ss", RuleEN: "required; yyyy-MM-dd HH:mm:ss", Example: "2024-11-01 10:05:03"},
			{Name: "Remark", Label: "变更备注", Type: String, Rule: "选填", RuleEN: "optional", Example: "年度升级"},
			{Name: "GradeChangeRuleID", Label: "升降级规则ID", Type: Long, Empty: Null, Rule: "选填;整数", RuleEN: "optional; integer", Example: ""},
			{Name: "GradeChangeType", Label: "升降级变更类型", Type: Int, Enum: GradeChangeTypes, Closed: true, Empty: Null, Rule: "选填;1 自动,2 手工", RuleEN: "optional; 1 automatic, 2 manual", Example: "1"},
			{Name: "GradeChangeID", Label: "等级变更记录ID", Type: String, Empty: Null, Rule: "选填;有则作为唯一键", RuleEN: "optional; the key when present", Example: "GC000001"},
		},
	},
	crmsync.KindScore: {
		Kind: crmsync.KindScore, Path: "/Score/v1/Change/Inform/", Title: "消费积分变更通知",
		Money: Money{Amount: "TradeAmount", ReturnAmount: "ReturnAmount", Points: "Score", Shop: "CrmShopID"},
		Fields: append(scoreCommon("TradeAmount", "消费金额", Blank),
			Field{Name: "PayType", Label: "支付方式", Type: Int, Rule: "选填;猫酷支付方式枚举", RuleEN: "optional; Mallcoo PayType code", Example: ""}),
	},
	crmsync.KindScoreV2: {
		Kind: crmsync.KindScoreV2, Path: "/Score/v2/Change/Inform/", Title: "消费积分变更通知V2",
		Money: Money{Amount: "PayAmount", ReturnAmount: "ReturnAmount", Points: "Score", Shop: "CrmShopID"},
		Fields: append(scoreCommon("PayAmount", "支付金额", Null),
			Field{Name: "TotalAmount", Label: "订单总金额", Type: Decimal, Cents: true, Rule: "选填;=支付金额+优惠金额", RuleEN: "optional; PayAmount + PromotionAmount", Example: "1380.50"},
			Field{Name: "PromotionAmount", Label: "优惠金额", Type: Decimal, Cents: true, Rule: "选填;默认0", RuleEN: "optional; default 0", Example: "100"},
			Field{Name: "ConsumePromotionList", Label: "优惠明细", Type: List, Rule: "选填;见优惠明细表,或JSON数组", RuleEN: "optional; from the promotions sheet, or a JSON array", Example: ""},
			Field{Name: "ConsumePayList", Label: "支付明细", Type: List, Rule: "选填;见支付明细表,或JSON数组", RuleEN: "optional; from the payments sheet, or a JSON array", Example: ""},
		),
		Items: map[string]*ItemSpec{
			"ConsumePromotionList": {
				Field: "ConsumePromotionList", Sheet: "score-v2.promotions", Titles: []string{"优惠明细", "消费积分变更通知V2.优惠明细"},
				Fields: []Field{
					{Name: "PromotionType", Label: "优惠类型", Type: Int, Rule: "猫酷优惠类型枚举", RuleEN: "Mallcoo PromotionType code", Example: "6"},
					{Name: "RuleNo", Label: "优惠规则编号", Type: String, Example: "RNO123"},
					{Name: "No", Label: "优惠码", Type: String, Example: "No123456"},
					{Name: "Amount", Label: "优惠金额", Type: Decimal, Cents: true, Example: "100"},
					{Name: "Desc", Label: "优惠说明", Type: String, Example: "满减"},
				},
			},
			"ConsumePayList": {
				Field: "ConsumePayList", Sheet: "score-v2.payments", Titles: []string{"支付明细", "消费积分变更通知V2.支付明细"},
				Fields: []Field{
					{Name: "PayType", Label: "支付方式", Type: Int, Rule: "猫酷支付方式枚举", RuleEN: "Mallcoo PayType code", Example: "12"},
					{Name: "PayNo", Label: "支付单号", Type: String, Example: "PNO123456"},
					{Name: "Amount", Label: "支付金额", Type: Decimal, Cents: true, Example: "1280.50"},
				},
			},
		},
	},
	crmsync.KindOverLimit: {
		Kind: crmsync.KindOverLimit, Path: "/Score/v1/OverLimit/Inform/", Title: "积分超上限事件通知",
		Money: Money{Shop: "ShopCode"},
		Fields: []Field{
			{Name: "RefID", Label: "第三方CRM关联ID", Type: String, Required: true, Rule: "必填", RuleEN: "required", Example: "201610000095"},
			{Name: "ShopCode", Label: "第三方CRM商户ID", Type: String, Rule: "选填", RuleEN: "optional", Example: "S0012"},
			{Name: "Value", Label: "本次触发值", Type: String, Number: true, Rule: "选填;积分或次数", RuleEN: "optional; points or count", Example: "5000"},
			{Name: "RuleValue", Label: "规则值", Type: String, Number: true, Rule: "选填;积分或次数", RuleEN: "optional; points or count", Example: "3000"},
			{Name: "BonusAction", Label: "触发积分上限类型", Type: Int, Enum: BonusActions, Rule: "选填;积分操作行为枚举", RuleEN: "optional; BonusAction code", Example: "1"},
			{Name: "CurBonusAction", Label: "当前积分类型", Type: Int, Enum: BonusActions, Rule: "选填;积分操作行为枚举", RuleEN: "optional; BonusAction code", Example: "1"},
			{Name: "BonusLimitSceneType", Label: "积分上限场景类型", Type: Int, Enum: LimitSceneTypes, Closed: true, Rule: "选填;1 商场,2 商户", RuleEN: "optional; 1 mall, 2 shop", Example: "1"},
			{Name: "BonusLimitObjType", Label: "积分上限对象类型", Type: Int, Enum: LimitObjTypes, Closed: true, Rule: "选填;1 商场或商户,2 个人", RuleEN: "optional; 1 mall or shop, 2 person", Example: "2"},
			{Name: "BonusLimitActionType", Label: "积分上限动作类型", Type: Int, Enum: LimitActionTypes, Closed: true, Rule: "选填;1 积分,2 次数", RuleEN: "optional; 1 points, 2 count", Example: "1"},
			{Name: "BonusLimitTimeType", Label: "时间类型", Type: Int, Enum: LimitTimeTypes, Closed: true, Rule: "选填;1 每天,2 每月", RuleEN: "optional; 1 daily, 2 monthly", Example: "1"},
			{Name: "Desc", Label: "描述", Type: String, URLText: true, Rule: "选填;超上限原因", RuleEN: "optional; why the limit was hit", Example: "当日积分超上限"},
		},
	},
	crmsync.KindBonus: {
		Kind: crmsync.KindBonus, Path: "/Score/v1/VipBonus/Change/", Title: "CRM积分变更事件",
		Money: Money{Points: "GetBonus"},
		Fields: []Field{
			{Name: "ThirdPartyCardID", Label: "会员卡号ID", Type: String, Required: true, Rule: "必填", RuleEN: "required", Example: "201610000095"},
			{Name: "BonusAction", Label: "积分事件", Type: Int, Required: true, Enum: BonusActions, Rule: "必填;积分操作行为枚举", RuleEN: "required; BonusAction code", Example: "4"},
			{Name: "GetBonus", Label: "变更积分", Type: Decimal, Required: true, Rule: "必填;扣减为负数", RuleEN: "required; negative for a deduction", Example: "20"},
			{Name: "AfterBonus", Label: "变更后积分", Type: Decimal, Required: true, Rule: "必填;变更后余额", RuleEN: "required; the balance after", Example: "220"},
			{Name: "RefID", Label: "业务单号", Type: String, Required: true, Rule: "必填", RuleEN: "required", Example: "12ddd3"},
			{Name: "CreateTime", Label: "积分变动时间", Type: DateTime, Required: true, Rule: "必填;yyyy-MM-dd HH:mm:ss", RuleEN: "required; yyyy-MM-dd HH:mm:ss", Example: "2020-06-24 15:16:45"},
			{Name: "Desc", Label: "积分变更备注", Type: String, URLText: true, Rule: "选填", RuleEN: "optional", Example: "测试备注"},
		},
	},
	crmsync.KindVerify: {
		Kind: crmsync.KindVerify, Path: "/Score/v1/Verify/Inform/", Title: "积分处理结果通知",
		Money: Money{Points: "Bonus"},
		Fields: []Field{
			{Name: "RefID", Label: "积分申请单号", Type: String, Required: true, Rule: "必填", RuleEN: "required", Example: "12ddd3"},
			{Name: "BonusAction", Label: "积分类型", Type: Int, Required: true, Enum: BonusActions, Rule: "必填;积分操作行为枚举", RuleEN: "required; BonusAction code", Example: "4"},
			{Name: "Bonus", Label: "最终获得积分值", Type: Decimal, Required: true, Rule: "必填", RuleEN: "required", Example: "20"},
			{Name: "CurrentBonus", Label: "会员当前可用积分", Type: Decimal, Required: true, Rule: "必填", RuleEN: "required", Example: "220"},
			{Name: "BonusVerifyStatus", Label: "积分审核处理结果", Type: Int, Required: true, Enum: VerifyStatuses, Closed: true, Rule: "必填;1 通过,-1 拒绝", RuleEN: "required; 1 approved, -1 refused", Example: "1"},
			{Name: "BonusVerifyTime", Label: "积分审核时间", Type: DateTime, Required: true, Rule: "必填;yyyy-MM-dd HH:mm:ss", RuleEN: "required; yyyy-MM-dd HH:mm:ss", Example: "2020-06-24 15:16:45"},
			{Name: "Desc", Label: "处理备注", Type: String, URLText: true, Rule: "选填", RuleEN: "optional", Example: "测试备注"},
		},
	},
	crmsync.KindInvalid: {
		Kind: crmsync.KindInvalid, Path: "/Score/v1/Invalid/Inform/", Title: "积分作废回调通知",
		Fields: []Field{
			{Name: "RefID", Label: "积分申请单号", Type: String, Required: true, Rule: "必填", RuleEN: "required", Example: "12ddd3"},
			{Name: "BonusAction", Label: "积分类型", Type: Int, Required: true, Enum: BonusActions, Rule: "必填;积分操作行为枚举", RuleEN: "required; BonusAction code", Example: "4"},
			{Name: "Desc", Label: "作废原因", Type: String, URLText: true, Rule: "选填", RuleEN: "optional", Example: "测试备注"},
		},
	},
}
