package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync"
)

// PrunedMember is what PruneMember removed.
type PrunedMember struct {
	Results int `json:"results"` // per-row results deleted
	Kept    int `json:"kept"`    // results kept: they show an outstanding item of the member
	Bodies  int `json:"bodies"`  // bodies no longer referred to, deleted
}

// PruneMember deletes every per-row result of the member with card ID card,
// in every run (a removal on request, 个人信息保护法): the results whose
// lane is the card, and those with the card as one of their cells (an
// invalid row, a kind whose lane is another ID). Like Prune it keeps what
// an outstanding item needs (resolve those first; a plan's new rows until
// it is applied), and it keeps every
// event: its key and content hash are what prevent sending it twice.
// Bodies no longer referred to are deleted. It must be called under the
// run lock.
func (l *Ledger) PruneMember(ctx context.Context, card string) (PrunedMember, error) {
	var p PrunedMember
	if strings.TrimSpace(card) == "" {
		return p, fmt.Errorf("prune member in ledger %s: no card ID given", l.path)
	}
	if !l.holdsLock() {
		return p, fmt.Errorf("prune member in ledger %s: the ledger is not locked (call Lock first)", l.path)
	}
	// The member's results: its lane, or the card as one of the row's
	// cells (an invalid row, another kind's row naming the card). Cells
	// are stored in an encoding SQL cannot read (values.go), so rows are
	// matched here; prune -member is rare, a scan of results is fine.
	keys, err := l.memberResults(ctx, card, `SELECT r.run_id, r.seq, r.lane, r.vals, c.vals
FROM results r LEFT JOIN cells c ON c.id = r.cells_id`)
	if err != nil {
		return p, fmt.Errorf("prune member in ledger %s: %w", l.path, err)
	}
	same, err := l.memberResults(ctx, card, `SELECT s.run_id, s.seq, '', '', c.vals
FROM same s JOIN cells c ON c.id = s.cells_id`)
	if err != nil {
		return p, fmt.Errorf("prune member in ledger %s: %w", l.path, err)
	}
	// A plan not yet applied to its end sends its new rows when it is
	// applied: they are outstanding too.
	pending, err := l.pendingPlans(ctx)
	if err != nil {
		return p, fmt.Errorf("prune member in ledger %s: %w", l.path, err)
	}
	// A row a person decided on (dismissed, delivered) stays in open_rows
	// but is not outstanding: it goes.
	const needed = `(EXISTS (SELECT 1 FROM open_rows o WHERE o.run_id = results.run_id AND o.seq = results.seq AND o.state IN ` + openStates + `)
	OR ` + eventOutstanding + `
	OR (? AND results.outcome = ?))`
	err = l.write(ctx, false, func(w *sql.Conn) error {
		del := resultNeededArgs()
		stmt, err := w.PrepareContext(ctx, `DELETE FROM results WHERE run_id = ? AND seq = ? AND NOT `+needed)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, k := range keys {
			res, err := stmt.ExecContext(ctx, append(append([]any{k[0], k[1]}, del...), pending[k[0]], string(crmsync.OutcomeNew))...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			p.Results += int(n)
		}
		p.Kept = len(keys) - p.Results
		// Unchanged rows (same) show no outstanding item.
		sst, err := w.PrepareContext(ctx, `DELETE FROM same WHERE run_id = ? AND seq = ?`)
		if err != nil {
			return err
		}
		defer sst.Close()
		for _, k := range same {
			if _, err := sst.ExecContext(ctx, k[0], k[1]); err != nil {
				return err
			}
		}
		p.Results += len(same)
		if p.Results == 0 {
			return nil
		}
		p.Bodies, err = dropUnreferenced(ctx, w)
		return err
	})
	if err != nil {
		return p, fmt.Errorf("prune member in ledger %s: %w", l.path, err)
	}
	return p, nil
}

// pendingPlans returns the plan runs whose results are not pruned and
// that no apply run applied to their end (AppliedBy).
func (l *Ledger) pendingPlans(ctx context.Context) (map[int64]bool, error) {
	apps, err := l.applications(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := l.db.QueryContext(ctx, `SELECT id FROM runs WHERE command = 'plan' AND pruned = 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		if _, ok := AppliedBy(apps[id]); !ok {
			out[id] = true
		}
	}
	return out, rows.Err()
}

// memberResults returns the (run, seq) of every result of the member with
// this card: its lane, or one of its cells.
// query selects run, seq, lane, and the values in two columns.
func (l *Ledger) memberResults(ctx context.Context, card, query string) ([][2]int64, error) {
	rows, err := l.db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]int64
	for rows.Next() {
		var run, seq int64
		var lane string
		var vals, cells []byte
		if err := rows.Scan(&run, &seq, &lane, &vals, &cells); err != nil {
			return nil, err
		}
		hit := lane == card
		for _, b := range [][]byte{vals, cells} {
			if hit || len(b) == 0 {
				continue
			}
			h, _, vs, head, err := splitHead(b, time.UTC)
			if !head {
				vs, err = parseValues(b)
			}
			if err != nil {
				continue // not a list of cells: nothing of the member's to find
			}
			hit = h.lane == card && head || slices.ContainsFunc(vs, func(v string) bool { return cardCell(v) == card })
		}
		if hit {
			out = append(out, [2]int64{run, seq})
		}
	}
	return out, rows.Err()
}

// cardCell is an ID cell as read without what forces it to text in Excel
// ('C0001, ‘C0001, ="C0001"), as the importer reads an ID (cleanID): an
// invalid row keeps the cell so.
func cardCell(v string) string {
	if len(v) >= 3 && strings.HasPrefix(v, `="`) && strings.HasSuffix(v, `"`) {
		return strings.TrimSpace(v[2 : len(v)-1])
	}
	for _, q := range []string{"'", "‘", "’"} {
		if t, ok := strings.CutPrefix(v, q); ok {
			return strings.TrimSpace(t)
		}
	}
	return v
}
