package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync"
)

// defaultRetention is how long per-row run results are kept when the
// config says nothing (DESIGN.md: 90 days).
const defaultRetention = 90 * 24 * time.Hour

// maxRetentionDays is the longest retention in days (about 290 years; a
// time.Duration holds no more).
const maxRetentionDays = int(math.MaxInt64 / int64(24*time.Hour))

// parseRetention reads a retention period: days ("90d") or a Go duration
// ("2160h"); it must be positive.
func parseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return defaultRetention, nil
	}
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, fmt.Errorf("retention %q: want a number of days such as \"90d\"", s)
		}
		// 24h × days must not overflow a Duration (213504d wrapped to 25
		// minutes and pruned every run's results).
		if days > maxRetentionDays {
			return 0, fmt.Errorf("retention %q: at most %dd", s, maxRetentionDays)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("retention %q: want a number of days such as \"90d\"", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("retention %q: must be more than 0", s)
	}
	return d, nil
}

// pruneCommand drops per-row results older than the retention period:
// crmsync prune [-keep 90d]; or one member's, on request: crmsync prune
// -member CARD.
type pruneCommand struct{ *env }

func (c *pruneCommand) Run(ctx context.Context, args []string) (int, error) {
	fs := c.newFlags("prune")
	path := fs.String("ledger", "crmsync.db", "the ledger `file` (SQLite)")
	keep := fs.String("keep", "", "keep the per-row results of runs that ended within this `period` (e.g. 90d; default the config's retention, else 90d)")
	member := fs.String("member", "", "instead, delete every per-row result of the member with this card `ID` (a removal on request); the events that prevent sending twice stay")
	jsonOut := fs.Bool("json", false, "print what was pruned as JSON on stdout")
	config := fs.String("config", "", "settings `file` (TOML); default $CRMSYNC_CONFIG")
	if err := parse(fs, args); err != nil {
		return crmsync.ExitUsage, err
	}
	cfg, err := c.applyConfig(fs, *config)
	if err != nil {
		return crmsync.ExitFailed, err
	}
	if fs.NArg() > 0 {
		return crmsync.ExitUsage, usagef("prune takes no arguments")
	}
	if *member != "" && *keep != "" {
		return crmsync.ExitUsage, usagef("-member and -keep: give one")
	}
	period := *keep
	if period == "" {
		period = string(cfg.Retention)
	}
	d, err := parseRetention(period)
	if err != nil {
		return crmsync.ExitUsage, usagef("-keep: %v", err)
	}
	if strings.TrimSpace(period) == "" {
		period = fmt.Sprintf("%dd", d/(24*time.Hour)) // the default, as said
	}
	l, err := c.openLedger(ctx, *path, false)
	if err != nil {
		return crmsync.ExitFailed, err
	}
	defer l.Close()
	unlock, err := l.Lock("crmsync prune")
	if err != nil {
		return crmsync.ExitFailed, err
	}
	defer unlock()
	if *member != "" {
		m, err := l.PruneMember(ctx, *member)
		if err != nil {
			return crmsync.ExitFailed, err
		}
		if *jsonOut {
			return crmsync.ExitOK, printJSON(c.stdout, m)
		}
		fmt.Fprintf(c.stderr, tr(c.lang(), "crmsync prune -member:删除逐行结果 %d 条,保留 %d 条(待处理项:处理后再 prune 一次),删除请求体 %d 个;防止重复发送的事件记录保留\n",
			"crmsync prune -member: %d per-row results deleted, %d kept (outstanding items: resolve them, then prune again), %d bodies deleted; the events that prevent sending twice stay\n"),
			m.Results, m.Kept, m.Bodies)
		return crmsync.ExitOK, nil
	}
	p, err := l.Prune(ctx, time.Now().Add(-d))
	if err != nil {
		return crmsync.ExitFailed, err
	}
	if *jsonOut {
		return crmsync.ExitOK, printJSON(c.stdout, p)
	}
	fmt.Fprintf(c.stderr, tr(c.lang(), "crmsync prune:早于 %[2]s 的运行 %[1]d 次:删除逐行结果 %[3]d 条,保留 %[4]d 条(待处理项),删除请求体 %[5]d 个\n",
		"crmsync prune: %d runs older than %s: %d per-row results deleted, %d kept (outstanding items), %d bodies deleted\n"),
		p.Runs, period, p.Results, p.Kept, p.Bodies)
	return crmsync.ExitOK, nil
}

// retention is the config's retention for the end of a run (0: none when
// the setting cannot be read, which the config check refuses anyway).
func (c *fileConfig) retention(log *slog.Logger) time.Duration {
	d, err := parseRetention(string(c.Retention))
	if err != nil {
		log.Warn("not pruned", "err", err)
		return 0
	}
	return d
}
