package main

import (
	"fmt"

	"github.com/crmsync/crmsync"
)

// samples is everything samplegen writes.
type samples struct {
	score  *table
	member *table
	sheets []*table // in workbook order
}

func build() samples {
	return samples{
		score:  buildScore(),
		member: buildMember(),
		sheets: []*table{
			buildNotes(),
			buildGrade(),
			buildScoreV2(),
			buildPromotions(),
			buildPayments(),
			buildBonus(),
			buildVerify(),
			buildInvalid(),
			buildOverLimit(),
		},
	}
}

// card returns the CRM card ID of member n: 13 characters with a leading zero.
func card(n int) string { return fmt.Sprintf("02017100000%02d", n) }

// csvTime writes hh:mm:ss on the business date the way the CRM's CSV export
// does: 2024/11/1 10:05:03.
func csvTime(hms string) string { return "2024/11/1 " + hms }

// buildScore is the GBK CSV of sales and returns, headed by Chinese labels.
func buildScore() *table {
	t := newTable(scoreCSVName, "", crmsync.KindScore, "", true, fieldsOf(crmsync.KindScore)...)
	byID := map[string][]string{}
	sale := func(id string, member int, hms, amount, shop, serial, pos, score string) int {
		r := []string{id, card(member), "1", csvTime(hms), amount, shop, serial, pos, "", "", score, ""}
		byID[id] = r
		return t.addText(r...)
	}
	// ret returns (part of) the sale orig later in the day: TradeTime,
	// TradeAmount, shop and POS are the sale's, TradeSerialNo its TransID.
	ret := func(id, orig, hms, amount, score string) int {
		o := byID[orig]
		returnTime := ""
		if hms != "" {
			returnTime = csvTime(hms)
		}
		return t.addText(id, o[1], "2101", o[3], o[4], o[5], orig, o[7], returnTime, amount, score, "")
	}

	sale("T20241101000101", 1, "10:05:03", "1,280.50", "S0012", "POS-88812", "POS01", "1280")
	sale("T20241101000102", 2, "10:12:47", " 99.9 ", "S0023", "", "", "99")
	sale("T20241101000103", 3, "10:18:30", "356.00", "S0031", "POS-31007", "POS03", "356")
	sale("T20241101000104", 4, "10:26:11", "2,499.00", "S0047", "", "", "2499")
	sale("T20241101000105", 5, "10:33:52", "68.50", "S0015", "", "", "68")
	sale("T20241101000106", 6, "10:41:05", "1,099.00", "S0058", "POS-58001", "POS07", "1099")
	i := t.addText("T20241101000107", "2.01710E+11", "1", csvTime("10:47:39"), "459.00", "S0012", "POS-88817", "POS01", "", "", "459", "")
	t.mark(i, "ThirdPartyCardID", "invalid", "card ID in scientific notation (Excel turned 0201710000011 into a number): the real ID is lost")
	sale("T20241101000108", 7, "10:55:20", "188.00", "S0063", "", "", "188")
	sale("T20241101000109", 8, "11:02:44", "5,680.00", "S0102", "POS-10201", "POS11", "5680")
	dupOf := sale("T20241101000110", 1, "11:15:09", "239.00", "S0023", "", "", "239")
	sale("T20241101000111", 9, "11:28:31", "128.80", "S0031", "", "", "128")
	sale("T20241101000112", 10, "11:40:02", "899.00", "S0047", "POS-47015", "POS05", "899")
	sale("T20241101000113", 12, "11:52:16", "45.00", "S0015", "", "", "45")
	sale("T20241101000114", 2, "12:06:38", "3,200.00", "S0058", "", "", "3200")
	i = sale("T20241101000115", 3, "12:19:55", "76.00", "S0063", "", "", "-76")
	t.mark(i, "Score", "invalid", "a sale (ScoreEvent 1) with a negative score (-76)")
	sale("T20241101000116", 4, "12:31:20", "1,560.00", "S0012", "POS-88840", "POS02", "1560")
	i = t.addText("T20241101000117", card(5), "1", "2024-13-45 10:00:00", "210.00", "S0015", "", "", "", "", "210", "")
	t.mark(i, "TradeTime", "invalid", "not a date: 2024-13-45 10:00:00 (month 13, day 45)")
	sale("T20241101000118", 6, "13:02:14", "299.00", "S0102", "", "", "299")
	i = sale("T20241101000119", 7, "13:15:41", "12,3x.00", "S0047", "", "", "123")
	t.mark(i, "TradeAmount", "invalid", "not a number: 12,3x.00")
	sale("T20241101000120", 8, "13:27:03", "620.00", "S0023", "", "", "620")
	sale("T20241101000121", 9, "13:44:50", "1,888.00", "S0058", "POS-58019", "POS07", "1888")
	ret("R20241101000201", "T20241101000101", "14:02:18", "1,280.50", "-1280")
	sale("T20241101000122", 10, "14:15:27", "268.00", "S0031", "", "", "268")
	sale("T20241101000123", 11, "14:30:00", "799.00", "S0012", "", "", "799")
	sale("T20241101000124", 12, "14:48:36", "1,350.00", "S0063", "", "", "1350")
	ret("R20241101000202", "T20241101000104", "15:05:42", "2,499.00", "-2499")
	sale("T20241101000125", 2, "15:20:13", "158.00", "S0015", "", "", "158")
	sale("T20241101000126", 3, "15:36:49", "2,080.00", "S0102", "POS-10233", "POS11", "2080")
	ret("R20241101000203", "T20241101000109", "15:58:10", "1,680.00", "-1680")
	sale("T20241101000127", 5, "16:10:25", "520.00", "S0047", "", "", "520")
	sale("T20241101000128", 6, "16:25:58", " 39.9 ", "S0023", "", "", "39")
	i = ret("R20241101000204", "T20241101000111", "", "128.80", "-128")
	t.mark(i, "ReturnTime", "invalid", "a return (ScoreEvent 2101) without ReturnTime")
	sale("T20241101000129", 7, "16:52:07", "3,499.00", "S0058", "POS-58042", "POS08", "3499")
	ret("R20241101000205", "T20241101000112", "17:10:33", "899.00", "-899")
	sale("T20241101000130", 1, "17:35:40", "1,020.00", "S0012", "", "", "1020")
	sale("T20241101000131", 12, "18:02:19", "88.00", "S0015", "", "", "88")
	ret("R20241101000206", "T20241101000114", "18:30:05", "3,200.00", "-3200")
	sale("T20241101000132", 11, "19:05:48", "2,350.00", "S0102", "", "", "2350")
	ret("R20241101000207", "T20241101000118", "19:40:22", "299.00", "-299")
	i = t.add(t.rows[dupOf]...)
	t.mark(i, "TransID", "duplicate", fmt.Sprintf("TransID T20241101000110 again, same content as row %d (the first one wins)", excelRow(dupOf)))
	return t
}

