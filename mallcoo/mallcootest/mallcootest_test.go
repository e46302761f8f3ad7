package mallcootest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

func example(t testing.TB, kind crmsync.Kind) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "vendor", string(kind)+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// post sends body to kind's path signed with creds at ts, letting edit
// change the request before it leaves. It returns the HTTP status and the
// decoded answer. It reports trouble with t.Errorf, so goroutines may call it.
func post(t *testing.T, s *Server, kind crmsync.Kind, body []byte, creds mallcoo.Credentials, ts string, edit func(*http.Request)) (int, int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+mallcoo.SpecOf(kind).Path, bytes.NewReader(body))
	if err != nil {
		t.Errorf("new request: %v", err)
		return 0, 0, ""
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("AppID", creds.AppID)
	req.Header.Set("PublicKey", creds.PublicKey)
	req.Header.Set("TimeStamp", ts)
	req.Header.Set("Sign", mallcoo.Sign(creds.PublicKey, ts, body, creds.PrivateKey))
	if edit != nil {
		edit(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("POST %s: %v", req.URL.Path, err)
		return 0, 0, ""
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a struct {
		Code    int
		Message string
	}
	if resp.Header.Get("Content-Type") == "application/json; charset=utf-8" {
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Errorf("POST %s: answer %q: %v", req.URL.Path, raw, err)
		}
	}
	return resp.StatusCode, a.Code, a.Message
}

func now() string { return mallcoo.TimeStamp(time.Now()) }

func TestVendorExamplesAccepted(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	for _, k := range crmsync.Kinds {
		body := example(t, k)
		if st, code, msg := post(t, s, k, body, Sandbox, now(), nil); st != 200 || code != 1 || msg != MessageOK {
			t.Errorf("POST %s vendor example = HTTP %d Code %d %q, want 200 Code 1 %q", k, st, code, msg, MessageOK)
		}
		d := s.Delivered(k)
		if len(d) != 1 || !bytes.Equal(d[0].Body, body) {
			t.Errorf("Delivered(%s) = %d requests, want 1 with the body sent", k, len(d))
		}
	}
	if got := len(s.Requests()); got != len(crmsync.Kinds) {
		t.Errorf("len(Requests()) = %d, want %d", got, len(crmsync.Kinds))
	}
}

func TestRefusals(t *testing.T) {
	clock := time.Date(2024, 11, 1, 10, 0, 0, 0, mallcoo.CST)
	s := NewServer(Options{MaxSkew: 5 * time.Minute, Now: func() time.Time { return clock }})
	defer s.Close()
	ts := mallcoo.TimeStamp(clock)
	body := example(t, crmsync.KindInvalid)
	wrongKey := Sandbox
	wrongKey.PrivateKey = "0000000000000000"
	wrongApp := Sandbox
	wrongApp.AppID = "other"
	cases := []struct {
		name   string
		creds  mallcoo.Credentials
		ts     string
		body   []byte
		edit   func(*http.Request)
		status int
		code   int
		msg    string // a part of the Message
	}{
		{"ok", Sandbox, ts, body, nil, 200, 1, MessageOK},
		{"GET", Sandbox, ts, body, func(r *http.Request) { r.Method = http.MethodGet }, 405, -1, ""},
		{"unknown path", Sandbox, ts, body, func(r *http.Request) { r.URL.Path = "/Score/v1/Nope/" }, 404, -1, ""},
		{"no trailing slash", Sandbox, ts, body, func(r *http.Request) { r.URL.Path = strings.TrimSuffix(r.URL.Path, "/") }, 404, -1, ""},
		{"wrong AppID", wrongApp, ts, body, nil, 401, -1, "AppID"},
		{"wrong private key", wrongKey, ts, body, nil, 401, -1, MessageSign},
		{"body changed after signing", Sandbox, ts, body, func(r *http.Request) {
			b := bytes.Replace(body, []byte("12ddd3"), []byte("12ddd4"), 1)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		}, 401, -1, MessageSign},
		{"lower-case sign", Sandbox, ts, body, func(r *http.Request) { r.Header.Set("Sign", strings.ToLower(r.Header.Get("Sign"))) }, 401, -1, MessageSign},
		{"timestamp not 14 digits", Sandbox, "2024-11-01 10:00", body, nil, 401, -1, "时间戳"},
		{"timestamp too old", Sandbox, mallcoo.TimeStamp(clock.Add(-6 * time.Minute)), body, nil, 401, -1, "时间戳"},
		{"timestamp in the future", Sandbox, mallcoo.TimeStamp(clock.Add(6 * time.Minute)), body, nil, 401, -1, "时间戳"},
		{"timestamp within skew", Sandbox, mallcoo.TimeStamp(clock.Add(-4 * time.Minute)), body, nil, 200, 1, MessageOK},
		{"form content type", Sandbox, ts, body, func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") }, 415, -1, ""},
		{"gbk charset", Sandbox, ts, body, func(r *http.Request) { r.Header.Set("Content-Type", "application/json; charset=gbk") }, 415, -1, ""},
		{"bare json content type", Sandbox, ts, body, func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }, 200, 1, MessageOK},
		{"invalid body", Sandbox, ts, []byte(`{"RefID":"1","BonusAction":"4"}`), nil, 200, CodeInvalidBody, "BonusAction"},
	}
	for _, c := range cases {
		st, code, msg := post(t, s, crmsync.KindInvalid, c.body, c.creds, c.ts, c.edit)
		if st != c.status || code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: POST = HTTP %d Code %d %q, want HTTP %d Code %d with %q", c.name, st, code, msg, c.status, c.code, c.msg)
		}
	}
	reqs := s.Requests()
	if len(reqs) != len(cases) {
		t.Fatalf("len(Requests()) = %d, want %d", len(reqs), len(cases))
	}
	for i, c := range cases {
		if reqs[i].HTTPStatus != c.status || reqs[i].Code != c.code {
			t.Errorf("Requests()[%d] (%s) = HTTP %d Code %d, want HTTP %d Code %d", i, c.name, reqs[i].HTTPStatus, reqs[i].Code, c.status, c.code)
		}
	}
	if got := len(s.Delivered(crmsync.KindInvalid)); got != 3 {
		t.Errorf("len(Delivered(invalid)) = %d, want 3", got)
	}
}

