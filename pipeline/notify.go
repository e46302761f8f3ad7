package pipeline

import (
	"context"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/notify"
)

// Notifier is one destination told how a run ended (a *notify.Destination).
type Notifier interface {
	crmsync.Notifier
	// Name is the destination's label in logs; never its URL or keys.
	Name() string
	// Wants reports whether a run that ended with exitCode is to be
	// notified here.
	Wants(exitCode int) bool
}

var _ Notifier = (*notify.Destination)(nil)

// NoticeTimeout bounds the delivery of a run's notice, however the run
// ended: delivery must not outlive an interrupt by much, nor hang a cron job.
const NoticeTimeout = 2 * time.Minute

// Announce tells every notifier that wants it how a run of command ended:
// s is its summary (nil when the run never began), code the exit code the
// process exits with, runErr the run-level trouble. mall and lang are the
// config's; the summary's mall (the ledger's) wins. A destination that
// cannot be reached is logged and changes nothing else: not the exit code,
// not the ledger.
func Announce(ctx context.Context, ns []Notifier, mall, lang, command string, s *crmsync.Summary, code int, runErr error, log *slog.Logger) {
	if len(ns) == 0 {
		return
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if s != nil && s.Mall != "" {
		mall = s.Mall // the ledger's, when the config names none
	}
	n := notify.FromSummary(mall, lang, s, code, noticeCauses(s, lang, runErr))
	if n.Command == "" {
		n.Command = command // the run never began
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), NoticeTimeout)
	defer cancel()
	for _, d := range ns {
		if !d.Wants(code) {
			continue
		}
		if err := d.Send(ctx, n); err != nil {
			log.Error("notification not delivered", "destination", d.Name(), "err", err)
			continue
		}
		log.Info("notification delivered", "destination", d.Name())
	}
}

// causesOf sums up why a run needs a person, most rows first: counts and
// what to do, never a row's content (a reason may quote a cell, so reasons
// themselves stay in the reports).
func causesOf(s *crmsync.Summary, lang string, runErr error) []crmsync.Cause {
	en := lang == "en"
	pick := func(zh, e string) string {
		if en {
			return e
		}
		return zh
	}
	var out []crmsync.Cause
	if runErr != nil {
		out = append(out, crmsync.Cause{Text: pick("运行失败", "the run failed"),
			Fix: pick("查看日志中的错误,修正配置或凭据后重新运行", "see the error in the log; fix the setup or credentials and run again")})
	}
	if s == nil {
		return out
	}
	if !s.Stopped.IsZero() {
		out = append(out, crmsync.Cause{Text: pick("发送提前停止", "sending stopped early"),
			Fix: pick("检查密钥、商场和时钟;修正后运行 crmsync retry", "check the keys, the mall and the clock; then run crmsync retry")})
	}
	files := 0
	for _, f := range s.Files {
		switch {
		case f.Code == importer.ProblemNoInput:
			out = append(out, crmsync.Cause{Text: pick("没有找到导入文件", "no input file found"), Count: 1,
				Fix: pick("检查CRM导出是否完成、文件是否放在这个文件夹;没有数据的夜晚属正常时设 allow_empty = true", "check that the CRM export ran and its files are in this folder; set allow_empty = true where nights without data are normal")})
		case !f.Problem.IsZero():
			files++
		}
	}
	if files > 0 {
		out = append(out, crmsync.Cause{Text: pick("文件无法读取", "files that could not be read"), Count: files,
			Fix: pick("见报告汇总页的文件问题", "see the file problems on the report's summary sheet")})
	}
	fixes := []struct {
		o       crmsync.Outcome
		zh, en  string
		fz, fen string
	}{
		{crmsync.OutcomeInvalid, "行数据有误", "invalid rows", "在问题工作簿中改正单元格后导入", "fix the cells in the problems workbook and run crmsync on it"},
		{crmsync.OutcomeRejected, "被猫酷拒绝", "rejected by Mallcoo", "按报告中猫酷的 Message 修正后重新导入", "fix the rows per Mallcoo's message in the report and run them again"},
		{crmsync.OutcomeFailed, "发送失败(网络或猫酷故障)", "not delivered (network or Mallcoo trouble)", "无需改单元格:crmsync retry 或下一次运行会重发", "no cell to fix: crmsync retry or the next run resends them"},
		{crmsync.OutcomeUncertain, "结果未知", "uncertain", "在猫酷中核实是否已到达,再 crmsync retry -uncertain", "check in Mallcoo whether they arrived, then crmsync retry -uncertain"},
		{crmsync.OutcomeBlocked, "因同一会员的前序事件未完成而暂缓", "held behind an earlier event of the member", "处理前序事件后,下一次运行按顺序发送", "resolve the earlier event; the next run sends them in order"},
		{crmsync.OutcomeChanged, "与已发送内容不同", "changed since sent", "对比报告中的新旧内容,用新的单号发送更正", "compare old and new in the report; send a correction under a new key"},
		{crmsync.OutcomeDuplicate, "同一批输入中键重复", "duplicate keys in the input", "检查第二行是否需要自己的单号", "check whether the second row needs its own ID"},
	}
	start := len(out)
	for _, f := range fixes {
		if n := s.Counts[f.o]; n > 0 {
			out = append(out, crmsync.Cause{Text: pick(f.zh, f.en), Count: n, Fix: pick(f.fz, f.fen)})
		}
	}
	// Most rows first; the order above breaks ties.
	slices.SortStableFunc(out[start:], func(a, b crmsync.Cause) int { return b.Count - a.Count })
	return out
}

// noticeCauses are the causes a notification names: the report's causes
// (grouped by code, column and value, with the fix) when it has them, else
// the counts by outcome — stripped of anything that could be a member's
// data: a cause's cell value is kept only when it is a mall's word for a
// code (an enum: 微信, 现金), never an amount, ID or text, and any run of six
// or more digits left (a card ID or mobile in Mallcoo's message) is masked.
func noticeCauses(s *crmsync.Summary, lang string, runErr error) []crmsync.Cause {
	if s == nil || len(s.Causes) == 0 {
		return causesOf(s, lang, runErr)
	}
	// How the run failed or why sending stopped first, then the rows.
	out := causesOf(&crmsync.Summary{Stopped: s.Stopped}, lang, runErr)
	for _, c := range s.Causes {
		keep := c.Code == crmsync.ReasonUnmapped || c.Code == crmsync.ReasonNotAllowed
		text, fix := c.Text, c.Fix
		if c.Value != "" && !keep {
			text = strings.ReplaceAll(text, c.Value, "…")
			fix = strings.ReplaceAll(fix, c.Value, "…")
		}
		out = append(out, crmsync.Cause{Text: maskDigits(text), Count: c.Count, Fix: maskDigits(fix)})
	}
	return out
}

var digitRun = regexp.MustCompile(`[0-9]{6,}`)

// maskDigits hides runs of six or more digits.
func maskDigits(s string) string {
	return digitRun.ReplaceAllStringFunc(s, func(d string) string { return strings.Repeat("*", len(d)) })
}
