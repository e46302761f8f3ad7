// Samplegen writes the sample CRM exports in samples/: what a Chinese
// shopping mall's CRM exports for the business date 2024-11-01, with a few
// deliberately bad rows. `make demo` feeds all of samples/ to crmsync and
// tests assert the outcomes listed in samples/README.md, which samplegen
// writes too.
//
// Usage:
//
//	go run ./internal/samplegen -out samples
//
// The output is deterministic: fixed dates, fixed document properties, no
// clock and no randomness, so running it again gives identical files. The
// package test regenerates into a temporary directory and compares with
// samples/; `go test ./internal/samplegen -update` rewrites samples/.
//
// The files:
//
//   - 2024-11-01_消费积分变更通知.csv: score kind, GBK, Chinese labels, CRLF;
//   - 2024-11-01_member.csv: member kind, UTF-8 with BOM, API names in mixed case;
//   - 2024-11-01_crm_export.xlsx: one sheet per kind (named by kind or by the
//     vendor's Chinese title), score-v2 item sheets, and a 说明 sheet of notes;
//   - README.md: every file and sheet, row counts, and every bad row.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "samplegen:", err)
		os.Exit(1)
	}
}

// run parses the flags and writes the samples.
func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("samplegen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "samples", "directory to write the sample files into")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return generate(*out)
}

// generate writes every sample file and the README into dir.
func generate(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("generate samples: %w", err)
	}
	s := build()
	if err := writeScoreCSV(filepath.Join(dir, scoreCSVName), s.score); err != nil {
		return err
	}
	if err := writeMemberCSV(filepath.Join(dir, memberCSVName), s.member); err != nil {
		return err
	}
	if err := writeXLSX(filepath.Join(dir, xlsxName), s.sheets); err != nil {
		return err
	}
	return writeReadme(filepath.Join(dir, "README.md"), s)
}
