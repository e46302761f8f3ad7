package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/crmsync/crmsync"
)

// setUserVersion writes PRAGMA user_version = v into the ledger at path
// with a plain SQLite connection, as a damaged or foreign file would have it.
func setUserVersion(t *testing.T, path string, v int64) {
	t.Helper()
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(fmt.Sprintf("PRAGMA user_version = %d", v)); err != nil {
		t.Fatal(err)
	}
}

// TestOpenOddFiles: every odd file given as a ledger is refused with a
// clear error, by both Open and OpenReadOnly, and never panics.
func TestOpenOddFiles(t *testing.T) {
	dir := t.TempDir()
	ledgerWith := func(name string, v int64) string {
		path := filepath.Join(dir, name)
		l, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
		setUserVersion(t, path, v)
		return path
	}
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	other := filepath.Join(dir, "other.db")
	raw, err := sql.Open("sqlite3", other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	fifo := filepath.Join(dir, "fifo.db")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)

	for _, tc := range []struct {
		name    string
		path    string
		problem Problem // 0: a *NewerSchemaError
	}{
		{"user_version -1", ledgerWith("minus.db", -1), ProblemBadSchema},
		{"user_version 2^31-1", ledgerWith("huge.db", 1<<31-1), ProblemBadSchema},
		{"user_version -2^31", ledgerWith("neghuge.db", -1<<31), ProblemBadSchema},
		{"newer crmsync", ledgerWith("newer.db", int64(SchemaVersion()+1)), 0},
		{"not SQLite", write("text.db", strings.Repeat("TransID,Card\nT1,0123\n", 300)), ProblemNotSQLite},
		{"SQLite header, garbage after", write("garbage.db", "SQLite format 3\x00"+strings.Repeat("\xff", 5000)), ProblemNotSQLite},
		{"SQLite, not a ledger", other, ProblemNotLedger},
		{"0 bytes", write("empty.db", ""), ProblemEmpty},
		{"directory", sub, ProblemDirectory},
		{"fifo", fifo, ProblemNotRegular},
		{"device", "/dev/null", ProblemNotRegular},
	} {
		for _, ro := range []bool{false, true} {
			openFn, fn := Open, "Open"
			if ro {
				openFn, fn = OpenReadOnly, "OpenReadOnly"
			}
			l, err := openFn(context.Background(), tc.path)
			if err == nil {
				l.Close()
				t.Errorf("%s(%s) = nil error, want one", fn, tc.name)
				continue
			}
			var fe *FileError
			var ne *NewerSchemaError
			switch {
			case tc.problem == 0 && !errors.As(err, &ne):
				t.Errorf("%s(%s) = %v, want *NewerSchemaError", fn, tc.name, err)
			case tc.problem != 0 && (!errors.As(err, &fe) || fe.Problem != tc.problem):
				t.Errorf("%s(%s) = %v, want *FileError with problem %d", fn, tc.name, err, tc.problem)
			}
		}
	}
	// Nothing was created or changed in the refused files.
	if fi, err := os.Stat(filepath.Join(dir, "empty.db")); err != nil || fi.Size() != 0 {
		t.Errorf("the empty file after Open: %v, %v; want it left empty", fi, err)
	}
}

// TestOpenNewFileIsNotEmpty: a new ledger has its header on disk as soon as
// Open returns, so a crash right after is not mistaken for an empty file.
func TestOpenNewFileIsNotEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	l := openLedger(t, path)
	fi, err := os.Stat(path)
	if err != nil || fi.Size() == 0 {
		t.Fatalf("new ledger after Open: %v, %v; want a header on disk", fi, err)
	}
	l.Close()
	openLedger(t, path)
}

