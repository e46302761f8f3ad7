package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/crmsync/crmsync/report"
)

// checkReport refuses, before any work, a -report path (and the problems
// workbook beside it, with problems) that would replace one of the
// command's inputs — the files read, the ledger and its -wal and -shm, the
// config file — through any name (same file: symlinks and hard links
// included), or that report.CheckTarget refuses (a directory, a device, a
// file crmsync did not write). It is a usage error.
func checkReport(path string, problems bool, inputs ...string) error {
	if path == "" {
		return nil
	}
	if !strings.EqualFold(filepath.Ext(path), ".xlsx") {
		return usagef("-report %s: the report is an Excel workbook; give it a name ending in .xlsx", path)
	}
	targets := []string{path}
	if problems {
		targets = append(targets, report.ProblemsPath(path))
	}
	for _, target := range targets {
		fi, err := os.Stat(target)
		if err != nil {
			continue // missing (or unreadable: CheckTarget says so)
		}
		for _, in := range inputs {
			if in == "" {
				continue
			}
			if ii, err := os.Stat(in); err == nil && os.SameFile(fi, ii) {
				return &usageError{(&report.TargetError{Path: target, Problem: report.TargetInput, Input: in}).Error()}
			}
		}
	}
	for _, target := range targets {
		if err := report.CheckTarget(target); err != nil {
			var te *report.TargetError
			if errors.As(err, &te) {
				return &usageError{err.Error()}
			}
			return err
		}
	}
	return nil
}

// checkResults refuses, before any work, a -results path that would
// replace one of the command's inputs (any name for the same file), a
// directory, a device or other non-regular file, or an existing file that
// is not a results CSV crmsync wrote. It is a usage error.
func checkResults(path string, inputs ...string) error {
	if path == "" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil // missing (or unreadable: writing it says so)
	}
	for _, in := range inputs {
		if in == "" {
			continue
		}
		if ii, err := os.Stat(in); err == nil && os.SameFile(fi, ii) {
			return usagef("-results %s is the input file %s; give -results another name", path, in)
		}
	}
	switch {
	case fi.IsDir():
		return usagef("-results %s is a directory; give -results a file name such as %s", path, filepath.Join(path, "results.csv"))
	case !fi.Mode().IsRegular():
		return usagef("-results %s is not a regular file (a device, pipe or socket); give -results a file name", path)
	}
	ok, err := report.ResultsOwned(path)
	if err != nil {
		return fmt.Errorf("check results %s: %w", path, err)
	}
	if !ok {
		return usagef("-results %s exists and is not a results CSV crmsync wrote; give -results another name, or move the file away", path)
	}
	return nil
}

// ledgerFiles are the files of the ledger at path.
func ledgerFiles(path string) []string {
	return []string{path, path + "-wal", path + "-shm", path + ".lock"}
}
