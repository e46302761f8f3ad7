package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo"
	"github.com/crmsync/crmsync/pipeline"
	"github.com/crmsync/crmsync/report"
)

// heldEvent is an event waiting for a person, as status lists it.
type heldEvent struct {
	Kind     crmsync.Kind `json:"kind"`
	Key      string       `json:"key"`
	Lane     string       `json:"lane"`
	Time     time.Time    `json:"time"`
	Attempts int          `json:"attempts"`
	body     []byte       // its request body: the personal values to mask
}

// maskStatus masks members' card IDs and mobiles in what status shows of
// the ledger (keys, lanes, reasons, problems, decisions), as the report
// does: each item's personal values are those of its event's body in the
// ledger and of its problems.
func maskStatus(ctx context.Context, l *ledger.Ledger, m *report.Masker, waiting []heldEvent, out *ledger.Outstanding, decisions []ledger.Decision) error {
	var evs []*crmsync.Event
	if out != nil {
		for _, it := range out.Items {
			evs = append(evs, &crmsync.Event{Kind: it.Kind, Key: it.Key})
		}
	}
	for _, d := range decisions {
		evs = append(evs, &crmsync.Event{Kind: d.Kind, Key: d.Key})
	}
	priors, err := l.Lookup(ctx, evs)
	if err != nil {
		return fmt.Errorf("look up the bodies of %d listed events: %w", len(evs), err)
	}
	for i := range waiting {
		h := &waiting[i]
		m.Row(h.Kind, h.body, nil)
		h.Key, h.Lane = m.Text(h.Key), m.Text(h.Lane)
	}
	n := 0
	if out != nil {
		for i := range out.Items {
			it := &out.Items[i]
			it.Key = maskedKey(m, it, priors[n].Body)
			n++
			it.Reason = m.Text(it.Reason)
			m.Problems(it.Problems)
		}
	}
	for i := range decisions {
		d := &decisions[i]
		m.Row(d.Kind, priors[n].Body, nil)
		n++
		d.Key, d.Reason = m.Text(d.Key), m.Text(d.Reason)
	}
	return nil
}

// statusCommand shows what the ledger holds: totals by kind and state,
// recent runs, and what waits for a person.
type statusCommand struct{ *env }

