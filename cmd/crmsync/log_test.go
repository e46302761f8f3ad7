package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLogFormatJSON runs the README's cron line (-log-format json) over the
// samples: every stderr line is one JSON object stamped in China time, and
// the final summary is among them with its counts.
func TestLogFormatJSON(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := cli(t, nil, "run", "-sandbox", "-log-format", "json",
		"-ledger", filepath.Join(dir, "l.db"), "-report", filepath.Join(dir, "r.xlsx"), samplesDir(t))
	if code != 3 {
		t.Fatalf("run exit %d, want 3 (the samples hold bad rows)\n%s", code, stderr)
	}
	var summary map[string]any
	for i, line := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("stderr line %d is not JSON: %v\n%s", i+1, err, line)
		}
		ts, _ := rec["time"].(string)
		tm, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil || !strings.HasSuffix(ts, "+08:00") {
			t.Errorf("stderr line %d: time %q, want RFC 3339 in China time (+08:00)", i+1, ts)
		}
		if _, off := tm.Zone(); err == nil && off != 8*3600 {
			t.Errorf("stderr line %d: zone offset %d, want +8h", i+1, off)
		}
		if s, ok := rec["summary"].(map[string]any); ok {
			summary = s
		}
	}
	if summary == nil {
		t.Fatalf("no summary line among stderr:\n%s", stderr)
	}
	counts, _ := summary["counts"].(map[string]any)
	if counts["sent"] == nil || counts["invalid"] == nil {
		t.Errorf("summary counts = %v, want sent and invalid", counts)
	}
}

// TestLogFormatJSONError: a command that fails says so in a JSON line too.
func TestLogFormatJSONError(t *testing.T) {
	code, _, stderr := cli(t, map[string]string{}, "run", "-log-format", "json",
		"-ledger", filepath.Join(t.TempDir(), "l.db"), samplesDir(t))
	if code != 1 {
		t.Fatalf("run without credentials: exit %d, want 1\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rec); err != nil || rec["level"] != "ERROR" || rec["err"] == nil {
		t.Errorf("last stderr line = %q, want a JSON error record", lines[len(lines)-1])
	}
}