func TestDuplicateTransID(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	v1 := example(t, crmsync.KindScore)
	// score-v2 with the TransID of the score example: one space for both.
	v2 := bytes.Replace(example(t, crmsync.KindScoreV2), []byte(`"20190121173950"`), []byte(`"4545454515"`), 1)
	if st, code, _ := post(t, s, crmsync.KindScore, v1, Sandbox, now(), nil); st != 200 || code != 1 {
		t.Fatalf("first score = HTTP %d Code %d, want 200 Code 1", st, code)
	}
	for _, k := range []crmsync.Kind{crmsync.KindScore, crmsync.KindScoreV2} {
		body := v1
		if k == crmsync.KindScoreV2 {
			body = v2
		}
		if st, code, msg := post(t, s, k, body, Sandbox, now(), nil); st != 200 || code != DefaultDuplicate || msg != MessageDuplicate {
			t.Errorf("repeat TransID by %s = HTTP %d Code %d %q, want 200 Code %d %q", k, st, code, msg, DefaultDuplicate, MessageDuplicate)
		}
	}
	s.Reset()
	if st, code, _ := post(t, s, crmsync.KindScoreV2, v2, Sandbox, now(), nil); st != 200 || code != 1 {
		t.Errorf("after Reset, score-v2 = HTTP %d Code %d, want 200 Code 1", st, code)
	}

	s2 := NewServer(Options{DuplicateCode: 307})
	defer s2.Close()
	post(t, s2, crmsync.KindScore, v1, Sandbox, now(), nil)
	if _, code, _ := post(t, s2, crmsync.KindScore, v1, Sandbox, now(), nil); code != 307 {
		t.Errorf("repeat TransID with DuplicateCode 307 = Code %d, want 307", code)
	}
	// A rejected TransID is not taken.
	s2.RejectIf(func(crmsync.Kind, []byte) (int, string, bool) { return 5000, "no", true })
	v3 := bytes.Replace(v1, []byte(`"4545454515"`), []byte(`"X1"`), 1)
	if _, code, msg := post(t, s2, crmsync.KindScore, v3, Sandbox, now(), nil); code != 5000 || msg != "no" {
		t.Errorf("RejectIf hook: Code %d %q, want 5000 %q", code, msg, "no")
	}
	s2.RejectIf(nil)
	if _, code, _ := post(t, s2, crmsync.KindScore, v3, Sandbox, now(), nil); code != 1 {
		t.Errorf("TransID rejected before, sent again = Code %d, want 1", code)
	}
}