// buildMember is the UTF-8 CSV of member-profile change notices.
func buildMember() *table {
	t := newTable(memberCSVName, "", crmsync.KindMember, "", false, "ThirdPartyCardID", "Mobile")
	t.header = []string{"thirdpartycardid", "Mobile"}
	t.style = "API names, mixed case"
	t.addText(card(1), "13800138001")
	t.addText(card(2), "")
	t.addText("", "13912345678")
	t.addText(card(5), "13600001111")
	i := t.addText("", "无")
	t.mark(i, "Mobile", "invalid", "no card ID, and the mobile cell says 无 (none): neither ThirdPartyCardID nor a valid Mobile")
	t.addText(card(7), "")
	i = t.addText("", "1371234567")
	t.mark(i, "Mobile", "invalid", "mobile 1371234567 has 10 digits, want 11")
	t.addText(card(10), "15155145475")
	return t
}

func buildNotes() *table {
	return &table{file: xlsxName, sheet: "说明", notes: true, rows: [][]cell{
		{text("商场CRM数据导出 — 业务日期 2024-11-01,导出时间 2024-11-02 01:30")},
		{text("每个工作表对应一个猫酷接口,工作表名为接口类型(如 score-v2)或接口中文名称(如 会员等级变更通知)。")},
		{text("score-v2.promotions、score-v2.payments 为消费积分V2的优惠明细和支付明细,按 TransID 关联。")},
		{text("所有时间均为北京时间(UTC+8)。金额单位:元。")},
		{text("本工作表仅为说明,导入时跳过。")},
	}}
}

