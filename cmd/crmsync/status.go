package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo"
)

// heldEvent is an event waiting for a person, as status lists it.
type heldEvent struct {
	Kind     crmsync.Kind `json:"kind"`
	Key      string       `json:"key"`
	Lane     string       `json:"lane"`
	Time     time.Time    `json:"time"`
	Attempts int          `json:"attempts"`
}

// statusCommand shows what the ledger holds: totals by kind and state,
// recent runs, and what waits for a person.
type statusCommand struct{ *env }

func (c *statusCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlags("status")
	path := fs.String("ledger", "crmsync.db", "the ledger `file` (SQLite)")
	recent := fs.Int("runs", 10, "how many recent runs to show")
	jsonOut := fs.Bool("json", false, "print the status as JSON on stdout")
	listMax := fs.Int("list", 50, "list at most this many events held for a person")
	config := fs.String("config", "", "settings `file` (TOML) for the ledger path; default $CRMSYNC_CONFIG")
	if err := parse(fs, args); err != nil {
		return err
	}
	if _, err := c.applyConfig(fs, *config); err != nil {
		return err
	}
	l, err := c.openLedger(ctx, *path, false)
	if err != nil {
		return err
	}
	defer l.Close()
	st, err := l.Status(ctx, *recent)
	if err != nil {
		return err
	}
	// What waits for a person: uncertain events of kinds not safe to
	// resend (each may or may not have reached Mallcoo), the oldest first.
	var waiting []heldEvent
	err = l.Events(ctx, []crmsync.State{crmsync.StateUncertain}, func(ev *crmsync.Event, p crmsync.Prior) error {
		if !ev.Kind.SafeToResend() && len(waiting) < *listMax {
			waiting = append(waiting, heldEvent{Kind: ev.Kind, Key: ev.Key, Lane: ev.Lane, Time: ev.Time, Attempts: p.Attempts})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if *jsonOut {
		enc := json.NewEncoder(c.stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			*ledger.Status
			Uncertain []heldEvent `json:"uncertain_events"`
		}{st, waiting})
	}
	w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "ledger %s (schema %d)\n\n", st.Path, st.Schema)
	states := []crmsync.State{crmsync.StateSent, crmsync.StateRejected, crmsync.StateFailed, crmsync.StateUncertain, crmsync.StateInFlight}
	fmt.Fprint(w, "kind")
	for _, s := range states {
		fmt.Fprintf(w, "\t%s", s)
	}
	fmt.Fprintln(w)
	for _, k := range crmsync.Kinds {
		m := st.Totals[k]
		if len(m) == 0 {
			continue
		}
		fmt.Fprint(w, k)
		for _, s := range states {
			fmt.Fprintf(w, "\t%d", m[s])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "run\tcommand\tstarted (China time)\tstatus\trows\toutcomes")
	for _, r := range st.Runs {
		outs := ""
		for _, o := range crmsync.Outcomes {
			if n := r.Counts[o]; n > 0 {
				outs += fmt.Sprintf("%s=%d ", o, n)
			}
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%s\n", r.ID, r.Command, r.Started.In(mallcoo.CST).Format("2006-01-02 15:04:05"), r.Status, r.Rows, outs)
	}
	w.Flush()
	if st.Held > 0 {
		fmt.Fprintf(c.stdout, "\n%d events are held as uncertain: check in Mallcoo whether they arrived, then `crmsync retry -uncertain` resends them.\n", st.Held)
		w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "kind\tkey\tmember/ref\tevent time (China time)")
		for _, h := range waiting {
			t := ""
			if !h.Time.IsZero() {
				t = h.Time.In(mallcoo.CST).Format("2006-01-02 15:04:05")
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", h.Kind, h.Key, h.Lane, t)
		}
		w.Flush()
		if st.Held > len(waiting) {
			fmt.Fprintf(c.stdout, "(the first %d; -list N shows more)\n", len(waiting))
		}
	}
	if st.Failed > 0 {
		fmt.Fprintf(c.stdout, "%d events failed to send: `crmsync retry` (or the next run over their file) resends them.\n", st.Failed)
	}
	return nil
}
