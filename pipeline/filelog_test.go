package pipeline_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/pipeline"
)

// TestFileProblemLogSaysWhatHappened: the log line of a file problem says
// whether the file's rows were read: a score-v2 file whose payments name
// TransIDs no order has (orphan-items) had its orders read and sent, so
// it is not "not read"; a file with no header of any kind is.
func TestFileProblemLogSaysWhatHappened(t *testing.T) {
	w := newWorld(t)
	orders := w.file("score-v2.csv", "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,PayAmount,CrmShopID,Score",
		"V1,C1,1,2024-11-01 10:00:00,100,S1,100")
	w.file("score-v2.payments.csv", "TransID,PayType,PayNo,Amount", "V1,12,P1,100", "V7,12,P7,70")
	junk := w.file("junk.csv", "a,b,c", "1,2,3")
	var log bytes.Buffer
	ctx := context.Background()
	id, _ := w.l.BeginRun(ctx, "run", nil, time.Now())
	s := crmsync.NewSummary(id, "run", time.Now())
	j := &pipeline.Job{Reader: &importer.Reader{}, Ledger: w.l, Sender: w.cl, Logger: slog.New(slog.NewTextHandler(&log, nil))}
	if err := j.Run(ctx, id, []string{orders, junk}, s); err != nil {
		t.Fatalf("Job.Run() = %v", err)
	}
	w.l.EndRun(ctx, s)
	if s.Counts[crmsync.OutcomeSent] != 1 {
		t.Fatalf("counts %v, want V1 sent", s.Counts)
	}
	var orphan, notRead string
	for _, line := range strings.Split(log.String(), "\n") {
		switch {
		case strings.Contains(line, "code="+importer.ProblemOrphanItems):
			orphan = line
		case strings.Contains(line, "junk.csv"):
			notRead = line
		}
	}
	if orphan == "" || strings.Contains(orphan, "not read") || !strings.Contains(orphan, "rows=1") {
		t.Errorf("log of the orphan-items file = %q, want a line with its code and rows=1 that does not say it was not read\n%s", orphan, log.String())
	}
	if !strings.Contains(notRead, "file not read") {
		t.Errorf("log of the file with no header = %q, want \"file not read\"\n%s", notRead, log.String())
	}
}
