package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/user"
	"strings"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/report"
)

// resolveCommand records a person's decision on outstanding items:
// crmsync resolve -kind KIND -as delivered|resend|dismiss [-reason TEXT] KEY...
type resolveCommand struct{ *env }

func (c *resolveCommand) Run(ctx context.Context, args []string) (int, error) {
	fs := c.newFlags("resolve")
	path := fs.String("ledger", "crmsync.db", "the ledger `file` (SQLite)")
	kindName := fs.String("kind", "", "the `kind` of the events ("+crmsync.KindList()+")")
	as := fs.String("as", "", "the decision: delivered (Mallcoo has it), resend (send it with the next retry or run) or dismiss (do not send it)")
	reason := fs.String("reason", "", "why, in a few words (kept with the decision)")
	from := fs.String("from", "", "read the keys from this `file`, one a line")
	jsonOut := fs.Bool("json", false, "print the decisions as JSON on stdout")
	config := fs.String("config", "", "settings `file` (TOML) for the ledger path; default $CRMSYNC_CONFIG")
	if err := parse(fs, args); err != nil {
		return crmsync.ExitUsage, err
	}
	fc, err := c.applyConfig(fs, *config)
	if err != nil {
		return crmsync.ExitFailed, err
	}
	if *kindName == "" {
		return crmsync.ExitUsage, usagef("-kind is required")
	}
	kind, err := crmsync.ParseKind(*kindName)
	if err != nil {
		return crmsync.ExitUsage, usagef("-kind: %v", err)
	}
	switch *as {
	case ledger.DecideDelivered, ledger.DecideResend, ledger.DecideDismiss:
	default:
		return crmsync.ExitUsage, usagef("-as: want delivered, resend or dismiss")
	}
	keys := fs.Args()
	if *from != "" {
		more, err := readKeys(*from)
		if err != nil {
			return crmsync.ExitUsage, usagef("-from: %v", err)
		}
		keys = append(keys, more...)
	}
	if len(keys) == 0 {
		return crmsync.ExitUsage, usagef("name at least one KEY (or -from FILE)")
	}
	l, err := c.openLedger(ctx, *path, false)
	if err != nil {
		return crmsync.ExitFailed, err
	}
	defer l.Close()
	unlock, err := l.Lock("crmsync resolve")
	if err != nil {
		return crmsync.ExitFailed, err
	}
	defer unlock()
	if keys, err = unmaskKeys(ctx, l, kind, fc.showPersonal(), keys); err != nil {
		return crmsync.ExitUsage, err
	}
	if *as == ledger.DecideResend {
		// Resent, such a body would be refused again (and listed again).
		refused, err := l.RefusedBodies(ctx, kind, keys)
		if err != nil {
			return crmsync.ExitFailed, err
		}
		if len(refused) > 0 {
			m := report.NewMasker(fc.showPersonal())
			shown, _ := maskedKeys(ctx, l, m, kind, refused)
			return crmsync.ExitUsage, usagef("%s %s: its body kept in the ledger breaks a rule of this crmsync (stored-body), so -as resend would be refused again: fix the row in the CRM, export and run it, or -as dismiss (-as delivered if Mallcoo has it)", kind, strings.Join(shown, ", "))
		}
	}
	ds, err := l.Resolve(ctx, kind, keys, *as, c.osUser(), *reason)
	if err != nil { // a *ledger.NotHeldError names the keys
		return crmsync.ExitFailed, err
	}
	// Shown as status shows them.
	if err := maskStatus(ctx, l, report.NewMasker(fc.showPersonal()), nil, nil, ds); err != nil {
		return crmsync.ExitFailed, err
	}
	if *jsonOut {
		return crmsync.ExitOK, printJSON(c.stdout, ds)
	}
	lang := c.lang()
	for _, d := range ds {
		fmt.Fprintf(c.stderr, tr(lang, "%s %s(%s):%s,操作人 %s\n", "%s %s (%s): %s, by %s\n"), d.Kind, d.Key, d.State, d.Decision, d.User)
	}
	if *as == ledger.DecideResend {
		fmt.Fprintln(c.stderr, tr(lang, "crmsync retry(或下次运行)会发送它们。", "crmsync retry (or the next run) sends them."))
	}
	return crmsync.ExitOK, nil
}

// osUser is who decides: the OS user running crmsync.
func (c *resolveCommand) osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := c.getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

// readKeys reads one key a line; empty lines and lines starting with # are
// skipped.
func readKeys(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var keys []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if k == "" || strings.HasPrefix(k, "#") {
			continue
		}
		keys = append(keys, k)
	}
	return keys, sc.Err()
}

// maskedKeys returns keys of kind as status shows them (masked by m with
// their events' bodies).
func maskedKeys(ctx context.Context, l *ledger.Ledger, m *report.Masker, kind crmsync.Kind, keys []string) ([]string, error) {
	evs := make([]*crmsync.Event, len(keys))
	for i, k := range keys {
		evs[i] = &crmsync.Event{Kind: kind, Key: k}
	}
	priors, err := l.Lookup(ctx, evs)
	if err != nil {
		return keys, err
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		m.Row(kind, priors[i].Body, nil)
		out[i] = m.Text(k)
	}
	return out, nil
}
