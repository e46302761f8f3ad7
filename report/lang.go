package report

import (
	"github.com/crmsync/crmsync"
)

// word is one label in both languages.
type word struct{ zh, en string }

// words is the translation table: every label the report, the problems
// workbook and the templates show goes through it.
var words = map[string]word{
	// Summary sheet.
	"summary":       {"汇总", "Summary"},
	"title":         {"crmsync 运行报告", "crmsync run report"},
	"problemsTitle": {"crmsync 待处理行", "crmsync rows to fix"},
	"templateTitle": {"crmsync 导入模板", "crmsync import template"},
	"runID":         {"运行ID", "Run ID"},
	"mall":          {"商场", "Mall"},
	"ledgerFile":    {"账本", "Ledger"},
	"command":       {"命令", "Command"},
	"started":       {"开始时间(北京时间)", "Started (UTC+8)"},
	"ended":         {"结束时间(北京时间)", "Ended (UTC+8)"},
	"duration":      {"用时(秒)", "Duration (s)"},
	"rows":          {"行数", "Rows"},
	"rowsPerSec":    {"吞吐(行/秒)", "Throughput (rows/s)"},
	"requests":      {"请求数(含重试)", "Requests (retries included)"},
	"reqPerSec":     {"请求/秒", "Requests/s"},
	"interrupted":   {"已中断", "Interrupted"},
	"applied":       {"已执行", "Applied"},
	"appliedBy":     {"已执行 apply RUN %d", "applied by run %d"},
	"yes":           {"是", "yes"},
	"no":            {"否", "no"},
	"stopped":       {"提前停止原因", "Stopped early because"},
	"needsPerson":   {"需要人工处理", "Needs a person"},
	"problemsFile":  {"待处理文件", "Problems workbook"},
	"listing":       {"逐行结果", "Every row's outcome"},
	"files":         {"输入文件", "Input files"},
	"path":          {"文件", "File"},
	"sheet":         {"工作表", "Sheet"},
	"kind":          {"类型", "Kind"},
	"rowsRead":      {"读取行数", "Rows read"},
	"problem":       {"问题", "Problem"},
	"counts":        {"各类型结果数", "Outcomes per kind"},
	"total":         {"合计", "Total"},
	"finance":       {"金额与积分合计", "Finance totals"},
	"field":         {"字段", "Field"},
	"read":          {"读取", "Read"},
	"attempted":     {"已尝试发送(已发送+被拒绝+失败)", "Attempted (sent + rejected + failed)"},
	"confirmed":     {"猫酷已确认(已发送)", "Confirmed by Mallcoo (sent)"},
	"rowCount":      {"行数", "rows"},
	"chartTitle":    {"各类型结果", "Outcomes per kind"},
	"causes":        {"问题原因(按原因归并)", "Problems by cause"},
	"cause":         {"原因", "Cause"},
	"hint":          {"一次修正的方法", "The one fix"},
	"firstRow":      {"首行", "First row"},
	"nextSteps":     {"下一步", "Next steps"},
	"performance":   {"运行性能", "Run performance"},
	"nextStepCol":   {"下一步", "next step"},
	"source":        {"来源", "source"},
	"nextStep":      {"怎么做", "What to do"},

	// Kind sheets.
	"sourceFile": {"来源文件", "Source file"},
	"row":        {"行号", "Row"},
	"key":        {"键", "Key"},
	"outcome":    {"结果", "Outcome"},
	"reason":     {"原因", "reason"},
	"reasonCol":  {"原因", "Reason"},
	"code":       {"猫酷Code", "Mallcoo Code"},
	"message":    {"猫酷Message", "Mallcoo Message"},
	"attempts":   {"尝试次数", "Attempts"},
	"changes":    {"改动(之前 → 本次)", "Changes (before → now)"},

	// Templates.
	"readme":   {"说明", "README"},
	"label":    {"列名", "Column"},
	"apiName":  {"API字段", "API name"},
	"type":     {"类型", "Type"},
	"required": {"必填", "required"},
	"optional": {"选填", "optional"},
	"reqCol":   {"是否必填", "Required"},
	"rule":     {"规则", "Rule"},
	"example":  {"示例", "Example"},
	"enum":     {"可选值", "Values"},
	"openEnum": {"(亦可填其他整数)", "(other integers accepted)"},
	"readmeEventID": {
		"可选:另加一列“事件ID”(EventID)作为事件的唯一键;没有时按字段自动生成。日期时间按北京时间填写。",
		"Optional: add an EventID column as the event's unique key; without it the key comes from the fields. Datetimes are Beijing time (UTC+8).",
	},
	"readmeBizDate": {
		"可选:另加一列“业务日期”(BusinessDate),同一会员同一业务日期只通知一次;没有时取文件名中的日期或当天。",
		"Optional: add a BusinessDate column; a member is notified once per business date. Without it the date in the file name, or today, is used.",
	},
	"readmeIntro": {
		"每行一个事件;第一行为表头(可用中文列名或API字段名,不区分大小写)。名为“原因”的列和本说明页在导入时被忽略。",
		"One event per row; the first row is the header (Chinese label or API name, any case). A column named reason and this sheet are ignored on import.",
	},

	// Field types.
	"t.string":   {"文本", "text"},
	"t.int":      {"整数", "integer"},
	"t.long":     {"长整数", "integer (64-bit)"},
	"t.decimal":  {"数字", "decimal"},
	"t.datetime": {"日期时间", "datetime"},
	"t.list":     {"列表", "list"},
}

// lang is a report language: "zh" (the default) or "en".
type lang string

func parseLang(s string) lang {
	if crmsync.English(s) {
		return "en"
	}
	return "zh"
}

// T returns the label for key in the language; an unknown key is returned
// as is, so a missing entry shows up in the output instead of a blank.
func (l lang) T(key string) string {
	w, ok := words[key]
	if !ok {
		return key
	}
	if l == "en" {
		return w.en
	}
	return w.zh
}

// outcome returns the word for an outcome.
func (l lang) outcome(o crmsync.Outcome) string { return o.Word(string(l)) }