// TestLockThroughOtherNames: the run lock is on the file, not the name: a
// symlink meets it, and a hard link cannot even be opened while the file
// is open under its first name (SQLite would keep a second -wal).
func TestLockThroughOtherNames(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "l.db")
	l1 := openLedger(t, path)
	unlock, err := l1.Lock("run")
	if err != nil {
		t.Fatalf("Lock() = %v", err)
	}
	defer unlock()

	alias := filepath.Join(dir, "alias.db")
	if err := os.Symlink("l.db", alias); err != nil {
		t.Fatal(err)
	}
	dots := filepath.Join(dir, "sub", "..", "alias.db")
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	for _, name := range []string{alias, dots} {
		l2 := openLedger(t, name)
		var le *LockedError
		if _, err := l2.Lock("run"); !errors.As(err, &le) || le.PID != os.Getpid() || le.Command != "run" {
			t.Errorf("Lock() through %s while held = %v, want *LockedError naming pid %d", name, err, os.Getpid())
		}
		if _, other, err := l2.lockHeld(); err != nil || !other {
			t.Errorf("lockHeld() through %s = %v, %v; want held by another", name, other, err)
		}
	}

	hard := filepath.Join(dir, "hard.db")
	if err := os.Link(path, hard); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{hard, path} {
		for _, openFn := range []func(context.Context, string) (*Ledger, error){Open, OpenReadOnly} {
			_, err := openFn(context.Background(), name)
			var fe *FileError
			if !errors.As(err, &fe) || fe.Problem != ProblemLinked || fe.Links != 2 {
				t.Errorf("Open(%s) with a second hard link = %v, want *FileError ProblemLinked with 2 links", name, err)
			}
		}
	}
	if _, err := os.Stat(hard + "-wal"); err == nil {
		t.Errorf("Open(hard link) refused, but it made %s-wal", hard)
	}
}

// TestOpenThroughBindMount: a bind mount is a second name no link count
// shows: while the file is open under one name, an Open by the other is
// refused. (Needs root to mount.)
func TestOpenThroughBindMount(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "l.db")
	l := openLedger(t, path)
	mnt := filepath.Join(dir, "mnt.db")
	if err := os.WriteFile(mnt, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount(path, mnt, "", syscall.MS_BIND, ""); err != nil {
		t.Skipf("bind mount: %v (needs root)", err)
	}
	defer syscall.Unmount(mnt, 0)
	for _, openFn := range []func(context.Context, string) (*Ledger, error){Open, OpenReadOnly} {
		_, err := openFn(context.Background(), mnt)
		var le *LockedError
		if !errors.As(err, &le) || !le.OtherName {
			t.Errorf("Open(bind mount) while open by another name = %v, want *LockedError with OtherName", err)
		}
	}
	// Another process's Open by the first name keeps it from the second
	// too: the mark is on the file, not in this process.
	l.Close()
	cmd := startCrashChild(t, path)
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	_, err := Open(context.Background(), mnt)
	var le *LockedError
	if !errors.As(err, &le) || !le.OtherName {
		t.Errorf("Open(bind mount) while another process has it open = %v, want *LockedError with OtherName", err)
	}
}

// TestLockOtherProcessThroughLinks: another process holding the ledger
// under one name makes a symlink's Lock fail naming it, and a hard link
// made meanwhile is refused, before and after the holder is killed: the
// killed run's claims are in the -wal beside the first name, which an
// Open by the hard link would not read.
func TestLockOtherProcessThroughLinks(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "l.db")
	alias := filepath.Join(dir, "alias.db")
	if err := os.Symlink(path, alias); err != nil {
		t.Fatal(err)
	}
	cmd := startCrashChild(t, path)
	la := openLedger(t, alias)
	var le *LockedError
	if _, err := la.Lock("run"); !errors.As(err, &le) || le.PID != cmd.Process.Pid {
		t.Errorf("Lock() through a symlink while another process runs = %v, want *LockedError naming pid %d", err, cmd.Process.Pid)
	}
	la.Close()
	hard := filepath.Join(dir, "hard.db")
	if err := os.Link(path, hard); err != nil {
		t.Fatal(err)
	}
	var fe *FileError
	if _, err := Open(context.Background(), hard); !errors.As(err, &fe) || fe.Problem != ProblemLinked {
		t.Errorf("Open(hard link) while another process runs = %v, want *FileError ProblemLinked", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := Open(context.Background(), hard); !errors.As(err, &fe) || fe.Problem != ProblemLinked {
		t.Errorf("Open(hard link) after the holder was killed = %v, want *FileError ProblemLinked", err)
	}
	if err := os.Remove(hard); err != nil {
		t.Fatal(err)
	}
	l := openLedger(t, alias)
	beginRun(t, l)
	got, err := l.Lookup(context.Background(), crashEvents())
	if err != nil || got[0].State != crmsync.StateUncertain || got[1].State != crmsync.StateUncertain {
		t.Errorf("Lookup() through the symlink after the kill = %+v, %v; want the claims uncertain", got, err)
	}
}

// TestReadOnlyBesideRun: reconcile's OpenReadOnly on the name a run holds
// works and sees the run.
func TestReadOnlyBesideRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.db")
	cmd := startCrashChild(t, path)
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	r, err := OpenReadOnly(context.Background(), path)
	if err != nil {
		t.Fatalf("OpenReadOnly() beside a run = %v", err)
	}
	defer r.Close()
	if _, other, err := r.lockHeld(); err != nil || !other {
		t.Errorf("lockHeld() beside a run = %v, %v; want held by another", other, err)
	}
	st, err := r.Status(context.Background(), 1)
	if err != nil || len(st.Runs) != 1 || st.Runs[0].Status != RunRunning {
		t.Errorf("Status() beside a run = %+v, %v; want the run running", st, err)
	}
}

