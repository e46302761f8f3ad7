package main

import (
	"errors"
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

// ledgerFiles are the files of the ledger at path.
func ledgerFiles(path string) []string {
	return []string{path, path + "-wal", path + "-shm", path + ".lock"}
}
