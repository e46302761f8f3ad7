package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

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
// an outstanding item needs (resolve those first), and it keeps every
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
	args := []any{card, card}
	for _, s := range backlogStates {
		args = append(args, string(s))
	}
	const member = `(results.lane = ? OR EXISTS (SELECT 1 FROM json_each(results.vals) j WHERE j.value = ?))`
	const needed = `(EXISTS (SELECT 1 FROM open_rows o WHERE o.run_id = results.run_id AND o.seq = results.seq)
	OR EXISTS (SELECT 1 FROM events e WHERE e.keyspace = (CASE results.kind WHEN ? THEN ? ELSE results.kind END)
		AND e.key = results.key AND e.state IN (?,?,?,?,?)))`
	err := l.write(ctx, false, func(w *sql.Conn) error {
		del := append([]any{card, card, string(crmsync.KindScoreV2), string(crmsync.KindScore)}, args[2:]...)
		res, err := w.ExecContext(ctx, `DELETE FROM results WHERE `+member+` AND NOT `+needed, del...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		p.Results = int(n)
		if err := w.QueryRowContext(ctx, `SELECT count(*) FROM results WHERE `+member, card, card).Scan(&p.Kept); err != nil {
			return err
		}
		if p.Results == 0 {
			return nil
		}
		res, err = w.ExecContext(ctx, `DELETE FROM bodies WHERE
	id NOT IN (SELECT body_id FROM events WHERE body_id IS NOT NULL) AND
	id NOT IN (SELECT body_id FROM results WHERE body_id IS NOT NULL)`)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		p.Bodies = int(n)
		return err
	})
	if err != nil {
		return p, fmt.Errorf("prune member in ledger %s: %w", l.path, err)
	}
	return p, nil
}
