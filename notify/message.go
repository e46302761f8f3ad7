package notify

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmsync/crmsync"
)

// FromSummary returns the notice of a finished run: its counts and paths
// from s (nil when the run never began), how it ended, and the top causes
// the caller has counted (most frequent first).
func FromSummary(mall, lang string, s *crmsync.Summary, exitCode int, causes []crmsync.Cause) crmsync.Notice {
	n := crmsync.Notice{Mall: mall, Lang: lang, ExitCode: exitCode, Causes: causes}
	if s == nil {
		return n
	}
	n.Command = s.Command
	n.RunID = s.RunID
	n.Rows = s.Rows
	n.Counts = s.Counts
	n.ByKind = s.ByKind
	n.Report = s.Report
	n.Problems = s.Problems
	n.Started = s.Started
	if !s.Ended.IsZero() && !s.Started.IsZero() {
		n.Duration = s.Ended.Sub(s.Started)
	} else {
		n.Duration = time.Duration(s.DurationS * float64(time.Second))
	}
	return n
}

// Test returns the message `crmsync notify -test` sends to every
// destination: it says where it comes from and that nothing ran.
func Test(mall, lang string, now time.Time) crmsync.Notice {
	return crmsync.Notice{Mall: mall, Lang: lang, Command: "notify -test", Started: now, Test: true}
}

// words are the message's texts: zh, en.
var words = map[string][2]string{
	"test":        {"测试消息:crmsync 的通知能送到这里。没有运行任何同步。", "Test message: crmsync notifications reach this place. Nothing was synchronised."},
	"run":         {"运行", "run"},
	"exit0":       {"全部完成", "all well"},
	"exit1":       {"运行失败", "the run failed"},
	"exit3":       {"有行需要人工处理", "rows need a person"},
	"exit130":     {"已中断", "interrupted"},
	"exitN":       {"结束", "ended"},
	"exitCode":    {"退出码", "exit"},
	"ended":       {"结果", "Result"},
	"counts":      {"行数", "Rows"},
	"total":       {"%d(%s)", "%d (%s)"},
	"causes":      {"主要问题", "Top problems"},
	"fix":         {"处理", "to do"},
	"more":        {"另有 %d 类问题,见问题工作簿", "%d more causes: see the problems workbook"},
	"report":      {"报告", "Report"},
	"problems":    {"问题工作簿", "Problems workbook"},
	"started":     {"开始", "Started"},
	"duration":    {"用时", "Duration"},
	"failedHint":  {"查看 crmsync 的日志(stderr)了解原因;修正后重新运行。", "See crmsync's log (stderr) for why; fix it and run again."},
	"intHint":     {"已完成的工作已记录;再次运行会从中断处继续。", "Work done so far is recorded; running again continues where it stopped."},
	"attached":    {"问题工作簿已附上:改正其中的单元格后用 crmsync 重新导入该文件。", "The problems workbook is attached: fix its cells and run crmsync on that file."},
	"notAttached": {"问题工作簿未附上(%s),见上面的路径。", "The problems workbook is not attached (%s); see the path above."},
	"tooBig":      {"超过 %d MB", "larger than %d MB"},
	"unreadable":  {"无法读取", "cannot be read"},
}

// lang is a message language: "zh" (the default) or "en".
type lang int

const (
	zh lang = iota
	en
)

func parseLang(s string) lang {
	if crmsync.English(s) {
		return en
	}
	return zh
}

// code is the language's code, "zh" or "en".
func (l lang) code() string {
	if l == en {
		return "en"
	}
	return "zh"
}

func (l lang) T(key string) string {
	w, ok := words[key]
	if !ok {
		return key
	}
	return w[l]
}

// ending says how the run ended, e.g. "有行需要人工处理(退出码 3)".
func (l lang) ending(code int) string {
	var w string
	switch code {
	case crmsync.ExitOK, crmsync.ExitFailed, crmsync.ExitNeedsPerson, crmsync.ExitInterrupted:
		w = l.T(fmt.Sprintf("exit%d", code))
	default:
		w = l.T("exitN")
	}
	if l == zh {
		return fmt.Sprintf("%s(%s %d)", w, l.T("exitCode"), code)
	}
	return fmt.Sprintf("%s (%s %d)", w, l.T("exitCode"), code)
}

// title is the message's headline: never truncated.
func title(n crmsync.Notice) string {
	l := parseLang(n.Lang)
	var b strings.Builder
	b.WriteString("crmsync")
	if n.Command != "" {
		b.WriteString(" " + oneLine(n.Command, 40))
	}
	if n.Mall != "" {
		b.WriteString(" · " + oneLine(n.Mall, 60))
	}
	if n.Test {
		return b.String()
	}
	if n.RunID != 0 {
		fmt.Fprintf(&b, " · %s #%d", l.T("run"), n.RunID)
	}
	sep := ": "
	if l == zh {
		sep = ":"
	}
	return b.String() + sep + l.ending(n.ExitCode)
}

