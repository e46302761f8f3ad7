// Command benchgen writes large synthetic CRM exports for the benchmarks
// (make bench) and measures the floors crmsync is compared with: a bare
// encoding/csv read of the same file, and excelize's row iterator over an
// XLSX, and a bare Go client posting the file's bodies to a Mallcoo server
// (internal/bareclient: crmsync's transport and concurrency, no ledger).
//
//	go run ./internal/benchgen -rows 1000000 -out bench/data/score-1000000.csv
//	go run ./internal/benchgen -floor bench/data/score-1000000.csv
//	go run ./internal/benchgen -rows 200000 -xlsx -out bench/data/score-200000.xlsx
//	MALLCOO_BASE_URL=… go run ./internal/benchgen -bare bench/data/score-300000.csv -concurrency 16
package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync/internal/bareclient"
	"github.com/crmsync/crmsync/mallcoo"
)

func main() {
	rows := flag.Int("rows", 300000, "score rows to write")
	out := flag.String("out", "", "file to write (.csv or .xlsx)")
	asXLSX := flag.Bool("xlsx", false, "write an XLSX workbook instead of a CSV")
	floor := flag.String("floor", "", "read this CSV with bare encoding/csv and print rows and seconds")
	xfloor := flag.String("xfloor", "", "read this XLSX's first sheet with excelize Rows() and print rows and seconds")
	bare := flag.String("bare", "", "read this file as crmsync does, then post its bodies with a bare client to $MALLCOO_BASE_URL (credentials from $MALLCOO_APP_ID, …) and print events and seconds of the posting")
	concurrency := flag.Int("concurrency", 16, "requests at once (-bare)")
	flag.IntVar(&members, "members", members, "members the rows are spread over (rows ÷ members is the length of a member's lane)")
	flag.Parse()
	if members < 1 {
		fmt.Fprintln(os.Stderr, "benchgen: -members must be at least 1")
		os.Exit(2)
	}
	var err error
	switch {
	case *floor != "":
		err = csvFloor(*floor)
	case *xfloor != "":
		err = xlsxFloor(*xfloor)
	case *bare != "":
		err = barePost(*bare, *concurrency)
	case *out == "":
		err = errors.New("-out is required")
	case *asXLSX:
		err = writeXLSX(*out, *rows)
	default:
		err = writeCSV(*out, *rows)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchgen:", err)
		os.Exit(1)
	}
}

var header = []string{"TransID", "ThirdPartyCardID", "ScoreEvent", "TradeTime", "TradeAmount", "CrmShopID", "TradeSerialNo", "PosID", "ReturnTime", "ReturnAmount", "Score", "PayType"}

// members is how many members the rows are spread over (-members).
var members = 200000

// row returns score row i: sales of members members (200,000 unless
// -members says) over a year, every tenth event a return of the sale
// before it.
func row(i int) []string {
	member := i % members
	card := fmt.Sprintf("0%012d", 201700000000+member)
	t := time.Date(2023, 1, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * 31 * time.Second)
	amount := fmt.Sprintf("%d.%02d", 10+i%5000, i%100)
	shop := fmt.Sprintf("S%04d", i%300)
	if i%10 == 9 {
		rt := t.Add(2 * time.Hour)
		return []string{fmt.Sprintf("R%010d", i), card, "2101", t.Format("2006-01-02 15:04:05"), amount, shop,
			fmt.Sprintf("T%010d", i-1), "POS01", rt.Format("2006-01-02 15:04:05"), amount, fmt.Sprintf("-%d", 10+i%5000), ""}
	}
	return []string{fmt.Sprintf("T%010d", i), card, "1", t.Format("2006-01-02 15:04:05"), amount, shop,
		"", "POS01", "", "", fmt.Sprintf("%d", 10+i%5000), ""}
}

func writeCSV(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := csv.NewWriter(bw)
	w.Write(header)
	for i := 0; i < n; i++ {
		w.Write(row(i))
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeXLSX(path string, n int) error {
	f := excelize.NewFile()
	defer f.Close()
	f.SetSheetName("Sheet1", "score")
	sw, err := f.NewStreamWriter("score")
	if err != nil {
		return err
	}
	cells := func(r []string) []any {
		out := make([]any, len(r))
		for i, v := range r {
			out[i] = v
		}
		return out
	}
	sw.SetRow("A1", cells(header))
	for i := 0; i < n; i++ {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, cells(row(i))); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.SaveAs(path)
}

func csvFloor(path string) error {
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	r.ReuseRecord = true
	n := 0
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		n++
	}
	fmt.Printf("rows %d seconds %.3f\n", n-1, time.Since(start).Seconds())
	return nil
}

func xlsxFloor(path string) error {
	start := time.Now()
	f, err := excelize.OpenFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := f.Rows(f.GetSheetName(0))
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		if _, err := rows.Columns(); err != nil {
			return err
		}
		n++
	}
	fmt.Printf("rows %d seconds %.3f\n", n-1, time.Since(start).Seconds())
	return rows.Error()
}

// barePost reads path as crmsync run does (importer, the wire bodies it
// sends), then posts them with the bare client; only the posting is timed.
func barePost(path string, concurrency int) error {
	ctx := context.Background()
	bodies, err := bareclient.ReadBodies(ctx, path)
	if err != nil {
		return err
	}
	cr := mallcoo.Credentials{AppID: os.Getenv(mallcoo.EnvAppID), PublicKey: os.Getenv(mallcoo.EnvPublicKey), PrivateKey: os.Getenv(mallcoo.EnvPrivateKey)}
	base := os.Getenv("MALLCOO_BASE_URL")
	if base == "" {
		return errors.New("set MALLCOO_BASE_URL to the server to post to")
	}
	took, ok, err := bareclient.Post(ctx, base, cr, concurrency, bodies)
	if err != nil {
		return err
	}
	fmt.Printf("events %d seconds %.3f accepted %d\n", len(bodies), took.Seconds(), ok)
	return nil
}
