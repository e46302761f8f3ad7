package report

import (
	"archive/zip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// TargetProblem says why a path may not receive a workbook.
type TargetProblem int

// The reasons a workbook is not written to a path.
const (
	TargetDirectory  TargetProblem = iota + 1 // the path is a directory
	TargetNotRegular                          // a device, pipe or socket
	TargetForeign                             // a file crmsync did not write, or a person saved since
	TargetInput                               // one of the run's inputs (set by the caller)
)

// TargetError refuses to write a workbook over Path. Input names the input
// file Path is, with TargetInput.
type TargetError struct {
	Path    string
	Problem TargetProblem
	Input   string
}

func (e *TargetError) Error() string {
	switch e.Problem {
	case TargetDirectory:
		return fmt.Sprintf("report %s is a directory; give -report a file name such as %s", e.Path, strings.TrimSuffix(e.Path, "/")+"/run.xlsx")
	case TargetNotRegular:
		return fmt.Sprintf("report %s is not a regular file (a device, pipe or socket); give -report a file name", e.Path)
	case TargetInput:
		if e.Input != e.Path {
			return fmt.Sprintf("report %s is the input file %s; give -report another name", e.Path, e.Input)
		}
		return fmt.Sprintf("report %s is an input of this command; give -report another name", e.Path)
	}
	return fmt.Sprintf("report %s exists and is not a workbook crmsync wrote (or a person has saved it since); give -report another name, or move the file away", e.Path)
}

// CheckTarget refuses a path a workbook may not replace: a directory, a
// device or other non-regular file, and an existing file that is not
// crmsync output left as crmsync wrote it (see Owned). A missing path is
// fine. It does not know the run's inputs: the caller checks those.
func CheckTarget(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check report %s: %w", path, err)
	}
	switch {
	case fi.IsDir():
		return &TargetError{Path: path, Problem: TargetDirectory}
	case !fi.Mode().IsRegular():
		return &TargetError{Path: path, Problem: TargetNotRegular}
	}
	ok, err := Owned(path)
	if err != nil {
		return fmt.Errorf("check report %s: %w", path, err)
	}
	if !ok {
		return &TargetError{Path: path, Problem: TargetForeign}
	}
	return nil
}

// Owned reports whether the regular file at path is a workbook crmsync
// wrote as output (a report, problems or reconciliation workbook) that
// nobody has saved since: its document properties say crmsync created
// and last modified it, and it carries the output mark (or, from crmsyncs
// before the mark, an output title). An import template filled in by a
// person is not output; neither is a problems workbook fixed in Excel,
// which records who saved it.
func Owned(path string) (bool, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return false, nil // not a zip: not a workbook crmsync wrote
	}
	defer zr.Close()
	var core struct {
		Title          string `xml:"title"`
		Creator        string `xml:"creator"`
		LastModifiedBy string `xml:"lastModifiedBy"`
	}
	var custom struct {
		Props []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:",any"`
		} `xml:"property"`
	}
	for _, part := range []struct {
		name string
		v    any
	}{{"docProps/core.xml", &core}, {"docProps/custom.xml", &custom}} {
		f, err := zr.Open(part.name)
		if err != nil {
			continue
		}
		err = xml.NewDecoder(io.LimitReader(f, 1<<20)).Decode(part.v)
		f.Close()
		if err != nil {
			return false, nil
		}
	}
	if core.Creator != "crmsync" || core.LastModifiedBy != "crmsync" {
		return false, nil
	}
	for _, p := range custom.Props {
		if p.Name == outputMark && strings.TrimSpace(p.Value) == "output" {
			return true, nil
		}
	}
	for _, l := range []lang{"zh", "en"} {
		if core.Title == l.T("title") || core.Title == l.T("problemsTitle") || core.Title == l.rt("recTitle") {
			return true, nil
		}
	}
	return false, nil
}