func (c *statusCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlags("status")
	path := fs.String("ledger", "crmsync.db", "the ledger `file` (SQLite)")
	recent := fs.Int("runs", 10, "how many recent runs to show")
	jsonOut := fs.Bool("json", false, "print the status as JSON on stdout")
	listMax := fs.Int("list", 50, "list at most this many outstanding items (and events held for a person)")
	config := fs.String("config", "", "settings `file` (TOML) for the ledger path; default $CRMSYNC_CONFIG")
	if err := parse(fs, args); err != nil {
		return err
	}
	fc, err := c.applyConfig(fs, *config)
	if err != nil {
		return err
	}
	l, err := c.readLedger(ctx, *path)
	if err != nil {
		return err
	}
	defer l.Close()
	st, err := l.Status(ctx, *recent)
	if err != nil {
		return err
	}
	mall, err := l.Mall(ctx)
	if err != nil {
		return err
	}
	// What waits for a person: uncertain events of kinds not safe to
	// resend (each may or may not have reached Mallcoo), the oldest first.
	var waiting []heldEvent
	err = l.Events(ctx, []crmsync.State{crmsync.StateUncertain}, func(ev *crmsync.Event, p crmsync.Prior) error {
		if !ev.Kind.SafeToResend() && len(waiting) < *listMax {
			waiting = append(waiting, heldEvent{Kind: ev.Kind, Key: ev.Key, Lane: ev.Lane, Time: ev.Time, Attempts: p.Attempts, body: ev.Body})
		}
		return nil
	})
	if err != nil {
		return err
	}
	out, err := l.Outstanding(ctx, *listMax)
	readable(out, c.lang())
	if err != nil {
		return err
	}
	decisions, err := l.Decisions(ctx, 10)
	if err != nil {
		return err
	}
	if err := maskStatus(ctx, l, report.NewMasker(fc.showPersonal()), waiting, out, decisions); err != nil {
		return err
	}
	if *jsonOut {
		return printJSON(c.stdout, struct {
			*ledger.Status
			Mall        string              `json:"mall,omitempty"`
			Uncertain   []heldEvent         `json:"uncertain_events"`
			Outstanding *ledger.Outstanding `json:"outstanding"`
			Decisions   []ledger.Decision   `json:"decisions"`
		}{st, mall, waiting, out, decisions})
	}
	lang := c.lang()
	t := func(zh, en string) string { return tr(lang, zh, en) }
	w := newColumns(c.stdout)
	if mall != "" {
		fmt.Fprintf(w, t("账本 %s(结构版本 %d),商场 %s\n\n", "ledger %s (schema %d), mall %s\n\n"), st.Path, st.Schema, mall)
	} else {
		fmt.Fprintf(w, t("账本 %s(结构版本 %d)\n\n", "ledger %s (schema %d)\n\n"), st.Path, st.Schema)
	}
	states := []crmsync.State{crmsync.StateSent, crmsync.StateRejected, crmsync.StateFailed, crmsync.StateUncertain, crmsync.StateInFlight}
	kindTable(w, t("类型", "kind"), states, func(k crmsync.Kind) map[crmsync.State]int { return st.Totals[k] })
	fmt.Fprintln(w)
	fmt.Fprintln(w, t("运行\t命令\t开始(北京时间)\t状态\t行数\t结果\t原因", "run\tcommand\tstarted (China time)\tstatus\trows\toutcomes\treason"))
	for _, r := range st.Runs {
		outs := ""
		for _, o := range crmsync.Outcomes {
			if n := r.Counts[o]; n > 0 {
				outs += fmt.Sprintf("%s=%d ", o, n)
			}
		}
		reason := runReason(r, lang)
		if r.AppliedBy > 0 {
			reason = fmt.Sprintf(t("已执行 apply RUN %d", "applied by run %d"), r.AppliedBy)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.Command, r.Started.In(mallcoo.CST).Format("2006-01-02 15:04:05"), r.Status, r.Rows, outs, reason)
	}
	w.Flush()
	if st.Held > 0 {
		fmt.Fprintf(c.stdout, t("\n%d 个事件结果不确定,已暂停:请在猫酷核实是否已到达,再用 `crmsync retry -uncertain` 重发。\n",
			"\n%d events are held as uncertain: check in Mallcoo whether they arrived, then `crmsync retry -uncertain` resends them.\n"), st.Held)
		w := newColumns(c.stdout)
		fmt.Fprintln(w, t("类型\t键\t会员/单号\t事件时间(北京时间)", "kind\tkey\tmember/ref\tevent time (China time)"))
		for _, h := range waiting {
			t := ""
			if !h.Time.IsZero() {
				t = h.Time.In(mallcoo.CST).Format("2006-01-02 15:04:05")
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", h.Kind, h.Key, h.Lane, t)
		}
		w.Flush()
		if st.Held > len(waiting) {
			fmt.Fprintf(c.stdout, t("(前 %d 个;-list N 显示更多)\n", "(the first %d; -list N shows more)\n"), len(waiting))
		}
		if !fc.showPersonal() {
			// Looking an event up in Mallcoo needs its member in full.
			fmt.Fprintln(c.stdout, t("会员卡号和手机号已打码:在配置中设 mask_personal = false 后,status 显示完整号码,以便在猫酷中查找这些事件。",
				"card IDs and mobiles are shown masked: with mask_personal = false in the config, status shows them in full, to look the events up in Mallcoo."))
		}
	}
	if st.Failed > 0 {
		fmt.Fprintf(c.stdout, t("%d 个事件发送失败:`crmsync retry`(或下次运行同一文件)会重发。\n",
			"%d events failed to send: `crmsync retry` (or the next run over their file) resends them.\n"), st.Failed)
	}
	c.printOutstanding(out, time.Now(), t)
	if len(decisions) > 0 {
		fmt.Fprintln(c.stdout, t("\n最近的人工决定(crmsync resolve):", "\nrecent decisions (crmsync resolve):"))
		w := newColumns(c.stdout)
		fmt.Fprintln(w, t("时间(北京时间)\t操作人\t类型\t键\t原状态\t决定\t原因", "when (China time)\tuser\tkind\tkey\twas\tdecision\treason"))
		for _, d := range decisions {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.At.In(mallcoo.CST).Format("2006-01-02 15:04:05"), d.User, d.Kind, d.Key, d.State, d.Decision, d.Reason)
		}
		w.Flush()
	}
	return nil
}

// runReason is run r's reason as status shows it in language lang: the
// ledger's own reasons (interrupted, died), kept in both languages, and
// why sending stopped (its summary's, when the reason is that) in lang's;
// any other (an error's words) as kept.
func runReason(r ledger.RunInfo, lang string) string {
	switch st := r.Stopped; {
	case r.Reason == ledger.ReasonInterrupted.String():
		return ledger.ReasonInterrupted.In(lang)
	case r.Reason == ledger.ReasonDied.String():
		return ledger.ReasonDied.In(lang)
	case !st.IsZero() && (r.Reason == (&pipeline.StoppedError{Why: st}).Error() || r.Reason == st.String()):
		return tr(lang, "发送已停止:", "sending stopped: ") + st.In(lang)
	}
	return r.Reason
}

// outstandingStates orders the backlog's states in status's table.
var outstandingStates = []string{"failed", "uncertain", "blocked", "rejected", "changed", "invalid", "inflight"}

