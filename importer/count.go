package importer

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
)

// CountRows estimates the data rows of the CSV files among paths by counting
// their lines (a quoted cell spanning lines counts more than once), so the
// read stage can show a total and an ETA; XLSX files would need parsing and
// are not counted. It returns 0 when any file is not a regular CSV file, or
// when ctx is cancelled.
func CountRows(ctx context.Context, paths []string) int {
	total := 0
	buf := make([]byte, 1<<20)
	for p, same := range sameFiles(paths) {
		if same != "" {
			continue // read under the other name (ReadFiles)
		}
		if !strings.EqualFold(filepath.Ext(p), ".csv") {
			return 0
		}
		f, problem := openRegular(p) // not a FIFO: it would block
		if problem != nil {
			return 0
		}
		lines, last := 0, byte('\n')
		for {
			if ctx.Err() != nil {
				f.Close()
				return 0
			}
			n, err := f.Read(buf)
			lines += bytes.Count(buf[:n], []byte{'\n'})
			if n > 0 {
				last = buf[n-1]
			}
			if err != nil {
				break
			}
		}
		f.Close()
		if last != '\n' {
			lines++
		}
		total += max(lines-1, 0) // the header
	}
	return total
}