// buildGrade is the grade sheet, named by the Chinese title, headed by labels.
func buildGrade() *table {
	t := newTable(xlsxName, "会员等级变更通知", crmsync.KindGrade, "", true,
		"ThirdPartyCardID", "BeforeCardCode", "AfterCardCode", "ChangeType", "ChangeTime",
		"Remark", "GradeChangeRuleID", "GradeChangeType", "GradeChangeID")
	opt := func(f float64) cell {
		if f == 0 {
			return cell{}
		}
		return number(f)
	}
	// changeType is a word (升级/降级) as text or a 0/1 number.
	row := func(member int, before, after string, changeType cell, hms, remark string, rule, gradeChangeType float64, id string) int {
		return t.add(text(card(member)), text(before), text(after), changeType, at(hms), text(remark),
			opt(rule), opt(gradeChangeType), text(id))
	}
	up, down := text("升级"), text("降级")
	row(5, "铂金卡", "金卡", down, "00:30:00", "年度保级未达标", 2001, 1, "GC20241101001")
	row(9, "银卡", "普卡", number(1), "00:30:00", "年度保级未达标", 2001, 1, "GC20241101002")
	row(1, "普卡", "银卡", up, "10:06:10", "单笔消费满1000元升级", 1001, 1, "GC20241101003")
	row(3, "普卡", "银卡", number(0), "10:19:02", "累计消费升级", 1002, 1, "")
	row(4, "银卡", "金卡", up, "10:27:00", "", 1001, 1, "GC20241101004")
	i := row(6, "普卡", "银卡", text("升降"), "10:42:00", "单笔消费满1000元升级", 1001, 1, "GC20241101005")
	t.mark(i, "ChangeType", "invalid", "ChangeType 升降 is neither 升级 (0) nor 降级 (1)")
	row(8, "金卡", "铂金卡", number(0), "11:03:30", "单笔消费满5000元升级", 1003, 1, "")
	row(2, "银卡", "金卡", up, "12:07:15", "单笔消费满3000元升级", 1003, 1, "GC20241101006")
	row(12, "普卡", "银卡", number(0), "14:49:20", "", 0, 0, "")
	row(4, "金卡", "银卡", down, "15:06:30", "退货降级", 3001, 1, "GC20241101007")
	row(3, "银卡", "金卡", up, "15:37:40", "累计消费升级", 1002, 1, "GC20241101008")
	row(7, "普卡", "金卡", number(0), "16:53:00", "单笔消费满3000元升级", 1003, 1, "")
	row(10, "金卡", "钻石卡", up, "17:20:00", "人工调整", 0, 2, "GC20241101009")
	row(2, "金卡", "银卡", number(1), "18:31:00", "退货降级", 3001, 1, "")
	row(11, "银卡", "金卡", number(0), "19:06:30", "累计消费升级", 1002, 1, "GC20241101010")
	return t
}