// style is how a destination shows text.
type style int

const (
	plain    style = iota // email, Feishu text
	markdown              // WeCom markdown: a line end breaks the line
	dingMD                // DingTalk markdown: a line break needs two spaces before the line end
)

// render returns the message's body in the notice's language with at most
// maxCauses causes (-1: all), and how many it left out.
func render(n crmsync.Notice, st style, maxCauses int) (string, int) {
	l := parseLang(n.Lang)
	var b strings.Builder
	line := func(s string) {
		if st == dingMD && s != "" {
			s += "  "
		}
		b.WriteString(s + "\n")
	}
	colon := ": "
	if l == zh {
		colon = ":"
	}
	field := func(k, v string) {
		if st != plain {
			line("**" + l.T(k) + "**" + colon + v)
		} else {
			line(l.T(k) + colon + v)
		}
	}
	head := title(n)
	if st != plain {
		line("### " + head)
	} else {
		line(head)
	}
	if n.Test {
		line("")
		line(l.T("test"))
		if !n.Started.IsZero() {
			line("")
			field("started", n.Started.In(cst).Format("2006-01-02 15:04:05 -07:00"))
		}
		return b.String(), 0
	}
	line("")
	field("ended", l.ending(n.ExitCode))
	switch n.ExitCode {
	case crmsync.ExitFailed:
		line(l.T("failedHint"))
	case crmsync.ExitInterrupted:
		line(l.T("intHint"))
	}
	if counts := countsText(l, n.Counts); counts != "" {
		field("counts", fmt.Sprintf(l.T("total"), n.Rows, counts))
	}

	left := 0
	if len(n.Causes) > 0 {
		line("")
		if st != plain {
			line("**" + l.T("causes") + "**")
		} else {
			line(l.T("causes") + strings.TrimSpace(colon))
		}
		shown := n.Causes
		if maxCauses >= 0 && maxCauses < len(shown) {
			shown = shown[:maxCauses]
			left = len(n.Causes) - maxCauses
		}
		for i, c := range shown {
			s := fmt.Sprintf("%d. %s", i+1, oneLine(c.Text, 200))
			if c.Count > 0 {
				s += fmt.Sprintf(" × %d", c.Count)
			}
			if c.Fix != "" {
				if l == zh {
					s += "。" + l.T("fix") + ":" + oneLine(c.Fix, 200)
				} else {
					s += ". " + strings.ToUpper(l.T("fix")[:1]) + l.T("fix")[1:] + ": " + oneLine(c.Fix, 200)
				}
			}
			line(s)
		}
		if left > 0 {
			line(fmt.Sprintf(l.T("more"), left))
		}
	}

	line("")
	if n.Report != "" {
		field("report", n.Report)
	}
	if n.Problems != "" {
		field("problems", n.Problems)
	}
	if !n.Started.IsZero() {
		field("started", n.Started.In(cst).Format("2006-01-02 15:04:05 -07:00"))
	}
	field("duration", n.Duration.Round(time.Second).String())
	return b.String(), left
}

// countsText is "已发送 120 · 无效 3", in report order, zero counts left out.
func countsText(l lang, counts map[crmsync.Outcome]int) string {
	var parts []string
	for _, o := range crmsync.Outcomes {
		if c := counts[o]; c != 0 {
			parts = append(parts, fmt.Sprintf("%s %d", o.Word(l.code()), c))
		}
	}
	for o, c := range counts { // an outcome this version does not know
		if c != 0 && !known(o) {
			parts = append(parts, fmt.Sprintf("%s %d", o, c))
		}
	}
	return strings.Join(parts, " · ")
}

func known(o crmsync.Outcome) bool {
	for _, k := range crmsync.Outcomes {
		if k == o {
			return true
		}
	}
	return false
}

// fit renders n in the largest form whose size (measured by size) is at
// most limit: all causes if they fit, else as many as fit, the headline and
// counts always.
func fit(n crmsync.Notice, st style, limit int, size func(string) int) string {
	body, _ := render(n, st, -1)
	if size(body) <= limit {
		return body
	}
	lo, hi := 0, len(n.Causes) // the largest k in [lo, hi) that fits
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if b, _ := render(n, st, mid); size(b) <= limit {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	body, _ = render(n, st, lo)
	return body
}

// oneLine keeps s on one line and at most max runes, so a long cause
// cannot crowd out the others.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// cst is China Standard Time: a message says when a run started the way
// the reports and logs do, whatever the machine's zone.
var cst = time.FixedZone("CST", 8*3600)
