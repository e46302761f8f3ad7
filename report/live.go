package report

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/crmsync/crmsync"
)

// Live is what a report needs of every row of a run, collected while the
// run records its rows: the results CSV's lines (each kind's spooled to a
// temporary file, joined in the order of the kinds when the CSV is
// written) and the finance totals. Write given a usable Live
// (Options.Live) for a report whose kind sheets list only the rows that
// need a person (Cut) reads back from its Source only those rows, instead
// of every row of the run a second time.
//
// A run feeds it the results it has recorded, in Seq order (Add), with
// their final outcomes: a run that will change some (rows to send) drops
// it (Drop), and Write then reads every row from the ledger as before.
type Live struct {
	dir   string
	opt   Options // ShowPersonal and Lang: the results CSV's
	fin   *finance
	kinds map[crmsync.Kind]*spool
	rows  int
	err   error // the first failure; the Live is not used then
	drop  bool
}

// spool is one kind's results CSV lines, in an unlinked temporary file.
type spool struct {
	lines
	f        *os.File
	bw       *bufio.Writer
	unlinked bool
}

// NewLive starts collecting a run's rows for its report, written with opt
// (its ShowPersonal and Lang must be the report's); spools go to dir (""
// for the system's temporary folder).
func NewLive(dir string, opt Options) *Live {
	return &Live{dir: dir, opt: opt, fin: newFinance(), kinds: map[crmsync.Kind]*spool{}}
}

// Add takes results the run has recorded, in Seq order, with their final
// outcomes. A failure (the disk of the spools) is kept: the Live is then
// not used and the report reads the rows from the ledger.
func (lv *Live) Add(rs []*crmsync.Result) {
	if lv == nil || lv.drop || lv.err != nil {
		return
	}
	for _, r := range rs {
		sp, err := lv.spool(r.Kind)
		if err == nil {
			err = sp.add(r.Kind, r)
		}
		if err != nil {
			lv.err = fmt.Errorf("spool the results of the report: %w", err)
			lv.Close()
			return
		}
		lv.fin.add(r.Kind, r)
		lv.rows++
	}
}

// spool returns kind k's spool, made at its first row.
func (lv *Live) spool(k crmsync.Kind) (*spool, error) {
	if sp := lv.kinds[k]; sp != nil {
		return sp, nil
	}
	f, err := os.CreateTemp(lv.dir, ".crmsync-results-*.tmp")
	if err != nil {
		return nil, err
	}
	// Unlinked at once where the system allows: a crash leaves nothing.
	sp := &spool{f: f, bw: bufio.NewWriterSize(f, 1<<16), unlinked: os.Remove(f.Name()) == nil}
	sp.lines = newLines(sp.bw, lv.opt)
	lv.kinds[k] = sp
	return sp, nil
}

// Drop says the rows fed so far are not what the run ends with (rows are
// to be sent): the Live is not used, and its spools go.
func (lv *Live) Drop() {
	if lv == nil {
		return
	}
	lv.drop = true
	lv.Close()
}

// Close releases the spools; the Live is not used after.
func (lv *Live) Close() {
	if lv == nil {
		return
	}
	for k, sp := range lv.kinds {
		_ = sp.f.Close()
		if !sp.unlinked {
			_ = os.Remove(sp.f.Name())
		}
		delete(lv.kinds, k)
	}
	lv.drop = true
}

// usable reports whether Write may take the results CSV and the finance
// totals of run s from lv instead of the ledger: every row of s was fed,
// nothing failed, and the lines were written as opt writes them.
func (lv *Live) usable(s *crmsync.Summary, opt Options) bool {
	return lv != nil && !lv.drop && lv.err == nil && lv.rows == resultRows(s) &&
		lv.opt.ShowPersonal == opt.ShowPersonal && parseLang(lv.opt.Lang) == parseLang(opt.Lang)
}

// writeTo appends every kind's lines to rf, in the order of the kinds.
func (lv *Live) writeTo(rf *resultsFile) error {
	for _, k := range crmsync.Kinds {
		sp := lv.kinds[k]
		if sp == nil {
			continue
		}
		err := sp.end()
		if err == nil {
			err = sp.bw.Flush()
		}
		if err == nil {
			_, err = sp.f.Seek(0, io.SeekStart)
		}
		if err == nil {
			err = rf.copyLines(sp.f)
		}
		if err != nil {
			return fmt.Errorf("write results %s: %s lines: %w", rf.path, k, err)
		}
	}
	return nil
}