func TestFaults(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	body := example(t, crmsync.KindMember)
	s.FailNext(2, http.StatusTooManyRequests, "3")
	for i := 0; i < 2; i++ {
		req, _ := http.NewRequest(http.MethodPost, s.URL+mallcoo.SpecOf(crmsync.KindMember).Path, bytes.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
			t.Errorf("FailNext request %d = HTTP %d Retry-After %q, want 429 and 3", i, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	if st, code, _ := post(t, s, crmsync.KindMember, body, Sandbox, now(), nil); st != 200 || code != 1 {
		t.Errorf("after FailNext(2) the third = HTTP %d Code %d, want 200 Code 1", st, code)
	}

	s.SetDropRate(1)
	req, _ := http.NewRequest(http.MethodPost, s.URL+mallcoo.SpecOf(crmsync.KindMember).Path, bytes.NewReader(body))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("DropRate 1: got HTTP %d, want a connection error", resp.StatusCode)
	}
	s.SetDropRate(0)
	s.SetFailRate(1)
	if st, _, _ := post(t, s, crmsync.KindMember, body, Sandbox, now(), nil); st != 503 {
		t.Errorf("FailRate 1: HTTP %d, want 503", st)
	}
	s.SetFailRate(0)
	reqs := s.Requests()
	if n := len(reqs); n != 5 || reqs[3].HTTPStatus != 0 || reqs[3].Message != "dropped" {
		t.Errorf("Requests() = %d, 4th %+v; want 5, the 4th dropped", n, reqs[min(3, n-1)])
	}
}

// TestConcurrent runs many senders at once (run with -race).
func TestConcurrent(t *testing.T) {
	s := NewServer(Options{FailRate: 0.2, Seed: 7})
	defer s.Close()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for i := 0; i < 20; i++ {
				body := fmt.Appendf(nil, `{"RefID":"g%d-%d","BonusAction":4,"Desc":null}`, g, i)
				post(t, s, crmsync.KindInvalid, body, Sandbox, now(), nil)
				_ = s.Delivered(crmsync.KindInvalid)
			}
		})
	}
	wg.Wait()
	reqs := s.Requests()
	ok := len(s.Delivered(crmsync.KindInvalid))
	failed := 0
	for _, r := range reqs {
		if r.HTTPStatus == 503 {
			failed++
		}
	}
	if len(reqs) != 160 || ok+failed != 160 || failed == 0 {
		t.Errorf("160 requests at FailRate 0.2: %d recorded, %d delivered, %d failed", len(reqs), ok, failed)
	}
}

func TestMaxRecorded(t *testing.T) {
	s := NewServer(Options{MaxRecorded: 5})
	defer s.Close()
	for i := range 23 {
		body := fmt.Appendf(nil, `{"RefID":"r%d","BonusAction":4}`, i)
		if _, code, _ := post(t, s, crmsync.KindInvalid, body, Sandbox, now(), nil); code != 1 {
			t.Fatalf("request %d: Code %d, want 1", i, code)
		}
	}
	reqs := s.Requests()
	if len(reqs) < 5 || len(reqs) >= 10 {
		t.Fatalf("len(Requests()) = %d with MaxRecorded 5, want 5 to 9", len(reqs))
	}
	for i, r := range reqs {
		want := fmt.Sprintf(`{"RefID":"r%d","BonusAction":4}`, 23-len(reqs)+i)
		if string(r.Body) != want || r.Code != 1 {
			t.Errorf("Requests()[%d] = %s Code %d, want %s Code 1", i, r.Body, r.Code, want)
		}
	}
}