// buildScoreV2 is the score-v2 order sheet, headed by API names. Its lists
// come from the promotions and payments sheets.
func buildScoreV2() *table {
	t := newTable(xlsxName, "score-v2", crmsync.KindScoreV2, "", false,
		"TransID", "ThirdPartyCardID", "ScoreEvent", "TradeTime", "PayAmount", "TotalAmount",
		"PromotionAmount", "CrmShopID", "TradeSerialNo", "PosID", "Score")
	row := func(id string, member cell, tradeTime cell, pay, total, promo float64, shop, serial, pos string, score float64) int {
		return t.add(text(id), member, number(1), tradeTime, number(pay), number(total), number(promo),
			text(shop), text(serial), text(pos), number(score))
	}
	row("V2T20241101000301", text(card(1)), at("10:45:00"), 1280.5, 1380.5, 100, "S0012", "POS-88901", "POS01", 1280)
	row("V2T20241101000302", text(card(2)), at("10:58:20"), 459, 459, 0, "S0023", "", "", 459)
	row("V2T20241101000303", text(card(5)), number(serial("10:30:00")), 368.9, 418.9, 50, "S0031", "", "", 368)
	row("V2T20241101000304", number(201710000009), at("11:20:15"), 2680, 2980, 300, "S0058", "POS-58101", "POS07", 2680)
	row("V2T20241101000305", text(card(6)), at("12:40:30"), 99.9, 99.9, 0, "S0015", "", "", 99)
	i := row("V2T20241101000306", text(card(7)), at("13:55:45"), 1288, 1388, 50, "S0047", "POS-47102", "POS05", 1288)
	t.mark(i, "TotalAmount", "warning", "TotalAmount 1388 ≠ PayAmount 1288 + PromotionAmount 50 (= 1338): warned, still valid and sent")
	row("V2T20241101000307", text(card(10)), at("15:10:10"), 799, 899, 100, "S0063", "", "", 799)
	row("V2T20241101000308", text(card(12)), at("16:40:00"), 5200, 5200, 0, "S0102", "POS-10288", "POS11", 5200)
	return t
}

func buildPromotions() *table {
	t := newTable(xlsxName, "score-v2.promotions", crmsync.KindScoreV2, "ConsumePromotionList", false,
		"TransID", "PromotionType", "RuleNo", "No", "Amount", "Desc")
	row := func(id string, typ float64, rule, no string, amount float64, desc string) {
		t.add(text(id), number(typ), text(rule), text(no), number(amount), text(desc))
	}
	row("V2T20241101000301", 6, "RNO20241101", "No880012", 100, "满1000减100")
	row("V2T20241101000303", 6, "RNO20241102", "No880013", 50, "会员券")
	row("V2T20241101000304", 6, "RNO20241103", "No880014", 200, "满2000减200")
	row("V2T20241101000304", 3, "RNO20241104", "", 100, "积分抵现")
	row("V2T20241101000306", 6, "RNO20241102", "No880015", 50, "会员券")
	row("V2T20241101000307", 6, "RNO20241101", "No880016", 100, "满1000减100")
	return t
}

// buildPayments is the payments sheet, headed by Chinese labels.
func buildPayments() *table {
	t := newTable(xlsxName, "score-v2.payments", crmsync.KindScoreV2, "ConsumePayList", true,
		"TransID", "PayType", "PayNo", "Amount")
	row := func(id string, typ float64, no string, amount float64) {
		t.add(text(id), number(typ), text(no), number(amount))
	}
	row("V2T20241101000301", 12, "PNO2024110100301A", 1000)
	row("V2T20241101000301", 3, "PNO2024110100301B", 280.5)
	row("V2T20241101000302", 12, "PNO2024110100302", 459)
	row("V2T20241101000304", 12, "PNO2024110100304A", 2000)
	row("V2T20241101000304", 1, "PNO2024110100304B", 680)
	row("V2T20241101000306", 12, "PNO2024110100306", 1288)
	row("V2T20241101000307", 12, "PNO2024110100307A", 500)
	row("V2T20241101000307", 3, "PNO2024110100307B", 299)
	row("V2T20241101000308", 1, "PNO2024110100308", 5200)
	return t
}

