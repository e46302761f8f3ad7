package mallcoo_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

func vendorBody(t testing.TB, kind crmsync.Kind) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "vendor", string(kind)+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sleeps records the waits a client asks for, without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

// ticking returns a clock that advances a second at every call, so every
// attempt gets another TimeStamp.
func ticking(start time.Time) func() time.Time {
	var n atomic.Int64
	return func() time.Time { return start.Add(time.Duration(n.Add(1)) * time.Second) }
}

var t0 = time.Date(2024, 11, 1, 10, 0, 0, 0, mallcoo.CST)

// newClient returns a client of srv with test clock, no real sleeps and the
// given changes.
func newClient(t *testing.T, srv *mallcootest.Server, edit func(*mallcoo.Config)) (*mallcoo.Client, *sleeps) {
	t.Helper()
	sl := &sleeps{}
	cfg := mallcoo.Config{
		BaseURL:     srv.URL,
		Credentials: mallcootest.Sandbox,
		Now:         ticking(t0),
		Sleep:       sl.Sleep,
		Rand:        func() float64 { return 0.5 },
		Timeout:     5 * time.Second,
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := mallcoo.NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c, sl
}

func TestSendExactBytesAndHeaders(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	c, _ := newClient(t, srv, func(cfg *mallcoo.Config) { cfg.Now = func() time.Time { return t0 } })
	// Odd spacing, HTML characters and Chinese: sent and signed as given.
	body := []byte(`{ "RefID":"<a&b>测试" ,"BonusAction":4,"Desc":null}`)
	r, err := c.Send(context.Background(), crmsync.KindInvalid, body)
	if err != nil || !r.OK() || r.Attempts != 1 || r.Message != "成功" {
		t.Fatalf("Send(invalid) = %+v, %v, want Code 1 成功 in 1 attempt", r, err)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("server got %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	if !bytes.Equal(got.Body, body) {
		t.Errorf("body received = %q, want %q", got.Body, body)
	}
	if got.Path != "/Score/v1/Invalid/Inform/" {
		t.Errorf("path = %q, want /Score/v1/Invalid/Inform/", got.Path)
	}
	ts := "20241101100000"
	want := map[string]string{
		"Content-Type": "application/json; charset=utf-8",
		"AppID":        mallcootest.Sandbox.AppID,
		"PublicKey":    mallcootest.Sandbox.PublicKey,
		"TimeStamp":    ts,
		"Sign":         mallcoo.Sign(mallcootest.Sandbox.PublicKey, ts, body, mallcootest.Sandbox.PrivateKey),
	}
	for k, v := range want {
		if g := got.Header.Get(k); g != v {
			t.Errorf("header %s = %q, want %q", k, g, v)
		}
	}
	if c.Requests() != 1 {
		t.Errorf("Requests() = %d, want 1", c.Requests())
	}
}

func TestSendVendorExamples(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	c, _ := newClient(t, srv, nil)
	for _, k := range crmsync.Kinds {
		body := vendorBody(t, k)
		r, err := c.Send(context.Background(), k, body)
		if err != nil || !r.OK() {
			t.Errorf("Send(%s, vendor example) = %+v, %v, want Code 1", k, r, err)
		}
		if d := srv.Delivered(k); len(d) != 1 || !bytes.Equal(d[0].Body, body) {
			t.Errorf("Delivered(%s) = %d, want the vendor example once, byte for byte", k, len(d))
		}
	}
}

// checkRetried checks that the server got n requests with the same body and
// a fresh, valid TimeStamp and Sign each.
func checkRetried(t *testing.T, srv *mallcootest.Server, body []byte, n int) {
	t.Helper()
	reqs := srv.Requests()
	if len(reqs) != n {
		t.Fatalf("server got %d requests, want %d", len(reqs), n)
	}
	seen := map[string]bool{}
	for i, r := range reqs {
		ts, sign := r.Header.Get("TimeStamp"), r.Header.Get("Sign")
		if !bytes.Equal(r.Body, body) {
			t.Errorf("attempt %d body = %q, want %q", i+1, r.Body, body)
		}
		if want := mallcoo.Sign(mallcootest.Sandbox.PublicKey, ts, body, mallcootest.Sandbox.PrivateKey); sign != want {
			t.Errorf("attempt %d Sign = %q, want %q", i+1, sign, want)
		}
		if seen[ts] || seen[sign] {
			t.Errorf("attempt %d reuses TimeStamp %s / Sign %s", i+1, ts, sign)
		}
		seen[ts], seen[sign] = true, true
	}
}

func TestSendRetries503(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	c, sl := newClient(t, srv, nil)
	body := vendorBody(t, crmsync.KindBonus)
	srv.FailNext(2, http.StatusServiceUnavailable, "")
	r, err := c.Send(context.Background(), crmsync.KindBonus, body)
	if err != nil || !r.OK() || r.Attempts != 3 {
		t.Fatalf("Send after two 503s = %+v, %v, want Code 1 in 3 attempts", r, err)
	}
	checkRetried(t, srv, body, 3)
	// Full jitter (Rand 0.5) over 500ms, 1s.
	if want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond}; !slices.Equal(sl.got(), want) {
		t.Errorf("backoff sleeps = %v, want %v", sl.got(), want)
	}
	if c.Requests() != 3 {
		t.Errorf("Requests() = %d, want 3", c.Requests())
	}
}

func TestSendRetriesDroppedConnection(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	c, _ := newClient(t, srv, func(cfg *mallcoo.Config) { cfg.ResendUncertainScores = true })
	body := vendorBody(t, crmsync.KindScore)
	srv.FailNext(1, 0, "") // status 0: drop the connection
	r, err := c.Send(context.Background(), crmsync.KindScore, body)
	if err != nil || !r.OK() || r.Attempts != 2 {
		t.Fatalf("Send after a dropped connection = %+v, %v, want Code 1 in 2 attempts", r, err)
	}
	checkRetried(t, srv, body, 2)
}

func TestSendGivesUpAfterRetries(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	c, sl := newClient(t, srv, func(cfg *mallcoo.Config) {
		cfg.Retries = 4
		cfg.BackoffMax = 3 * time.Second
	})
	srv.FailNext(5, http.StatusBadGateway, "")
	r, err := c.Send(context.Background(), crmsync.KindMember, vendorBody(t, crmsync.KindMember))
	var ae *mallcoo.APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 502 || !ae.Temporary() || r.Attempts != 5 {
		t.Fatalf("Send after five 502s = %+v, %v, want a temporary *APIError HTTP 502 after 5 attempts", r, err)
	}
	if errors.Is(err, crmsync.ErrSystemic) {
		t.Errorf("Send after five 502s = %v, one event's failure is not systemic", err)
	}
	if !errors.Is(err, crmsync.ErrMaybeDelivered) {
		t.Errorf("Send after five 502s = %v, want ErrMaybeDelivered (a gateway error may hide a delivery)", err)
	}
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond}
	if !slices.Equal(sl.got(), want) {
		t.Errorf("backoff sleeps = %v, want %v (capped by BackoffMax 3s)", sl.got(), want)
	}

	srv.FailNext(5, http.StatusServiceUnavailable, "")
	_, err = c.Send(context.Background(), crmsync.KindMember, vendorBody(t, crmsync.KindMember))
	if err == nil || errors.Is(err, crmsync.ErrMaybeDelivered) {
		t.Errorf("Send after 503s = %v, want an error without ErrMaybeDelivered (503: not processed)", err)
	}
}

