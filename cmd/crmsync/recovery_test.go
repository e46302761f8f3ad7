package main

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
	"github.com/crmsync/crmsync/report"
)

// TestRecoveryEmptiesBacklog kills the real binary (SIGKILL, several times,
// against a fake Mallcoo that fails and drops requests) during a grade and
// bonus run, then follows the documented recovery: status -json lists the
// outstanding items; the uncertain ones are resolved (delivered for those
// the fake recorded, resend for the others, the latter with -from FILE);
// retry sends the rest. Every event is delivered exactly once, in order per
// member, and outstanding.total is 0 at the end.
func TestRecoveryEmptiesBacklog(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	const gradeMembers, bonusMembers, kills = 60, 100, 5
	bin := buildBinary(t)
	srv := mallcootest.NewServer(mallcootest.Options{Latency: 20 * time.Millisecond, FailRate: 0.03, DropRate: 0.02, Seed: 11})
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.MkdirAll(in, 0o755)
	writeCrashInput(t, in, 0, gradeMembers)
	os.Remove(filepath.Join(in, "score.csv"))
	var b strings.Builder
	b.WriteString("ThirdPartyCardID,BonusAction,GetBonus,AfterBonus,RefID,CreateTime\n")
	for m := 0; m < bonusMembers; m++ {
		for e := 0; e < 3; e++ {
			fmt.Fprintf(&b, "8%012d,4,10,%d,B%06d%d,2024-11-01 %02d:%02d:00\n", m, 100+10*e, m, e, 10+e, m%60)
		}
	}
	os.WriteFile(filepath.Join(in, "bonus.csv"), []byte(b.String()), 0o644)
	conf := filepath.Join(dir, "crmsync.toml")
	os.WriteFile(conf, []byte("retries = 3\nconcurrency = 8\n"), 0o644)
	db := filepath.Join(dir, "ledger.db")
	mustCreateLedger(t, db)
	runBin := func(args ...string) (int, string, string) {
		cmd := exec.Command(bin, args...)
		cmd.Env = processEnv(srv)
		cmd.Dir = dir
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		cmd.Run()
		return cmd.ProcessState.ExitCode(), out.String(), errb.String()
	}

	rng := rand.New(rand.NewSource(5))
	for i := 0; i < kills; i++ {
		cmd := exec.Command(bin, "run", "-config", conf, "-ledger", db, "-report", filepath.Join(dir, fmt.Sprintf("kill-%d.xlsx", i)), in)
		cmd.Env, cmd.Dir = processEnv(srv), dir
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Killed while requests are out: after the server has met a few
		// more requests (each held 20 ms), so events are in flight.
		want := len(srv.Requests()) + 5 + rng.Intn(150)
		for deadline := time.Now().Add(30 * time.Second); len(srv.Requests()) < want && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	if code, _, stderr := runBin("run", "-config", conf, "-ledger", db, "-report", filepath.Join(dir, "last.xlsx"), in); code != crmsync.ExitOK && code != crmsync.ExitNeedsPerson {
		t.Fatalf("run after the kills: exit %d\n%s", code, stderr)
	}

	keyOf := func(r mallcootest.Request) string {
		var m map[string]any
		json.Unmarshal(r.Body, &m)
		if r.Kind == crmsync.KindGrade {
			return "grade " + m["GradeChangeID"].(string)
		}
		// As status shows it: the card ID masked. The person checks
		// Mallcoo by the RefID.
		return "bonus " + m["RefID"].(string) + "|" + report.MaskID(m["ThirdPartyCardID"].(string))
	}
	delivered := func() map[string]int {
		n := map[string]int{}
		for _, k := range []crmsync.Kind{crmsync.KindGrade, crmsync.KindBonus} {
			for _, r := range srv.Delivered(k) {
				n[keyOf(r)]++
			}
		}
		return n
	}

	var resolved, resolvedDelivered int
	for round := 0; ; round++ {
		st := readStatusList(t, db)
		if st.Outstanding.Total == 0 {
			break
		}
		if round == 10 {
			t.Fatalf("outstanding after %d rounds of recovery: %+v", round, st.Outstanding.ByState)
		}
		got := delivered()
		decide := map[string][]string{} // "kind as" → keys
		for _, it := range st.Outstanding.Items {
			switch it.State {
			case "uncertain", "inflight":
				as := "resend"
				if got[string(it.Kind)+" "+it.Key] > 0 {
					as = "delivered"
				}
				decide[string(it.Kind)+" "+as] = append(decide[string(it.Kind)+" "+as], it.Key)
			case "failed", "blocked":
				// retry sends them
			default:
				t.Fatalf("outstanding %s %s (%s): %s; not expected here", it.Kind, it.Key, it.State, it.Reason)
			}
		}
		for ka, keys := range decide {
			kind, as, _ := strings.Cut(ka, " ")
			args := []string{"resolve", "-ledger", db, "-kind", kind, "-as", as, "-reason", "checked in Mallcoo"}
			if as == "resend" {
				f := filepath.Join(dir, fmt.Sprintf("resend-%d-%s.txt", round, kind))
				os.WriteFile(f, []byte(strings.Join(keys, "\n")+"\n"), 0o644)
				args = append(args, "-from", f)
			} else {
				args = append(args, keys...)
			}
			if code, _, stderr := runBin(args...); code != crmsync.ExitOK {
				t.Fatalf("resolve %s: exit %d\n%s", ka, code, stderr)
			}
			resolved += len(keys)
			if as == "delivered" {
				resolvedDelivered += len(keys)
			}
		}
		if code, _, stderr := runBin("retry", "-config", conf, "-ledger", db, "-report", filepath.Join(dir, fmt.Sprintf("retry-%d.xlsx", round))); code != crmsync.ExitOK && code != crmsync.ExitNeedsPerson {
			t.Fatalf("retry %d: exit %d\n%s", round, code, stderr)
		}
	}

	got := delivered()
	if len(got) != 3*gradeMembers+3*bonusMembers {
		t.Errorf("%d events delivered, want %d", len(got), 3*gradeMembers+3*bonusMembers)
	}
	for k, n := range got {
		if n != 1 {
			t.Errorf("%s delivered %d times", k, n)
		}
	}
	checkLaneOrder(t, append(srv.Delivered(crmsync.KindGrade), srv.Delivered(crmsync.KindBonus)...))
	t.Logf("recovery: %d requests, %d uncertain events resolved by a person (%d as delivered)", len(srv.Requests()), resolved, resolvedDelivered)
	if resolved == 0 {
		t.Errorf("no kill left an event uncertain: the recovery by resolve was not exercised")
	}
}

// readStatusList is readStatus listing every outstanding item.
func readStatusList(t *testing.T, db string) statusJSON {
	t.Helper()
	code, stdout, stderr := cli(t, nil, "status", "-json", "-list", "100000", "-ledger", db)
	if code != crmsync.ExitOK {
		t.Fatalf("status: exit %d\n%s", code, stderr)
	}
	var st statusJSON
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("status -json: %v", err)
	}
	return st
}