// printOutstanding prints the backlog: counts by kind and state, then the
// oldest items with their reason and age; t picks the text of the
// language.
func (c *statusCommand) printOutstanding(o *ledger.Outstanding, now time.Time, t func(zh, en string) string) {
	if o.Total == 0 {
		fmt.Fprintln(c.stdout, t("\n待处理:0(没有等待重试或人工处理的事件)", "\noutstanding: 0 (nothing waits for a retry or a person)"))
		return
	}
	fmt.Fprintf(c.stdout, t("\n待处理:%d\n", "\noutstanding: %d\n"), o.Total)
	w := newColumns(c.stdout)
	kindTable(w, t("类型", "kind"), outstandingStates, func(k crmsync.Kind) map[string]int { return o.ByKind[k] })
	w.Flush()
	if len(o.Items) == 0 {
		return
	}
	fmt.Fprintln(c.stdout, t("\n最早的待处理项:", "\noldest outstanding:"))
	w = newColumns(c.stdout)
	fmt.Fprintln(w, t("类型\t键\t状态\t时长\t运行\t原因", "kind\tkey\tstate\tage\trun\treason"))
	for _, it := range o.Items {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\n", it.Kind, it.Key, it.State, age(now.Sub(it.Since)), it.Run, it.Reason)
	}
	w.Flush()
	if o.Total > len(o.Items) {
		fmt.Fprintf(c.stdout, t("(共 %[2]d 项中最早的 %[1]d 项;-list N 显示更多)\n", "(the oldest %d of %d; -list N shows more)\n"), len(o.Items), o.Total)
	}
}

// age prints a duration as a person reads an age: 3d, 5h, 12m.
func age(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	case d >= time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	case d >= time.Minute:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	}
	return "<1m"
}

// kindTable prints counts by kind (rows, kinds without any left out) and
// state (columns, in the order given), under head and the states' names.
func kindTable[S ~string](w io.Writer, head string, states []S, counts func(crmsync.Kind) map[S]int) {
	fmt.Fprint(w, head)
	for _, s := range states {
		fmt.Fprintf(w, "\t%s", s)
	}
	fmt.Fprintln(w)
	for _, k := range crmsync.Kinds {
		m := counts(k)
		if len(m) == 0 {
			continue
		}
		fmt.Fprint(w, k)
		for _, s := range states {
			fmt.Fprintf(w, "\t%d", m[s])
		}
		fmt.Fprintln(w)
	}
}

// maskedKey starts item it (its event's body in the ledger) in m and
// returns its key as status shows it.
func maskedKey(m *report.Masker, it *ledger.OutstandingItem, body []byte) string {
	m.Row(it.Kind, body, it.Problems)
	if it.State == string(crmsync.OutcomeInvalid) && body == nil {
		// Its source row (file[sheet]:row): a file name is the operator's
		// own, shown as the report shows it.
		return it.Key
	}
	return m.Text(it.Key)
}

// unmaskKeys returns keys with each key of kind as status shows it masked
// (it holds '*' and is no outstanding key itself) replaced by the
// outstanding key status shows so: the documented recovery (status, then
// resolve of the keys it lists) works on masked keys. A masked key that
// matches several outstanding keys is refused — one of them may be that
// very text (a card ID exported masked), and is refused too: status shows
// them alike — name it in full (status with mask_personal = false shows
// it). show: status masks nothing.
func unmaskKeys(ctx context.Context, l *ledger.Ledger, kind crmsync.Kind, show bool, keys []string) ([]string, error) {
	if show || !slices.ContainsFunc(keys, func(k string) bool { return strings.Contains(k, "*") }) {
		return keys, nil
	}
	o, err := l.Outstanding(ctx, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	var items []*ledger.OutstandingItem
	var evs []*crmsync.Event
	full := map[string]bool{}
	for i := range o.Items {
		if it := &o.Items[i]; it.Kind == kind {
			items = append(items, it)
			evs = append(evs, &crmsync.Event{Kind: it.Kind, Key: it.Key})
			full[it.Key] = true
		}
	}
	priors, err := l.Lookup(ctx, evs)
	if err != nil {
		return nil, fmt.Errorf("look up the bodies of %d outstanding events: %w", len(evs), err)
	}
	m := report.NewMasker(false)
	shown := map[string][]string{}
	for i, it := range items {
		k := maskedKey(m, it, priors[i].Body)
		if k != it.Key && !slices.Contains(shown[k], it.Key) {
			shown[k] = append(shown[k], it.Key)
		}
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k
		ks := shown[k]
		if full[k] && !slices.Contains(ks, k) {
			// An outstanding key with '*' of its own (a card ID the CRM
			// exported masked) that status also shows for others.
			ks = append([]string{k}, ks...)
		}
		switch {
		case len(ks) == 1:
			out[i] = ks[0]
		case len(ks) > 1:
			return nil, usagef("%s key %s (masked) stands for %d outstanding keys: name it in full (crmsync status shows keys in full with mask_personal = false)", kind, k, len(ks))
		}
	}
	return out, nil
}

// readable renders the reasons of o's items as a person reads them, in
// language lang (o may be nil).
func readable(o *ledger.Outstanding, lang string) {
	if o == nil {
		return
	}
	for i := range o.Items {
		it := &o.Items[i]
		it.Reason = report.ReasonText(it.Kind, &crmsync.Result{Reason: it.Reason}, lang)
	}
}