func TestSendHonoursRetryAfter(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	fixed := t0
	c, sl := newClient(t, srv, func(cfg *mallcoo.Config) {
		cfg.Now = func() time.Time { return fixed }
		cfg.Rand = func() float64 { return 0 }
	})
	body := vendorBody(t, crmsync.KindVerify)
	srv.FailNext(1, http.StatusServiceUnavailable, "7")
	if r, err := c.Send(context.Background(), crmsync.KindVerify, body); err != nil || !r.OK() || r.Attempts != 2 {
		t.Fatalf("Send after 503 Retry-After 7 = %+v, %v, want Code 1 in 2 attempts", r, err)
	}
	srv.FailNext(1, http.StatusTooManyRequests, fixed.Add(12*time.Second).UTC().Format(http.TimeFormat))
	if r, err := c.Send(context.Background(), crmsync.KindVerify, body); err != nil || !r.OK() || r.Attempts != 2 {
		t.Fatalf("Send after 429 Retry-After date = %+v, %v, want Code 1 in 2 attempts", r, err)
	}
	if want := []time.Duration{7 * time.Second, 12 * time.Second}; !slices.Equal(sl.got(), want) {
		t.Errorf("sleeps = %v, want %v", sl.got(), want)
	}
	// Longer than BackoffMax (30s): no retry now; the event is left failed.
	srv.FailNext(1, http.StatusTooManyRequests, "120")
	r, err := c.Send(context.Background(), crmsync.KindVerify, body)
	var ae *mallcoo.APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 429 || r.Attempts != 1 {
		t.Errorf("Send after 429 Retry-After 120 = %+v, %v, want an *APIError HTTP 429 after 1 attempt", r, err)
	}
}

