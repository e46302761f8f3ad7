package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Application is one apply run of a plan (crmsync apply RUN-ID).
type Application struct {
	Run     int64     `json:"run"`
	Status  string    `json:"status"` // as the run ended: RunDone, RunInterrupted, RunFailed, RunDied (or RunRunning)
	Started time.Time `json:"started"`
}

// Applications returns the apply runs of every plan, by plan run, oldest
// first. An apply run names its plan as its last argument.
func (l *Ledger) Applications(ctx context.Context) (map[int64][]Application, error) {
	out, err := l.applications(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply runs in ledger %s: %w", l.path, err)
	}
	return out, nil
}

func (l *Ledger) applications(ctx context.Context) (map[int64][]Application, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT id, args, status, started FROM runs WHERE command = 'apply' ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]Application{}
	for rows.Next() {
		var (
			a       Application
			args    string
			started int64
		)
		if err := rows.Scan(&a.Run, &args, &a.Status, &started); err != nil {
			return nil, err
		}
		a.Started = time.Unix(0, started).In(l.Location)
		var as []string
		if json.Unmarshal([]byte(args), &as) != nil || len(as) == 0 {
			continue
		}
		plan, err := strconv.ParseInt(as[len(as)-1], 10, 64)
		if err != nil {
			continue
		}
		out[plan] = append(out[plan], a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// A run still marked running is running only if it is the ledger's
	// latest and a process holds the lock (as Status says); else it died.
	var latest int64
	if err := l.db.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM runs`).Scan(&latest); err != nil {
		return nil, err
	}
	self, other, err := l.lockHeld()
	if err != nil {
		return nil, err
	}
	for plan, as := range out {
		for i := range as {
			if as[i].Status == RunRunning && !(as[i].Run == latest && (self || other)) {
				as[i].Status = RunDied
			}
		}
		out[plan] = as
	}
	return out, nil
}

// AppliedBy returns the apply run that applied a plan to its end (one that
// ended done) among its apply runs as, ok false when none did: an apply
// that was interrupted, failed or died may be run again, and sends only
// what is still new.
func AppliedBy(as []Application) (a Application, ok bool) {
	for _, a := range as {
		if a.Status == RunDone {
			return a, true
		}
	}
	return Application{}, false
}

// PlanAppliedError is returned for an apply of a plan that an apply run
// already sent to its end: its rows went (or were skipped and reported
// then); applying it again would send nothing new.
type PlanAppliedError struct {
	Plan, Run int64
	At        time.Time
}

func (e *PlanAppliedError) Error() string {
	return fmt.Sprintf("plan run %d was already applied by run %d on %s: nothing of it is left to send (crmsync report %d shows what it did); plan the files again for what is new since",
		e.Plan, e.Run, e.At.In(cst).Format("2006-01-02 15:04"), e.Run)
}