// startCrashChild starts a process that locks the ledger at path, claims
// crashEvents and waits to be killed.
func startCrashChild(t *testing.T, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChild+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len("claimed\n"))
	if _, err := out.Read(buf); err != nil || string(buf) != "claimed\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q, %v; want claimed", buf, err)
	}
	return cmd
}

// TestOpenEmptyFileBeingCreated: an empty file another Open has just
// created (and marked) is a new ledger, not a damaged one.
func TestOpenEmptyFileBeingCreated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var fe *FileError
	if _, err := Open(context.Background(), path); !errors.As(err, &fe) || fe.Problem != ProblemEmpty {
		t.Fatalf("Open(empty file nobody has open) = %v, want ProblemEmpty", err)
	}
	// Another process's Open has created it and holds its name mark (an
	// open file description of its own, as here).
	name, _ := filepath.EvalSymlinks(path)
	if err := ofdLock(f, syscall.F_RDLCK, nameSlot(name)); err != nil {
		t.Fatal(err)
	}
	l, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(empty file being created) = %v, want a new ledger", err)
	}
	l.Close()
}

// TestWALCutBackAfterLongReader: a reader holding a snapshot (a backup, a
// sqlite3 shell) while a run writes makes the -wal file grow past
// walSizeLimit; once the reader is gone the log is cut back to the limit
// at its next restart by the ledger's own commits, not kept at its largest
// size for good.
func TestWALCutBackAfterLongReader(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	l := openLedger(t, path)
	beginRun(t, l)
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	reader, err := raw.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := reader.QueryRowContext(ctx, "SELECT count(*) FROM runs").Scan(&n); err != nil {
		t.Fatal(err)
	}
	walSize := func() int64 {
		t.Helper()
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	// Another writer's megabytes (a raw connection is quicker than
	// recording them) while the snapshot is held: none can be
	// checkpointed, so the log grows.
	for range walSizeLimit>>20 + 16 {
		if _, err := raw.ExecContext(ctx, "INSERT INTO bodies (body) VALUES (zeroblob(1048576))"); err != nil {
			t.Fatal(err)
		}
	}
	if got := walSize(); got <= walSizeLimit {
		t.Fatalf("with a reader holding its snapshot the -wal file is %d bytes; the test needs it past %d", got, walSizeLimit)
	}
	if err := reader.Rollback(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		ev := event(crmsync.KindGrade, fmt.Sprint("G", i), fmt.Sprintf(`{"g":%d}`, i))
		recordRun(t, l, t0, []*crmsync.Result{result(1, ev, crmsync.OutcomeSent, 1, 1)})
	}
	if got := walSize(); got > walSizeLimit {
		t.Errorf("-wal file %d bytes after the reader ended and the ledger committed again; want it cut back to at most %d", got, walSizeLimit)
	}
}