// buildBonus is the points-change sheet, named by the Chinese title, headed
// by labels. AfterBonus is each member's running balance in CreateTime order.
func buildBonus() *table {
	t := newTable(xlsxName, "CRM积分变更事件", crmsync.KindBonus, "", true,
		"ThirdPartyCardID", "BonusAction", "GetBonus", "AfterBonus", "RefID", "CreateTime", "Desc")
	balance := map[int]float64{1: 2280, 2: 800, 3: 600, 5: 1500, 8: 5200, 10: 300, 12: 120}
	row := func(member int, action, get float64, ref, hms, desc string) int {
		balance[member] += get
		return t.add(text(card(member)), number(action), number(get), number(balance[member]), text(ref), at(hms), text(desc))
	}
	row(1, 7, 5, "BN20241101001", "09:01:12", "签到奖励")
	row(3, 7, 5, "BN20241101002", "09:15:40", "签到奖励")
	row(5, 4, 200, "BN20241101003", "09:30:00", "生日双倍积分")
	row(1, 1, 1280, "BN20241101004", "10:06:00", "消费积分")
	row(3, 1, 356, "BN20241101005", "10:19:30", "")
	row(2, 6, 50, "BN20241101006", "10:40:25", "抽奖赠送积分")
	row(5, 4, -500, "BN20241101007", "11:10:00", "积分兑换礼品")
	i := row(12, 4, -20, "", "12:00:00", "停车缴费抵扣")
	t.mark(i, "RefID", "invalid", "RefID (业务单号) is empty; it is required")
	row(8, 4, -1000, "BN20241101008", "13:20:00", "积分兑换停车券")
	row(1, 4, -1280, "BN20241101009", "14:03:00", "退货扣减积分")
	row(2, 4, 100, "BN20241101010", "15:00:00", "测试备注")
	row(10, 7, 5, "BN20241101011", "16:00:00", "签到奖励")
	return t
}

func buildVerify() *table {
	t := newTable(xlsxName, "verify", crmsync.KindVerify, "", false,
		"RefID", "BonusAction", "Bonus", "CurrentBonus", "BonusVerifyStatus", "BonusVerifyTime", "Desc")
	row := func(ref string, action, bonus, current, status float64, hms, desc string) {
		t.add(text(ref), number(action), number(bonus), number(current), number(status), at(hms), text(desc))
	}
	row("A20241031001", 1, 328, 2613, 1, "10:10:00", "审核通过")
	row("A20241031002", 1, 0, 850, -1, "10:12:30", "小票重复提交,拒绝")
	row("A20241031003", 1, 1580, 3780, 1, "11:00:05", "审核通过")
	row("A20241101004", 4, 0, 1200, -1, "14:00:00", "小票金额与商户记录不符")
	row("A20241101005", 1, 88, 393, 1, "16:20:40", "审核通过,补录积分")
	return t
}

// buildInvalid is the voided-points sheet, named by the Chinese title,
// headed by labels.
func buildInvalid() *table {
	t := newTable(xlsxName, "积分作废回调通知", crmsync.KindInvalid, "", true, "RefID", "BonusAction", "Desc")
	t.add(text("A20241030011"), number(1), text("退货作废积分"))
	t.add(text("A20241030012"), number(1), text("重复申请作废"))
	t.add(text("A20241031021"), number(4), text("小票信息不符"))
	return t
}

func buildOverLimit() *table {
	t := newTable(xlsxName, "over-limit", crmsync.KindOverLimit, "", false,
		"RefID", "ShopCode", "Value", "RuleValue", "BonusAction", "CurBonusAction",
		"BonusLimitSceneType", "BonusLimitObjType", "BonusLimitActionType", "BonusLimitTimeType", "Desc")
	opt := func(f float64) cell {
		if f == 0 {
			return cell{}
		}
		return number(f)
	}
	row := func(ref, shop, value, rule string, action, cur, scene, obj, act, tm float64, desc string) {
		t.add(text(ref), text(shop), text(value), text(rule), opt(action), opt(cur),
			opt(scene), opt(obj), opt(act), opt(tm), text(desc))
	}
	row("OL20241101001", "S0102", "5680", "5000", 1, 1, 2, 2, 1, 1, "单笔消费积分超商户每日上限")
	row("OL20241101002", "", "12", "10", 7, 0, 0, 0, 0, 0, "当日签到次数超上限")
	row("OL20241101003", "S0058", "6", "5", 1, 1, 1, 2, 2, 2, "当月消费积分次数超上限")
	return t
}