func TestSendRejectionNotRetried(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	c, sl := newClient(t, srv, nil)
	srv.RejectIf(func(k crmsync.Kind, body []byte) (int, string, bool) {
		return 4001, "会员不存在", k == crmsync.KindGrade
	})
	r, err := c.Send(context.Background(), crmsync.KindGrade, vendorBody(t, crmsync.KindGrade))
	if err != nil || r.OK() || r.Code != 4001 || r.Message != "会员不存在" || r.Attempts != 1 {
		t.Errorf("Send rejected = %+v, %v, want Code 4001 会员不存在 after 1 attempt", r, err)
	}
	// The fake's field check answers Code 10001 naming the field.
	r, err = c.Send(context.Background(), crmsync.KindInvalid, []byte(`{"RefID":"1","BonusAction":"4"}`))
	if err != nil || r.Code != mallcootest.CodeInvalidBody || !strings.Contains(r.Message, "BonusAction") || r.Attempts != 1 {
		t.Errorf("Send invalid body = %+v, %v, want Code 10001 about BonusAction after 1 attempt", r, err)
	}
	if n := len(srv.Requests()); n != 2 || len(sl.got()) != 0 {
		t.Errorf("server got %d requests and the client slept %v, want 2 and none", n, sl.got())
	}
}

func TestSendAlreadyDelivered(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	body := vendorBody(t, crmsync.KindScore)
	plain, _ := newClient(t, srv, nil)
	if r, err := plain.Send(context.Background(), crmsync.KindScore, body); err != nil || !r.OK() {
		t.Fatalf("first Send = %+v, %v, want Code 1", r, err)
	}
	if r, err := plain.Send(context.Background(), crmsync.KindScoreV2, vendorBody(t, crmsync.KindScoreV2)); err != nil || !r.OK() {
		t.Fatalf("score-v2 Send = %+v, %v, want Code 1", r, err)
	}
	r, err := plain.Send(context.Background(), crmsync.KindScore, body)
	if err != nil || r.Code != mallcootest.DefaultDuplicate || r.Message != mallcootest.MessageDuplicate {
		t.Errorf("repeat Send without AlreadyDelivered = %+v, %v, want the rejection Code 1001 verbatim", r, err)
	}
	c, _ := newClient(t, srv, func(cfg *mallcoo.Config) { cfg.AlreadyDelivered = []int{1001} })
	r, err = c.Send(context.Background(), crmsync.KindScore, body)
	if want := "already delivered (Code 1001): 交易ID重复"; err != nil || !r.OK() || r.Message != want || r.Attempts != 1 {
		t.Errorf("repeat Send with AlreadyDelivered 1001 = %+v, %v, want Code 1 %q", r, err, want)
	}
}

func TestSendUnauthorizedIsSystemic(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	const secret = "0123456789abcdef"
	var logged bytes.Buffer
	c, sl := newClient(t, srv, func(cfg *mallcoo.Config) {
		cfg.Credentials.PrivateKey = secret
		cfg.Logger = slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	r, err := c.Send(context.Background(), crmsync.KindMember, vendorBody(t, crmsync.KindMember))
	if !errors.Is(err, crmsync.ErrSystemic) || r.Attempts != 1 {
		t.Fatalf("Send with a wrong key = %+v, %v, want ErrSystemic after 1 attempt", r, err)
	}
	var ae *mallcoo.APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 401 || ae.Code != -1 || ae.Message != mallcootest.MessageSign || ae.Temporary() {
		t.Errorf("Send with a wrong key = %v, want a permanent *APIError HTTP 401 Code -1 %s", err, mallcootest.MessageSign)
	}
	for _, w := range []string{"MALLCOO_APP_ID", "MALLCOO_PRIVATE_KEY", "clock"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Send with a wrong key = %q, want it to mention %s", err, w)
		}
	}
	// Later sends stop at once, with no request.
	r, err = c.Send(context.Background(), crmsync.KindGrade, vendorBody(t, crmsync.KindGrade))
	if !errors.Is(err, crmsync.ErrSystemic) || r.Attempts != 0 {
		t.Errorf("Send after a 401 = %+v, %v, want ErrSystemic with 0 attempts", r, err)
	}
	if n := len(srv.Requests()); n != 1 || c.Requests() != 1 || len(sl.got()) != 0 {
		t.Errorf("server got %d requests, client counted %d, slept %v; want 1, 1, none", n, c.Requests(), sl.got())
	}
	if c.Stopped() == nil {
		t.Errorf("Stopped() = nil after a 401, want the reason")
	}
	sign := srv.Requests()[0].Header.Get("Sign")
	for what, s := range map[string]string{"error": err.Error(), "log": logged.String()} {
		if strings.Contains(s, secret) || strings.Contains(s, sign) {
			t.Errorf("%s %q reveals the private key or the Sign", what, s)
		}
	}
	if !strings.Contains(logged.String(), "mallcoo request") {
		t.Errorf("debug log %q, want a line per request", logged.String())
	}
}

func TestSendSystemicCode(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	srv.RejectIf(func(crmsync.Kind, []byte) (int, string, bool) { return 30018, "?", true })
	c, _ := newClient(t, srv, func(cfg *mallcoo.Config) { cfg.SystemicCodes = []int{30018} })
	_, err := c.Send(context.Background(), crmsync.KindMember, vendorBody(t, crmsync.KindMember))
	var ae *mallcoo.APIError
	if !errors.Is(err, crmsync.ErrSystemic) || !errors.As(err, &ae) || ae.Code != 30018 {
		t.Errorf("Send answered a SystemicCode = %v, want ErrSystemic with an *APIError Code 30018", err)
	}
}

func TestBreakerStopsAfterFailures(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{FailRate: 1})
	defer srv.Close()
	c, _ := newClient(t, srv, func(cfg *mallcoo.Config) {
		cfg.Retries = 1
		cfg.FailWindow = 10
	})
	body := vendorBody(t, crmsync.KindMember)
	var errs []error
	for i := 0; i < 20; i++ {
		_, err := c.Send(context.Background(), crmsync.KindMember, body)
		errs = append(errs, err)
	}
	// Five events (FailWindow/2) of two attempts, then nothing.
	if n := len(srv.Requests()); n != 10 {
		t.Errorf("server got %d requests, want 10 (5 events × 2 attempts)", n)
	}
	for i, err := range errs {
		if err == nil {
			t.Fatalf("Send %d = nil error, want one", i)
		}
		if got, want := errors.Is(err, crmsync.ErrSystemic), i >= 5; got != want {
			t.Errorf("Send %d: errors.Is(%v, ErrSystemic) = %v, want %v", i, err, got, want)
		}
	}
	if !strings.Contains(errs[5].Error(), "most recent sends failed (5 of 5)") {
		t.Errorf("Send after the stop = %q, want it to say most recent sends failed (5 of 5)", errs[5])
	}
}

