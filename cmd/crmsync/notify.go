package main

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/notify"
)

// notifyCommand is `crmsync notify -test`: a test message to every
// destination the config names, so a new robot or mailbox is known to work
// before the first night.
type notifyCommand struct{ *env }

func (c *notifyCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlags("notify")
	test := fs.Bool("test", false, "send a test message to every configured destination")
	config := fs.String("config", "", "settings `file` (TOML); default $CRMSYNC_CONFIG")
	var language lang // "": the config's
	fs.Var(&language, "lang", "message language: zh or en (default: the config's lang, else zh)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if !*test {
		return usagef("say -test: crmsync notify -test sends a test message to every [[notify]] destination")
	}
	path := *config
	if path == "" {
		path = c.getenv("CRMSYNC_CONFIG")
	}
	if path == "" {
		return usagef("name the config file that holds the [[notify]] destinations: -config FILE (or $CRMSYNC_CONFIG)")
	}
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	dests, err := notify.NewAll(cfg.Notify)
	if err != nil {
		return fmt.Errorf("config %s: %w", cfg.path, err)
	}
	if len(dests) == 0 {
		return fmt.Errorf("no [[notify]] destination in %s: add one (see the README, Notifications)", cfg.path)
	}
	n := notify.Test(cfg.Mall, string(cmp.Or(language, cfg.Lang)), time.Now())
	failed := 0
	for _, d := range dests {
		if err := d.Send(ctx, n); err != nil {
			failed++
			c.logger.Error("test message not delivered", "destination", d.Name(), "err", err)
			continue
		}
		c.logger.Info("test message delivered", "destination", d.Name())
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d destinations did not take the test message (see above)", failed, len(dests))
	}
	return nil
}

// announce tells every configured destination that wants it how a run
// ended. A destination that cannot be reached is logged and changes
// nothing else: not the exit code, not the ledger.
func (e *env) announce(ctx context.Context, command string, cfg *fileConfig, s *crmsync.Summary, code int, lang string, runErr error) {
	if cfg == nil || len(cfg.Notify) == 0 {
		return
	}
	dests, err := notify.NewAll(cfg.Notify)
	if err != nil { // checked when the config was read; kept for safety
		e.logger.Error("notifications not sent", "err", err)
		return
	}
	if lang == "" {
		lang = string(cfg.Lang)
	}
	mall := cfg.Mall
	if s != nil && s.Mall != "" {
		mall = s.Mall // the ledger's, when the config names none
	}
	n := notify.FromSummary(mall, lang, s, code, noticeCauses(s, lang, runErr))
	if n.Command == "" {
		n.Command = command // the run never began
	}
	// Delivery must not outlive an interrupt by much, nor hang a cron job.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	for _, d := range dests {
		if !d.Wants(code) {
			continue
		}
		if err := d.Send(ctx, n); err != nil {
			e.logger.Error("notification not delivered", "destination", d.Name(), "err", err)
			continue
		}
		e.logger.Info("notification delivered", "destination", d.Name())
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
	if s.Stopped != "" {
		out = append(out, crmsync.Cause{Text: pick("发送提前停止", "sending stopped early"),
			Fix: pick("检查密钥、商场和时钟;修正后运行 crmsync retry", "check the keys, the mall and the clock; then run crmsync retry")})
	}
	files := 0
	for _, f := range s.Files {
		switch {
		case f.Code == importer.ProblemNoInput:
			out = append(out, crmsync.Cause{Text: pick("没有找到导入文件", "no input file found"), Count: 1,
				Fix: pick("检查CRM导出是否完成、文件是否放在这个文件夹;没有数据的夜晚属正常时设 allow_empty = true", "check that the CRM export ran and its files are in this folder; set allow_empty = true where nights without data are normal")})
		case f.Problem != "":
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
