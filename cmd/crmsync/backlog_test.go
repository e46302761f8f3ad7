package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
)

// statusJSON is what the backlog tests read of status -json.
type statusJSON struct {
	Runs []struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"runs"`
	Outstanding struct {
		Total   int            `json:"total"`
		ByState map[string]int `json:"by_state"`
		Items   []struct {
			Kind   crmsync.Kind `json:"kind"`
			Key    string       `json:"key"`
			State  string       `json:"state"`
			Reason string       `json:"reason"`
			Since  time.Time    `json:"since"`
		} `json:"items"`
	} `json:"outstanding"`
}

func readStatus(t *testing.T, db string) statusJSON {
	t.Helper()
	code, stdout, stderr := cli(t, nil, "status", "-json", "-ledger", db)
	if code != crmsync.ExitOK {
		t.Fatalf("status: exit %d\n%s", code, stderr)
	}
	var st statusJSON
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("status -json: %v\n%s", err, stdout)
	}
	return st
}

// TestStatusOutstanding: status lists an invalid row as outstanding (text
// and -json), with its reason, after the run that read it.
func TestStatusOutstanding(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "l.db")
	f := filepath.Join(dir, "score.csv")
	os.WriteFile(f, []byte("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score,ReturnTime,ReturnAmount\n"+
		"T1,C1,1,2024-11-01 10:00:00,100.00,S1,100,,\n"+
		"T2,C2,1,2024-11-01 10:00:00,-5.00,S1,-5,,\n"), 0o644)
	if code, _, stderr := cli(t, nil, "run", "-sandbox", "-ledger", db, "-report", filepath.Join(dir, "r.xlsx"), f); code != crmsync.ExitNeedsPerson {
		t.Fatalf("run: exit %d, want 3\n%s", code, stderr)
	}
	st := readStatus(t, db)
	o := st.Outstanding
	if o.Total != 1 || o.ByState["invalid"] != 1 || len(o.Items) != 1 {
		t.Fatalf("outstanding %+v, want the one invalid row", o)
	}
	it := o.Items[0]
	if it.Kind != crmsync.KindScore || it.Key != f+":3" || it.State != "invalid" || !strings.Contains(it.Reason, "Score") || it.Since.IsZero() {
		t.Errorf("outstanding item %+v, want score %s:3 invalid, its reason naming Score, and a time", it, f)
	}
	_, text, _ := cli(t, nil, "status", "-ledger", db)
	if !strings.Contains(text, "outstanding: 1") || !strings.Contains(text, f+":3") {
		t.Errorf("status text does not list the outstanding row:\n%s", text)
	}
}