func TestBreakerCountsAnswersAsHealthy(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	c, _ := newClient(t, srv, func(cfg *mallcoo.Config) {
		cfg.Retries = -1
		cfg.FailWindow = 10
		cfg.OpenStreak = -1 // every answer is a rejection: not what this tests
	})
	body := vendorBody(t, crmsync.KindMember)
	// Alternate: 3 answered (1 rejected), 3 failed ... never ≥ 80% failed.
	srv.RejectIf(func(crmsync.Kind, []byte) (int, string, bool) { return 2, "x", true })
	for i := 0; i < 30; i++ {
		if i%3 == 0 {
			srv.FailNext(1, 500, "")
		}
		if _, err := c.Send(context.Background(), crmsync.KindMember, body); errors.Is(err, crmsync.ErrSystemic) {
			t.Fatalf("Send %d = %v: a third failing must not stop the client", i, err)
		}
	}
}

func TestSendTimeout(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{Latency: 10 * time.Second})
	defer srv.Close()
	c, _ := newClient(t, srv, func(cfg *mallcoo.Config) {
		cfg.Timeout = 50 * time.Millisecond
		cfg.Retries = -1
	})
	r, err := c.Send(context.Background(), crmsync.KindMember, vendorBody(t, crmsync.KindMember))
	var ae *mallcoo.APIError
	if !errors.As(err, &ae) || !ae.Temporary() || r.Attempts != 1 {
		t.Fatalf("Send to a slow server = %+v, %v, want a temporary *APIError after 1 attempt", r, err)
	}
	if !errors.Is(err, crmsync.ErrMaybeDelivered) {
		t.Errorf("Send timed out after writing = %v, want ErrMaybeDelivered", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send timed out = %v: must not look like the caller's deadline", err)
	}
}