// TestSwitches: each switch makes the fake answer as the real API might
// where the vendor's page says nothing; the zero Options stay strict.
func TestSwitches(t *testing.T) {
	wrong := Sandbox
	wrong.PrivateKey = "0000000000000000"
	score := example(t, crmsync.KindScore)
	extra := []byte(`{"RefID":"12ddd3","BonusAction":4,"Extra":1}`)
	noPos := []byte(`{"TransID":"T5","ThirdPartyCardID":"C","ScoreEvent":1,"TradeTime":"2024-11-01 10:00:00","TradeAmount":1,"CrmShopID":"S","TradeSerialNo":"N","Score":1}`)

	strict := NewServer(Options{})
	defer strict.Close()
	if st, code, _ := post(t, strict, crmsync.KindMember, example(t, crmsync.KindMember), wrong, now(), nil); st != 401 || code != CodeAuth {
		t.Errorf("strict, wrong key: HTTP %d Code %d, want 401 and %d", st, code, CodeAuth)
	}
	post(t, strict, crmsync.KindScore, score, Sandbox, now(), nil)
	if _, code, _ := post(t, strict, crmsync.KindScore, score, Sandbox, now(), nil); code != DefaultDuplicate {
		t.Errorf("strict, repeated TransID: Code %d, want %d", code, DefaultDuplicate)
	}
	if _, code, msg := post(t, strict, crmsync.KindInvalid, extra, Sandbox, now(), nil); code != CodeInvalidBody || !strings.Contains(msg, "Extra") {
		t.Errorf("strict, unknown field: Code %d %q, want %d naming Extra", code, msg, CodeInvalidBody)
	}
	if _, code, _ := post(t, strict, crmsync.KindScore, noPos, Sandbox, now(), nil); code != CodeOK {
		t.Errorf("strict, no PosID: Code %d, want 1 (optional by default)", code)
	}

	loose := NewServer(Options{AuthStatus: http.StatusOK, AuthCode: 40001, AcceptDuplicates: true, IgnoreUnknown: true,
		Required: map[crmsync.Kind][]string{crmsync.KindScore: {"PosID"}}})
	defer loose.Close()
	if st, code, _ := post(t, loose, crmsync.KindMember, example(t, crmsync.KindMember), wrong, now(), nil); st != 200 || code != 40001 {
		t.Errorf("AuthStatus 200, wrong key: HTTP %d Code %d, want 200 and 40001", st, code)
	}
	withPos := []byte(`{"TransID":"T6","ThirdPartyCardID":"C","ScoreEvent":1,"TradeTime":"2024-11-01 10:00:00","TradeAmount":1,"CrmShopID":"S","PosID":"P","Score":1}`)
	post(t, loose, crmsync.KindScore, withPos, Sandbox, now(), nil)
	if _, code, _ := post(t, loose, crmsync.KindScore, withPos, Sandbox, now(), nil); code != CodeOK {
		t.Errorf("AcceptDuplicates, repeated TransID: Code %d, want 1", code)
	}
	if n := len(loose.Delivered(crmsync.KindScore)); n != 2 {
		t.Errorf("AcceptDuplicates: %d requests answered Code 1, want 2", n)
	}
	if _, code, _ := post(t, loose, crmsync.KindInvalid, extra, Sandbox, now(), nil); code != CodeOK {
		t.Errorf("IgnoreUnknown, unknown field: Code %d, want 1", code)
	}
	if _, code, msg := post(t, loose, crmsync.KindScore, noPos, Sandbox, now(), nil); code != CodeInvalidBody || !strings.Contains(msg, "PosID") {
		t.Errorf("Required PosID, none sent: Code %d %q, want %d naming PosID", code, msg, CodeInvalidBody)
	}
}
