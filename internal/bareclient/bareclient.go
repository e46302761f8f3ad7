// Package bareclient is the floor crmsync's sending is measured against
// (issue 18): a bare Go client that posts signed bodies to a Mallcoo
// server with the transport of mallcoo.Client (mallcoo.NewHTTPClient) and
// the same concurrency, and does nothing else: no ledger, no retries, no
// rate limit, no classification beyond reading the answer's Code.
package bareclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/mallcoo"
)

// Body is one request: the event's kind (its endpoint) and its wire body.
type Body struct {
	Kind crmsync.Kind
	Body []byte
}

// ReadBodies reads path as crmsync run does (importer.Reader) and returns
// the wire bodies of its valid rows, as the run sends them
// (mallcoo.WireBody). A file problem is an error.
func ReadBodies(ctx context.Context, path string) ([]Body, error) {
	var bodies []Body
	sums, err := (&importer.Reader{}).ReadFile(ctx, path, func(row *crmsync.Row) error {
		if row.Event != nil {
			bodies = append(bodies, Body{Kind: row.Kind, Body: mallcoo.WireBody(row.Kind, row.Event.Body)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, s := range sums {
		if !s.Problem.IsZero() {
			return nil, fmt.Errorf("read %s: %s", path, s.Problem)
		}
	}
	return bodies, nil
}

// Post posts every body to baseURL on concurrency goroutines and returns
// how long that took and how many were answered with Code 1. It returns an
// error for a request that got no Mallcoo answer.
func Post(ctx context.Context, baseURL string, cr mallcoo.Credentials, concurrency int, bodies []Body) (took time.Duration, accepted int, err error) {
	hc := mallcoo.NewHTTPClient(concurrency)
	base := strings.TrimRight(baseURL, "/")
	var (
		next, ok atomic.Int64
		once     sync.Once
		first    error
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range max(concurrency, 1) {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(bodies)) || ctx.Err() != nil {
					return
				}
				code, err := post(ctx, hc, base, cr, bodies[i])
				if err != nil {
					once.Do(func() { first = err })
					return
				}
				if code == 1 {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	took = time.Since(start)
	if first == nil {
		first = ctx.Err()
	}
	return took, int(ok.Load()), first
}

// post makes one signed request and returns the answer's Code.
func post(ctx context.Context, hc *http.Client, base string, cr mallcoo.Credentials, b Body) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+mallcoo.SpecOf(b.Kind).Path, bytes.NewReader(b.Body))
	if err != nil {
		return 0, err
	}
	ts := mallcoo.TimeStamp(time.Now())
	req.Header["Content-Type"] = []string{"application/json; charset=utf-8"}
	req.Header["AppID"] = []string{cr.AppID}
	req.Header["PublicKey"] = []string{cr.PublicKey}
	req.Header["TimeStamp"] = []string{ts}
	req.Header["Sign"] = []string{mallcoo.Sign(cr.PublicKey, ts, b.Body, cr.PrivateKey)}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post %s: %w", b.Kind, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("read the answer to %s: %w", b.Kind, err)
	}
	var a struct{ Code int }
	if err := json.Unmarshal(raw, &a); err != nil {
		return 0, fmt.Errorf("answer to %s (HTTP %d): %w", b.Kind, resp.StatusCode, err)
	}
	return a.Code, nil
}