func TestSendCanceled(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	c, _ := newClient(t, srv, func(cfg *mallcoo.Config) { cfg.Rate = 1 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Send(ctx, crmsync.KindMember, vendorBody(t, crmsync.KindMember))
	if !errors.Is(err, context.Canceled) || errors.Is(err, crmsync.ErrSystemic) {
		t.Errorf("Send with a canceled ctx = %v, want context.Canceled", err)
	}
	if c.Requests() != 0 || len(srv.Requests()) != 0 {
		t.Errorf("Send with a canceled ctx made %d requests, want none", c.Requests())
	}
}

func TestSendNotMallcooJSON(t *testing.T) {
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("<html>maintenance</html>"))
	}))
	defer ts.Close()
	c, err := mallcoo.NewClient(mallcoo.Config{
		BaseURL: ts.URL, Credentials: mallcootest.Sandbox, Retries: 2,
		Sleep: func(context.Context, time.Duration) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Send(context.Background(), crmsync.KindMember, vendorBody(t, crmsync.KindMember))
	var ae *mallcoo.APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 200 || !ae.Temporary() || r.Attempts != 3 || hits.Load() != 3 {
		t.Errorf("Send answered HTML = %+v, %v (%d hits), want a temporary *APIError HTTP 200 after 3 attempts", r, err, hits.Load())
	}
	if !errors.Is(err, crmsync.ErrMaybeDelivered) {
		t.Errorf("Send answered HTML = %v, want ErrMaybeDelivered (the request arrived)", err)
	}
}

func TestSendNotFoundIsPermanent(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	c, _ := newClient(t, srv, func(cfg *mallcoo.Config) { cfg.BaseURL = srv.URL + "/wrong" })
	r, err := c.Send(context.Background(), crmsync.KindMember, vendorBody(t, crmsync.KindMember))
	var ae *mallcoo.APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 404 || ae.Temporary() || r.Attempts != 1 {
		t.Errorf("Send to a wrong path = %+v, %v, want a permanent *APIError HTTP 404 after 1 attempt", r, err)
	}
}

func TestSendUnknownKind(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	c, _ := newClient(t, srv, nil)
	if _, err := c.Send(context.Background(), "points", []byte(`{}`)); err == nil || len(srv.Requests()) != 0 {
		t.Errorf("Send(points) = %v, want an error and no request", err)
	}
}

// TestRateLimit counts arrivals at the server: in no 1-second window may
// more than Rate + burst requests arrive, retries included.
func TestRateLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 2 s")
	}
	const rate, n = 20.0, 50
	burst := 1 + int(rate/20)
	srv := mallcootest.NewServer(mallcootest.Options{FailRate: 0.2, Seed: 3})
	defer srv.Close()
	c, _ := newClient(t, srv, func(cfg *mallcoo.Config) {
		cfg.Rate = rate
		cfg.Concurrency = 8
		cfg.Now = time.Now
		cfg.FailWindow = -1
	})
	var wg sync.WaitGroup
	var next atomic.Int64
	start := time.Now() // the limiter holds at most burst tokens by now
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if c.Requests() >= n || i > n {
					return
				}
				c.Send(context.Background(), crmsync.KindMember, vendorBody(t, crmsync.KindMember))
			}
		})
	}
	wg.Wait()
	reqs := srv.Requests()
	// The k-th request cannot leave before start + (k-burst)/rate. A busy
	// machine only delays requests, so this lower bound holds however
	// loaded it is (a count per one-second window does not: late requests
	// bunch up).
	at := arrivals(reqs)
	for k := burst + 1; k <= len(at); k++ {
		earliest := time.Duration(float64(k-burst) / rate * float64(time.Second))
		if got := at[k-1].Sub(start); got < earliest-5*time.Millisecond {
			t.Errorf("request %d arrived %v after the start, want ≥ %v (Rate %v, burst %d)", k, got, earliest, rate, burst)
			break
		}
	}
	if int64(len(reqs)) != c.Requests() {
		t.Errorf("server got %d requests, client counted %d", len(reqs), c.Requests())
	}
}

