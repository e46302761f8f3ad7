package importer

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/crmsync/crmsync"
)

const benchRows = 100_000

// writeBenchCSV writes a score export of n rows: sales and returns, quoted
// amounts with thousands separators, Chinese labels, CRLF.
func writeBenchCSV(b *testing.B, dir string, n int, gbk bool) string {
	b.Helper()
	var sb strings.Builder
	sb.WriteString("交易ID,会员卡号ID,积分事件,消费时间,消费金额,消费商户,交易流水号,pos机编号,退货时间,退货金额,积分值,支付方式\r\n")
	for i := 0; i < n; i++ {
		card := fmt.Sprintf("02017%08d", i%5000)
		if i%10 == 9 {
			fmt.Fprintf(&sb, "R%09d,%s,2101,2024/11/1 10:%02d:%02d,1280.50,S%04d,T%09d,POS01,2024-11-02 09:00:00,1280.50,-1280,\r\n",
				i, card, i%60, i%60, i%200, i-1)
			continue
		}
		fmt.Fprintf(&sb, "T%09d,%s,1,2024-11-01 10:%02d:%02d,\"1,%03d.50\",S%04d,POS-%d,POS01,,,%d,12\r\n",
			i, card, i%60, i%60, i%1000, i%200, i, 1000+i%1000)
	}
	data := []byte(sb.String())
	if gbk {
		var err error
		if data, err = simplifiedchinese.GBK.NewEncoder().Bytes(data); err != nil {
			b.Fatal(err)
		}
	}
	p := filepath.Join(dir, "score.csv")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// bareCSV is the floor: encoding/csv with ReuseRecord over a 1 MiB buffer,
// counting records.
func bareCSV(b *testing.B, path string) int {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReaderSize(f, bufSize))
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	n := 0
	for {
		_, err := cr.Read()
		if err == io.EOF {
			return n - 1 // the header
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
}

func readerCSV(b *testing.B, r *Reader, path string) int {
	n := 0
	_, err := r.ReadFile(context.Background(), path, func(row *crmsync.Row) error {
		if row.Event == nil {
			return fmt.Errorf("row %v: %v", row.Source, row.Problem)
		}
		n++
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkReadCSV reads a 100k-row score CSV with the bare encoding/csv
// floor and with Reader (decode, validate, marshal, hash), each as a
// sub-benchmark; the "ratio" one does both per iteration and reports the
// rows/s of each and how many times slower Reader is.
func BenchmarkReadCSV(b *testing.B) {
	dir := b.TempDir()
	path := writeBenchCSV(b, dir, benchRows, false)
	gbkDir := b.TempDir()
	gbkPath := writeBenchCSV(b, gbkDir, benchRows, true)
	fi, _ := os.Stat(path)
	r := &Reader{Now: time.Now}

	b.Run("bare", func(b *testing.B) {
		b.SetBytes(fi.Size())
		for b.Loop() {
			if n := bareCSV(b, path); n != benchRows {
				b.Fatalf("bare read %d rows, want %d", n, benchRows)
			}
		}
		b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("importer", func(b *testing.B) {
		b.SetBytes(fi.Size())
		b.ReportAllocs()
		for b.Loop() {
			if n := readerCSV(b, r, path); n != benchRows {
				b.Fatalf("Reader read %d rows, want %d", n, benchRows)
			}
		}
		b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("importer-gbk", func(b *testing.B) {
		b.SetBytes(fi.Size())
		for b.Loop() {
			if n := readerCSV(b, r, gbkPath); n != benchRows {
				b.Fatalf("Reader read %d rows, want %d", n, benchRows)
			}
		}
		b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("ratio", func(b *testing.B) {
		var bare, full time.Duration
		for b.Loop() {
			t0 := time.Now()
			bareCSV(b, path)
			t1 := time.Now()
			readerCSV(b, r, path)
			bare += t1.Sub(t0)
			full += time.Since(t1)
		}
		b.ReportMetric(float64(benchRows*b.N)/bare.Seconds(), "bare-rows/s")
		b.ReportMetric(float64(benchRows*b.N)/full.Seconds(), "importer-rows/s")
		b.ReportMetric(full.Seconds()/bare.Seconds(), "x-bare")
	})
}

// BenchmarkReadXLSX reads a 20k-row score sheet with excelize's bare row
// iterator (the floor) and with Reader (read, validate, marshal, hash); the
// "ratio" one does both per iteration and reports how many times slower
// Reader is.
func BenchmarkReadXLSX(b *testing.B) {
	const n = 20_000
	dir := b.TempDir()
	path := filepath.Join(dir, "score.xlsx")
	f := excelize.NewFile()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		b.Fatal(err)
	}
	sw.SetRow("A1", []any{"TransID", "ThirdPartyCardID", "ScoreEvent", "TradeTime", "TradeAmount", "CrmShopID", "Score"})
	for i := 0; i < n; i++ {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		sw.SetRow(cell, []any{fmt.Sprintf("T%09d", i), fmt.Sprintf("02017%08d", i%5000), 1, 45597.42 + float64(i%100)/1000, 1280.5, "S0012", 1280})
	}
	if err := sw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.SaveAs(path); err != nil {
		b.Fatal(err)
	}
	f.Close()
	b.Run("bare", func(b *testing.B) {
		for b.Loop() {
			bareXLSX(b, path)
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	r := &Reader{}
	b.Run("importer", func(b *testing.B) {
		for b.Loop() {
			if got := readerCSV(b, r, path); got != n {
				b.Fatalf("Reader read %d rows, want %d", got, n)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("ratio", func(b *testing.B) {
		var bare, full time.Duration
		for b.Loop() {
			t0 := time.Now()
			bareXLSX(b, path)
			t1 := time.Now()
			readerCSV(b, r, path)
			bare += t1.Sub(t0)
			full += time.Since(t1)
		}
		b.ReportMetric(float64(n*b.N)/bare.Seconds(), "bare-rows/s")
		b.ReportMetric(float64(n*b.N)/full.Seconds(), "importer-rows/s")
		b.ReportMetric(full.Seconds()/bare.Seconds(), "x-bare")
	})
}

// bareXLSX is the floor: excelize's row iterator over the sheet, raw
// values, as the reader read it before its own pass (issue 18: the reader
// within 1.3× of it).
func bareXLSX(b *testing.B, path string) {
	f, err := excelize.OpenFile(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rows, err := f.Rows("Sheet1")
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		if _, err := rows.Columns(excelize.Options{RawCellValue: true}); err != nil {
			b.Fatal(err)
		}
	}
}
