package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

// mountTmpfs mounts a tmpfs of size at a new directory and unmounts it
// when the test ends; the test is skipped where mounting is not allowed.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("mount tmpfs: %v (needs root)", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// fillDisk writes a file in dir until the file system is full.
func fillDisk(t *testing.T, dir string) string {
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Error(err)
		return path
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for _, n := range []int{4096, 512, 1} {
		for {
			if _, err := f.Write(buf[:n]); err != nil {
				break
			}
		}
	}
	return path
}

// writeGrades writes n grade changes of n members (one each) to dir.
func writeGrades(t *testing.T, dir string, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("ThirdPartyCardID,BeforeCardCode,AfterCardCode,ChangeType,ChangeTime,GradeChangeID\n")
	for m := 0; m < n; m++ {
		fmt.Fprintf(&b, "9%012d,普卡,银卡,0,2024-11-01 10:%02d:00,G%05d\n", m, m%60, m)
	}
	path := filepath.Join(dir, "grade.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDiskFullMidRun: the disk holding the ledger fills up while the run
// sends (the fake API fills it when it answers the 20th grade change). The
// run stops sending and says the disk is full; the grade change whose
// answer could not be recorded comes back uncertain in the next run and is
// not sent again, and no grade change reaches Mallcoo twice.
func TestDiskFullMidRun(t *testing.T) {
	disk := mountTmpfs(t, "4m")
	dir := t.TempDir()
	in := writeGrades(t, dir, 80)
	db := filepath.Join(disk, "l.db")
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	var n atomic.Int32
	var filler, fullKey atomic.Value
	srv.RejectIf(func(kind crmsync.Kind, body []byte) (int, string, bool) {
		if n.Add(1) == 20 {
			var m map[string]any
			json.Unmarshal(body, &m)
			fullKey.Store(m["GradeChangeID"])
			filler.Store(fillDisk(t, disk))
		}
		return 0, "", false
	})
	code, stdout, stderr := cli(t, sandboxEnv(srv), "run", "-json", "-concurrency", "1", "-ledger", db, "-report", filepath.Join(dir, "r1.xlsx"), in)
	if code != crmsync.ExitFailed {
		t.Fatalf("run onto a full disk: exit %d, want %d\n%s", code, crmsync.ExitFailed, stderr)
	}
	if !strings.Contains(stderr, "disk full writing ledger "+db) {
		t.Errorf("run onto a full disk does not say so:\n%s", stderr)
	}
	sent := len(srv.Delivered(crmsync.KindGrade))
	if sent < 20 || sent >= 80 {
		t.Fatalf("run onto a full disk: %d grade changes delivered, want it to stop soon after the 20th", sent)
	}
	// Its summary does not count as sent what the ledger could not record.
	s1 := decodeSummary(t, stdout)
	if s1.Counts[crmsync.OutcomeUncertain] < 1 || s1.Counts[crmsync.OutcomeSent]+s1.Counts[crmsync.OutcomeUncertain] != sent {
		t.Errorf("run onto a full disk: counts %v, %d delivered; want the unrecorded answers uncertain, the rest sent", s1.Counts, sent)
	}

	os.Remove(filler.Load().(string))
	code, stdout, stderr = cli(t, sandboxEnv(srv), "run", "-json", "-ledger", db, "-report", filepath.Join(dir, "r2.xlsx"), in)
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("run after the disk was freed: exit %d, want %d\n%s", code, crmsync.ExitNeedsPerson, stderr)
	}
	s := decodeSummary(t, stdout)
	if s.Counts[crmsync.OutcomeUncertain] < 1 {
		t.Errorf("run after the disk was freed: counts %v; want the unrecorded answers uncertain", s.Counts)
	}
	perKey := map[string]int{}
	for _, r := range srv.Delivered(crmsync.KindGrade) {
		var m map[string]any
		json.Unmarshal(r.Body, &m)
		perKey[m["GradeChangeID"].(string)]++
	}
	for k, c := range perKey {
		if c > 1 {
			t.Errorf("grade change %s delivered %d times", k, c)
		}
	}
	l, err := ledger.OpenReadOnly(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	key := fullKey.Load().(string)
	var state crmsync.State
	l.Results(context.Background(), s.RunID, crmsync.KindGrade, func(r *crmsync.Result) error {
		if r.Key == key {
			state = crmsync.State(r.Outcome)
		}
		return nil
	})
	if state != crmsync.State(crmsync.OutcomeUncertain) || perKey[key] != 1 {
		t.Errorf("grade change %s (answered as the disk filled): outcome %q in the next run, delivered %d times; want uncertain and once", key, state, perKey[key])
	}
}

// TestReadOnlyLedger: a ledger on a read-only mount is said to be
// read-only for what writes (a plan, a prune); what only reads it works on
// it: reconcile, status and report RUN-ID (an auditor's read-only copy).
func TestReadOnlyLedger(t *testing.T) {
	disk := mountTmpfs(t, "4m")
	db := filepath.Join(disk, "l.db")
	dir := t.TempDir()
	in := writeGrades(t, dir, 3)
	if code, _, stderr := cli(t, nil, "init", "-ledger", db); code != crmsync.ExitOK {
		t.Fatalf("init: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := cli(t, nil, "plan", "-ledger", db, "-report", filepath.Join(dir, "p.xlsx"), in); code != crmsync.ExitOK {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	if err := syscall.Mount("", disk, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Skipf("remount read-only: %v", err)
	}
	for _, args := range [][]string{
		{"plan", "-ledger", db, "-report", filepath.Join(dir, "r.xlsx"), in},
		{"prune", "-ledger", db},
		{"resolve", "-ledger", db, "-kind", "grade", "-as", "dismiss", "G00000"},
	} {
		code, _, stderr := cli(t, nil, args...)
		if code != crmsync.ExitFailed || !strings.Contains(stderr, "ledger "+db+" is read-only") {
			t.Errorf("%s on a read-only ledger: exit %d, want %d and a message saying read-only:\n%s", args[0], code, crmsync.ExitFailed, stderr)
		}
		if strings.Contains(stderr, "no such file") {
			t.Errorf("%s on a read-only ledger says no such file:\n%s", args[0], stderr)
		}
	}
	code, _, stderr := cli(t, nil, "reconcile", "-ledger", db, "-report", filepath.Join(dir, "rec.xlsx"), in)
	if code == crmsync.ExitFailed {
		t.Errorf("reconcile on a read-only ledger: exit %d, want it to read the ledger:\n%s", code, stderr)
	}
	code, stdout, stderr := cli(t, nil, "status", "-ledger", db)
	if code != crmsync.ExitOK || !strings.Contains(stdout, "plan") {
		t.Errorf("status on a read-only ledger: exit %d, want 0 and the plan run listed:\n%s\n%s", code, stdout, stderr)
	}
	again := filepath.Join(dir, "again.xlsx")
	if code, _, stderr := cli(t, nil, "report", "-ledger", db, "-report", again, "1"); code != crmsync.ExitOK {
		t.Errorf("report 1 on a read-only ledger: exit %d, want 0:\n%s", code, stderr)
	} else if _, err := os.Stat(again); err != nil {
		t.Errorf("report 1 on a read-only ledger: %v", err)
	}
	var fe *ledger.FileError
	if _, err := ledger.Open(context.Background(), db); !errors.As(err, &fe) || fe.Problem != ledger.ProblemReadOnly {
		t.Errorf("ledger.Open(read-only mount) = %v, want *FileError ProblemReadOnly", err)
	}
}

// TestReadOnlyOlderLedger: status and report of a read-only ledger of an
// older schema (which they cannot read as it is, and which cannot be taken
// forward) are refused, saying read-only and older, not an SQL error.
func TestReadOnlyOlderLedger(t *testing.T) {
	disk := mountTmpfs(t, "8m")
	db := filepath.Join(disk, "l.db")
	b, err := os.ReadFile(filepath.Join("testdata", "ledger-75db61f", "crmsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("", disk, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Skipf("remount read-only: %v", err)
	}
	for _, args := range [][]string{{"status", "-ledger", db}, {"report", "-ledger", db, "-report", filepath.Join(t.TempDir(), "r.xlsx"), "1"}} {
		code, _, stderr := cli(t, nil, args...)
		if code != crmsync.ExitFailed || !strings.Contains(stderr, "ledger "+db+" is read-only") || !strings.Contains(stderr, "older than this crmsync's") {
			t.Errorf("%s of a read-only ledger of an older schema: exit %d, want %d saying read-only and older:\n%s", args[0], code, crmsync.ExitFailed, stderr)
		}
	}
}

// TestSecondRunThroughOtherName: while a run sends, a second run on the
// same ledger through a symlink, or through a hard link made meanwhile,
// exits 1 at once; Mallcoo gets each grade change once.
func TestSecondRunThroughOtherName(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	bin := buildBinary(t)
	for _, tc := range []struct {
		name string
		link func(target, name string) error
		want string
	}{
		{"symlink", os.Symlink, "正在使用中:主机 "},
		{"hard link", os.Link, "has 2 names (hard links)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := mallcootest.NewServer(mallcootest.Options{Latency: 20 * time.Millisecond})
			defer srv.Close()
			dir := t.TempDir()
			in := writeGrades(t, dir, 60)
			db := filepath.Join(dir, "l.db")
			mustCreateLedger(t, db)
			first := exec.Command(bin, "run", "-concurrency", "1", "-ledger", db, "-report", filepath.Join(dir, "r1.xlsx"), in)
			first.Env = processEnv(srv)
			if err := first.Start(); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(10 * time.Second); len(srv.Requests()) < 5 && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
			}
			other := filepath.Join(dir, "other.db")
			if err := tc.link(db, other); err != nil {
				t.Fatal(err)
			}
			second := exec.Command(bin, "run", "-concurrency", "1", "-ledger", other, "-report", filepath.Join(dir, "r2.xlsx"), in)
			second.Env = processEnv(srv)
			out, _ := second.CombinedOutput()
			running := len(srv.Requests()) < 60
			if err := first.Wait(); err != nil {
				t.Errorf("first run: %v", err)
			}
			if code := second.ProcessState.ExitCode(); code != crmsync.ExitFailed || !strings.Contains(string(out), tc.want) {
				t.Errorf("second run through a %s: exit %d, want %d with %q:\n%s", tc.name, code, crmsync.ExitFailed, tc.want, out)
			}
			perKey := map[string]int{}
			for _, r := range srv.Delivered(crmsync.KindGrade) {
				var m map[string]any
				json.Unmarshal(r.Body, &m)
				perKey[m["GradeChangeID"].(string)]++
			}
			for k, c := range perKey {
				if c != 1 {
					t.Errorf("grade change %s delivered %d times, want once", k, c)
				}
			}
			if len(perKey) != 60 {
				t.Errorf("%d grade changes delivered, want all 60", len(perKey))
			}
			if !t.Failed() && !running {
				t.Errorf("the first run had sent everything when the second ended: no overlap was tested")
			}
		})
	}
}

// TestReportNeverReplacesInputs: -report naming an input (directly,
// through a symlink or a hard link), the ledger, the config, a device, a
// directory or a file crmsync did not write is a usage error and leaves
// the file as it was; a report over crmsync's own earlier report is fine.
func TestReportNeverReplacesInputs(t *testing.T) {
	dir := t.TempDir()
	in := writeGrades(t, dir, 3)
	db := filepath.Join(dir, "l.db")
	conf := filepath.Join(dir, "crmsync.toml")
	os.WriteFile(conf, []byte("concurrency = 2\n"), 0o644)
	code, _, stderr := cli(t, nil, "plan", "-ledger", db, "-report", filepath.Join(dir, "own.xlsx"), in)
	if code != crmsync.ExitOK {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	sym := filepath.Join(dir, "sym.csv")
	os.Symlink(in, sym)
	hard := filepath.Join(dir, "hard.csv")
	os.Link(in, hard)
	foreign := filepath.Join(dir, "export.xlsx")
	os.WriteFile(foreign, []byte("PK\x03\x04 not ours"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	for _, target := range []string{in, sym, hard, db, conf, "/dev/null", foreign, filepath.Join(dir, "sub")} {
		before, _ := os.ReadFile(target)
		for _, args := range [][]string{
			{"plan", "-config", conf, "-ledger", db, "-report", target, in},
			{"reconcile", "-ledger", db, "-report", target, in},
			{"report", "-ledger", db, "-report", target, "1"},
		} {
			code, _, stderr := cli(t, nil, args...)
			if code != crmsync.ExitUsage || !strings.Contains(stderr, "report "+target) {
				t.Errorf("crmsync %s -report %s: exit %d, want %d naming the report:\n%s", args[0], target, code, crmsync.ExitUsage, stderr)
			}
			if after, _ := os.ReadFile(target); string(after) != string(before) {
				t.Errorf("crmsync %s -report %s changed the file", args[0], target)
			}
		}
	}
	// The problems workbook beside the report may not be an input either.
	pin := filepath.Join(dir, "day-problems.csv")
	data, _ := os.ReadFile(in)
	os.WriteFile(pin, data, 0o644)
	code, _, stderr = cli(t, nil, "plan", "-ledger", db, "-report", filepath.Join(dir, "day.csv"), pin)
	if after, _ := os.ReadFile(pin); code != crmsync.ExitUsage || string(after) != string(data) {
		t.Errorf("plan -report day.csv reading day-problems.csv: exit %d, want %d and the input kept:\n%s", code, crmsync.ExitUsage, stderr)
	}
	for i := 0; i < 2; i++ {
		if code, _, stderr := cli(t, nil, "report", "-ledger", db, "-report", filepath.Join(dir, "own.xlsx"), "1"); code != crmsync.ExitOK {
			t.Errorf("crmsync report over its own report (%d): exit %d\n%s", i, code, stderr)
		}
	}
}

// TestMaxRowsPerRun: a run whose files hold more rows than
// max_rows_per_run ends before sending anything, naming the first row
// over the cap; at the cap it runs.
func TestMaxRowsPerRun(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	in := writeGrades(t, dir, 6)
	conf := filepath.Join(dir, "crmsync.toml")
	os.WriteFile(conf, []byte("max_rows_per_run = 5\n"), 0o644)
	code, _, stderr := cli(t, sandboxEnv(srv), "run", "-config", conf, "-ledger", filepath.Join(dir, "l.db"), "-report", filepath.Join(dir, "r.xlsx"), in)
	if code != crmsync.ExitFailed || !strings.Contains(stderr, "more than 5 rows (max_rows_per_run)") || !strings.Contains(stderr, "grade.csv:7") {
		t.Errorf("run over max_rows_per_run: exit %d, want %d naming the cap and grade.csv:7:\n%s", code, crmsync.ExitFailed, stderr)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("run over max_rows_per_run sent %d requests, want none", n)
	}
	os.WriteFile(conf, []byte("max_rows_per_run = 6\n"), 0o644)
	code, _, stderr = cli(t, sandboxEnv(srv), "run", "-config", conf, "-ledger", filepath.Join(dir, "l.db"), "-report", filepath.Join(dir, "r2.xlsx"), in)
	if code != crmsync.ExitOK || len(srv.Delivered(crmsync.KindGrade)) != 6 {
		t.Errorf("run at max_rows_per_run: exit %d, %d delivered; want 0 and 6\n%s", code, len(srv.Delivered(crmsync.KindGrade)), stderr)
	}
	os.WriteFile(conf, []byte("max_rows_per_run = 0\n"), 0o644)
	if code, _, stderr := cli(t, nil, "config", "-config", conf); code != crmsync.ExitFailed || !strings.Contains(stderr, "max_rows_per_run") {
		t.Errorf("config with max_rows_per_run = 0: exit %d, want %d naming it:\n%s", code, crmsync.ExitFailed, stderr)
	}
}

// TestOddLedgerSaidPlainly: a ledger with a damaged header (user_version
// -1 made crmsync panic) or a file that is not one is exit 1 with a plain
// message, for every command that opens a ledger.
func TestOddLedgerSaidPlainly(t *testing.T) {
	dir := t.TempDir()
	in := writeGrades(t, dir, 2)
	minus := filepath.Join(dir, "minus.db")
	l, err := ledger.Open(context.Background(), minus)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	raw, err := sql.Open("sqlite3", minus)
	if err != nil {
		t.Fatal(err)
	}
	raw.Exec("PRAGMA user_version = -1")
	raw.Close()
	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o644)
	for db, want := range map[string]string{
		minus:       "has schema version -1, which no crmsync writes",
		empty:       "is an empty file (0 bytes)",
		in:          "is not a SQLite database",
		dir:         "is a directory",
		"/dev/null": "is not a regular file",
	} {
		for _, args := range [][]string{
			{"plan", "-ledger", db, "-report", filepath.Join(dir, "r.xlsx"), in},
			{"status", "-ledger", db},
			{"report", "-ledger", db, "1"},
			{"reconcile", "-ledger", db, "-report", filepath.Join(dir, "rec.xlsx"), in},
		} {
			code, _, stderr := cli(t, nil, args...)
			if code != crmsync.ExitFailed || !strings.Contains(stderr, "ledger "+db+" "+want) {
				t.Errorf("crmsync %s -ledger %s: exit %d, want %d and %q:\n%s", args[0], db, code, crmsync.ExitFailed, want, stderr)
			}
		}
	}
}

// TestReadOnlyLedgerModes: a ledger file without write permission, or in
// a folder without it, is said to be read-only, not "no such file", by a
// command that writes (prune); status, which only reads, shows it. The
// binary runs as nobody (root may write anything), so it needs root.
func TestReadOnlyLedgerModes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	if os.Getuid() != 0 {
		t.Skip("needs root to run the binary as another user")
	}
	bin := buildBinary(t)
	top, err := os.MkdirTemp("", "crmsync-ro-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(top)
	os.Chmod(top, 0o755)
	exe := filepath.Join(top, "crmsync")
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(exe, data, 0o755)
	newLedger := func(dir string) string {
		os.Mkdir(dir, 0o755)
		db := filepath.Join(dir, "l.db")
		l, err := ledger.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
		return db
	}
	fileRO := newLedger(filepath.Join(top, "file"))
	os.Chmod(fileRO, 0o444)
	folderRO := newLedger(filepath.Join(top, "folder"))
	os.Chmod(folderRO, 0o666)
	os.Chmod(filepath.Dir(folderRO), 0o555)
	for db, want := range map[string]string{
		fileRO:   "ledger " + fileRO + " is read-only: ",
		folderRO: "ledger " + folderRO + " is read-only: its folder " + filepath.Dir(folderRO) + " is not writable",
	} {
		// prune writes: refused, saying why. status only reads: it works.
		cmd := exec.Command(exe, "prune", "-ledger", db)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != crmsync.ExitFailed || !strings.Contains(string(out), want) {
			t.Errorf("crmsync prune on %s as nobody: exit %d, want %d and %q:\n%s", db, code, crmsync.ExitFailed, want, out)
		}
		cmd = exec.Command(exe, "status", "-ledger", db)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, _ = cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != crmsync.ExitOK || !strings.Contains(string(out), "待处理:0") {
			t.Errorf("crmsync status on %s as nobody: exit %d, want 0 and the ledger shown:\n%s", db, code, out)
		}
	}
}