// maxInWindow returns the most requests that arrived within any window of
// length w.
// arrivals returns the times requests arrived, earliest first.
func arrivals(reqs []mallcootest.Request) []time.Time {
	at := make([]time.Time, len(reqs))
	for i, r := range reqs {
		at[i] = r.At
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	return at
}

func maxInWindow(reqs []mallcootest.Request, w time.Duration) int {
	at := arrivals(reqs)
	best, j := 0, 0
	for i := range at {
		for at[i].Sub(at[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

func TestNewClientChecks(t *testing.T) {
	_, err := mallcoo.NewClient(mallcoo.Config{Credentials: mallcoo.Credentials{AppID: "a", PublicKey: "b"}})
	if !errors.Is(err, mallcoo.ErrMissingCredentials) || !strings.Contains(err.Error(), "MALLCOO_PRIVATE_KEY") {
		t.Errorf("NewClient without a private key = %v, want ErrMissingCredentials naming MALLCOO_PRIVATE_KEY", err)
	}
	for _, base := range []string{"openapi10.mallcoo.cn", "ftp://x", "https://"} {
		if _, err := mallcoo.NewClient(mallcoo.Config{BaseURL: base, Credentials: mallcootest.Sandbox}); err == nil {
			t.Errorf("NewClient(BaseURL %q) = nil error, want one", base)
		}
	}
	if _, err := mallcoo.NewClient(mallcoo.Config{Credentials: mallcootest.Sandbox}); err != nil {
		t.Errorf("NewClient(defaults) = %v, want nil", err)
	}
}

func TestAPIError(t *testing.T) {
	cases := []struct {
		e         mallcoo.APIError
		temporary bool
		text      string
	}{
		{mallcoo.APIError{Err: errors.New("connection reset")}, true, "mallcoo: connection reset"},
		{mallcoo.APIError{HTTPStatus: 503}, true, "mallcoo: HTTP 503 Service Unavailable"},
		{mallcoo.APIError{HTTPStatus: 429}, true, "mallcoo: HTTP 429 Too Many Requests"},
		{mallcoo.APIError{HTTPStatus: 401, Code: -1, Message: "签名错误"}, false, `mallcoo: HTTP 401 Unauthorized: Code -1 "签名错误"`},
		{mallcoo.APIError{HTTPStatus: 404}, false, "mallcoo: HTTP 404 Not Found"},
		{mallcoo.APIError{HTTPStatus: 200, Err: errors.New("not JSON")}, true, "mallcoo: HTTP 200 OK: not JSON"},
	}
	for _, c := range cases {
		if got := c.e.Temporary(); got != c.temporary {
			t.Errorf("%+v.Temporary() = %v, want %v", c.e, got, c.temporary)
		}
		if got := c.e.Error(); got != c.text {
			t.Errorf("%+v.Error() = %q, want %q", c.e, got, c.text)
		}
	}
}

// TestSendAmbiguousNotRetriedForUnsafeKinds: after an attempt that may have
// been applied (here a 502), a grade change is not sent again (it could be
// applied twice), nor a score event unless Mallcoo is known to keep TransID
// unique (ResendUncertainScores).
func TestSendAmbiguousNotRetriedForUnsafeKinds(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	c, _ := newClient(t, srv, func(cfg *mallcoo.Config) { cfg.Retries = 3 })

	srv.FailNext(1, http.StatusBadGateway, "")
	r, err := c.Send(context.Background(), crmsync.KindGrade, vendorBody(t, crmsync.KindGrade))
	if !errors.Is(err, crmsync.ErrMaybeDelivered) || r.Attempts != 1 {
		t.Errorf("Send(grade) after a 502 = %+v, %v; want ErrMaybeDelivered after 1 attempt", r, err)
	}

	// Nothing public says Mallcoo refuses a repeated TransID: by default a
	// score event is not retried either; with ResendUncertainScores it is.
	srv.FailNext(1, http.StatusBadGateway, "")
	r, err = c.Send(context.Background(), crmsync.KindScore, vendorBody(t, crmsync.KindScore))
	if !errors.Is(err, crmsync.ErrMaybeDelivered) || r.Attempts != 1 {
		t.Errorf("Send(score) after a 502 = %+v, %v; want ErrMaybeDelivered after 1 attempt", r, err)
	}
	srv.Reset()
	cs, _ := newClient(t, srv, func(cfg *mallcoo.Config) { cfg.Retries = 3; cfg.ResendUncertainScores = true })
	srv.FailNext(1, http.StatusBadGateway, "")
	r, err = cs.Send(context.Background(), crmsync.KindScore, vendorBody(t, crmsync.KindScore))
	if err != nil || !r.OK() || r.Attempts != 2 {
		t.Errorf("Send(score) after a 502 with ResendUncertainScores = %+v, %v; want Code 1 in 2 attempts", r, err)
	}

	srv.FailNext(1, http.StatusServiceUnavailable, "")
	r, err = c.Send(context.Background(), crmsync.KindBonus, vendorBody(t, crmsync.KindBonus))
	if err != nil || !r.OK() || r.Attempts != 2 {
		t.Errorf("Send(bonus) after a 503 = %+v, %v; want Code 1 in 2 attempts (503: not processed)", r, err)
	}
}

// TestRejectStreakStops: a long run of rejections with the same Code stops
// the client (something is wrong for every row); other Codes or a success
// in between reset the count.
func TestRejectStreakStops(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	c, _ := newClient(t, srv, func(cfg *mallcoo.Config) { cfg.RejectStreak = 5 })
	srv.RejectIf(func(crmsync.Kind, []byte) (int, string, bool) { return 4001, "商户不存在", true })
	body := vendorBody(t, crmsync.KindInvalid)
	for i := 0; i < 4; i++ {
		if r, err := c.Send(context.Background(), crmsync.KindInvalid, body); err != nil || r.Code != 4001 {
			t.Fatalf("Send #%d = %+v, %v; want the rejection", i+1, r, err)
		}
	}
	r, err := c.Send(context.Background(), crmsync.KindInvalid, body)
	var se *mallcoo.StreakError
	if r.Code != 4001 || !errors.Is(err, crmsync.ErrSystemic) || !errors.As(err, &se) || se.Code != 4001 {
		t.Fatalf("Send #5 = %+v, %v; want the rejection's Code and the stop (ErrSystemic, StreakError Code 4001)", r, err)
	}
	before := len(srv.Requests())
	if _, err := c.Send(context.Background(), crmsync.KindInvalid, body); !errors.Is(err, crmsync.ErrSystemic) {
		t.Errorf("Send after 5 rejections with Code 4001 = %v, want ErrSystemic", err)
	}
	if len(srv.Requests()) != before {
		t.Errorf("the stopped client still made a request")
	}
}

// TestHeaderNamesOnTheWire reads a request's bytes off a raw TCP socket (a
// Go HTTP server would canonicalise the names before anyone sees them) and
// checks the four Mallcoo headers are spelled as the vendor spells them.
func TestHeaderNamesOnTheWire(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	head := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			head <- ""
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		var b strings.Builder
		for {
			line, err := r.ReadString('\n')
			b.WriteString(line)
			if err != nil || line == "\r\n" {
				break
			}
		}
		head <- b.String()
		answer := `{"Code":1,"Message":"成功"}`
		fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(answer), answer)
	}()
	c, err := mallcoo.NewClient(mallcoo.Config{BaseURL: "http://" + ln.Addr().String(), Credentials: mallcootest.Sandbox, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := c.Send(context.Background(), crmsync.KindMember, vendorBody(t, crmsync.KindMember)); err != nil || !r.OK() {
		t.Fatalf("Send = %+v, %v, want Code 1", r, err)
	}
	got := <-head
	names := map[string]bool{}
	for _, line := range strings.Split(got, "\r\n")[1:] {
		if name, _, ok := strings.Cut(line, ":"); ok {
			names[name] = true
		}
	}
	for _, want := range []string{"AppID", "PublicKey", "TimeStamp", "Sign", "Content-Type"} {
		if !names[want] {
			t.Errorf("request head has no header spelled %q:\n%s", want, got)
		}
	}
}

// TestOpenStreakStops: when the first answers are all rejections with one
// Code (refused credentials answered HTTP 200), the client stops after
// OpenStreak of them, with a StreakError; one accepted answer first and the
// same rejections do not stop it before RejectStreak.
func TestOpenStreakStops(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{AuthStatus: http.StatusOK, AuthCode: 40001})
	defer srv.Close()
	c, _ := newClient(t, srv, func(cfg *mallcoo.Config) {
		cfg.Credentials.PrivateKey = "wrong"
		cfg.OpenStreak = 4
	})
	body := vendorBody(t, crmsync.KindMember)
	for i := 1; i <= 4; i++ {
		r, err := c.Send(context.Background(), crmsync.KindMember, body)
		if i < 4 && (err != nil || r.Code != 40001) {
			t.Fatalf("Send %d = %+v, %v, want a rejection with Code 40001", i, r, err)
		}
		if i == 4 {
			var se *mallcoo.StreakError
			if !errors.Is(err, crmsync.ErrSystemic) || !errors.As(err, &se) || se.Code != 40001 {
				t.Fatalf("Send 4 = %v, want ErrSystemic and a StreakError with Code 40001", err)
			}
		}
	}
	if _, err := c.Send(context.Background(), crmsync.KindMember, body); !errors.Is(err, crmsync.ErrSystemic) || c.Requests() != 4 {
		t.Errorf("Send after the stop = %v after %d requests, want ErrSystemic and no request", err, c.Requests())
	}

	srv2 := mallcootest.NewServer(mallcootest.Options{})
	defer srv2.Close()
	c2, _ := newClient(t, srv2, func(cfg *mallcoo.Config) { cfg.OpenStreak = 4 })
	if r, err := c2.Send(context.Background(), crmsync.KindMember, body); err != nil || !r.OK() {
		t.Fatalf("Send = %+v, %v, want Code 1", r, err)
	}
	srv2.RejectIf(func(crmsync.Kind, []byte) (int, string, bool) { return 30018, "x", true })
	for i := 0; i < 10; i++ {
		if _, err := c2.Send(context.Background(), crmsync.KindMember, body); err != nil {
			t.Fatalf("Send %d after an accepted one = %v, want rejections only (RejectStreak is 100)", i, err)
		}
	}
}

// TestSendInterruptedWaitingForRate: a send that waits for the rate limit
// under a context that is never cancelled (a run's claimed sends outlive
// Ctrl-C) gives up when the interrupt WithInterrupt carries comes: it never
// left, so it is not "maybe delivered", and no request is made. (With rate
// = 0.001 a run went on waiting 1,000 s per request after SIGTERM; the
// lowest rate taken now, MinRate, waits 60 s.)
func TestSendInterruptedWaitingForRate(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	c, _ := newClient(t, srv, func(cfg *mallcoo.Config) { cfg.Rate = mallcoo.MinRate })
	if _, err := c.Send(context.Background(), crmsync.KindMember, vendorBody(t, crmsync.KindMember)); err != nil {
		t.Fatal(err) // the burst of one
	}
	interrupt := make(chan struct{})
	ctx := mallcoo.WithInterrupt(context.WithoutCancel(context.Background()), interrupt)
	done := make(chan error, 1)
	go func() {
		_, err := c.Send(ctx, crmsync.KindMember, vendorBody(t, crmsync.KindMember))
		done <- err
	}()
	close(interrupt)
	err := <-done
	if err == nil || errors.Is(err, crmsync.ErrMaybeDelivered) {
		t.Errorf("Send interrupted while waiting for the rate limit = %v, want an error, not maybe delivered", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests arrived, want 1 (the interrupted one never left)", n)
	}
}

// TestRateHuge: the largest rate the config takes (1e300 requests per
// second) is no limit, not a burst that overflows to a negative number,
// which failed every request with the limiter's "exceeds burst".
func TestRateHuge(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	c, _ := newClient(t, srv, func(cfg *mallcoo.Config) { cfg.Rate = 1e300 })
	r, err := c.Send(context.Background(), crmsync.KindMember, vendorBody(t, crmsync.KindMember))
	if err != nil || !r.OK() {
		t.Fatalf("Send with Rate 1e300 = %+v, %v; want Code 1", r, err)
	}
}

// TestSendRedirectNotFollowed: a redirect is an answer like any other 3xx
// (not retried, not followed: a POST redirected would lose its body), with
// the client's own transport and with a Config.HTTPClient.
func TestSendRedirectNotFollowed(t *testing.T) {
	var elsewhere atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			elsewhere.Add(1)
			w.Write([]byte(`{"Code":1,"Message":"成功"}`))
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	for _, own := range []bool{true, false} {
		cfg := mallcoo.Config{BaseURL: srv.URL, Credentials: mallcootest.Sandbox, Retries: 3, Sleep: func(context.Context, time.Duration) error { return nil }}
		if !own {
			cfg.HTTPClient = mallcoo.NewHTTPClient(1)
		}
		c, err := mallcoo.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Send(context.Background(), crmsync.KindMember, vendorBody(t, crmsync.KindMember))
		var ae *mallcoo.APIError
		if !errors.As(err, &ae) || ae.HTTPStatus != http.StatusFound || ae.Temporary() || r.Attempts != 1 {
			t.Errorf("Send answered 302 (own transport %v) = %+v, %v; want a permanent *APIError with HTTP 302 after 1 attempt", own, r, err)
		}
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the redirect was followed %d times, want never", n)
	}
}

// TestSendCanceledInFlight: the caller's ctx ending while a request is out
// (written, no answer yet) stops the send at once, not retried, as
// canceled (not a transient failure) and maybe delivered, with the
// client's own transport and with a Config.HTTPClient; the same when the
// answer had begun (its headers and part of its body sent: the cancel
// comes before or while the client reads it).
func TestSendCanceledInFlight(t *testing.T) {
	for _, headers := range []bool{false, true} {
		for _, own := range []bool{true, false} {
			arrived := make(chan struct{}, 4)
			var hits atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				io.Copy(io.Discard, r.Body) // (the server sees the client go only once the body is read)
				if headers {
					w.WriteHeader(http.StatusOK)
					w.Write([]byte(`{"Code":`))
					w.(http.Flusher).Flush()
				}
				arrived <- struct{}{}
				<-r.Context().Done() // until the client goes
			}))
			cfg := mallcoo.Config{BaseURL: srv.URL, Credentials: mallcootest.Sandbox, Retries: 3, Timeout: time.Hour,
				Sleep: func(context.Context, time.Duration) error { return nil }}
			if !own {
				cfg.HTTPClient = mallcoo.NewHTTPClient(1)
			}
			c, err := mallcoo.NewClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				<-arrived
				cancel()
			}()
			r, err := c.Send(ctx, crmsync.KindMember, vendorBody(t, crmsync.KindMember))
			cancel()
			srv.Close()
			what := fmt.Sprintf("Send canceled in flight (own transport %v, answer started %v)", own, headers)
			if !errors.Is(err, context.Canceled) || !errors.Is(err, crmsync.ErrMaybeDelivered) || errors.Is(err, crmsync.ErrSystemic) {
				t.Errorf("%s = %v; want context.Canceled and ErrMaybeDelivered", what, err)
			}
			var ae *mallcoo.APIError
			if errors.As(err, &ae) {
				t.Errorf("%s = %v; want no *APIError (not Mallcoo's failure)", what, err)
			}
			if r.Attempts != 1 || hits.Load() != 1 {
				t.Errorf("%s: %d attempts, %d requests; want 1, 1", what, r.Attempts, hits.Load())
			}
		}
	}
}
