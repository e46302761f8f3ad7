package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

// The soak's knobs: go test ./cmd/crmsync -run TestSoak -soak.nights 300
// -soak.seed 7 (bench/soak.sh runs several seeds).
var (
	soakNights  = flag.Int("soak.nights", 24, "TestSoak: nights to play")
	soakSeed    = flag.Uint64("soak.seed", 1, "TestSoak: seed of the nights' generator")
	soakVerbose = flag.Bool("soak.v", false, "TestSoak: log every night")
	soakKeep    = flag.Bool("soak.keep", false, "TestSoak: keep the nights' folder (ledger, files, reports) when the soak fails")
)

// TestSoak plays many nights of a mall's CRM exports through the real
// binary against the fake Mallcoo API, with a misbehaving API on some nights
// (HTTP 503, connections dropped, answers after the timeout, slow answers,
// business rejections, a systemic Code) and the process killed with SIGKILL
// at a random moment on others, an operator's retry, resolve and prune now
// and then; after every command it checks the invariants against the
// fake's own record of what it received (see soak.check), and at the end
// the documented recovery (status → resolve → retry) empties the backlog
// with every event delivered once.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	s := newSoak(t, buildBinary(t), *soakSeed)
	defer s.close()
	for n := 0; n < *soakNights; n++ {
		s.night(n)
		if t.Failed() {
			t.Fatalf("seed %d: stopped after night %d (trouble %q); the nights are in %s", *soakSeed, n, s.trouble, s.dir)
		}
	}
	s.drain()
	t.Logf("seed %d, %d nights: %s", *soakSeed, *soakNights, s.stats)
}

// soakTroubles are the kinds of night; the first len(soakTroubles) nights
// play each once (so a short soak meets them all), later ones draw.
var soakTroubles = []string{"calm", "503", "kill", "reject", "slow", "drop", "timeout", "empty", "systemic", "500", "kill", "429", "calm", "timeout"}

// soakCards are the members, card IDs with a leading zero (an ID is text).
var soakCards = func() []string {
	var cards []string
	for i := 0; i < 14; i++ {
		cards = append(cards, fmt.Sprintf("0%012d", 201710000100+i*7))
	}
	return cards
}()

var soakGrades = []string{"普卡", "银卡", "金卡", "铂金卡"}

// soakKey is one event key and what the soak knows of it.
type soakKey struct {
	kind     crmsync.Kind
	key      string
	card     string
	time     string              // the event time as written (grade, bonus: lane order)
	versions []map[string]string // the contents that may be sent (first, fixed after a rejection or an invalid row)
	invalid  bool                // its first row was invalid, not yet fixed
	returned bool                // a sale whose return was generated
	sale     map[string]string   // score: the sale's cells, for a return
}

// soakRow is one row written to a file of a night.
type soakRow struct {
	file   string // base name
	row    int    // as crmsync numbers it: the header is row 1
	k      *soakKey
	cells  map[string]string
	badCol string // the column an invalid row is invalid on
	dup    bool   // the second copy of a row in this night's files
	date   string // member: the business date (file name)
}

// soakReq is a request the fake received, read back.
type soakReq struct {
	kind  crmsync.Kind
	id    string // score TransID, grade GradeChangeID, bonus RefID|card, member card
	body  map[string]any
	code  int
	ok    bool // Code 1, or 1001 (a repeated TransID, already_delivered_codes) for score
	code1 bool
}

type soak struct {
	t      *testing.T
	bin    string
	dir    string
	db     string
	conf   string
	rng    *rand.Rand
	api    *soakAPI
	ts     *httptest.Server
	env    []string
	keys   map[string]*soakKey // kind + " " + key
	last   []soakRow           // the previous night's valid rows (for re-exports)
	seq    int
	grade  map[string]int // card → index in soakGrades
	bal    map[string]int // card → points balance
	btime  map[string]int // card → the last event second used (lanes in time order)
	seen   int            // requests read so far
	before int            // requests made before the last command
	succ   map[string]int // id → requests answered Code 1
	okAny  map[string]bool
	resend map[string]bool // keys a person decided to resend, not yet sent
	states map[string]crmsync.State
	lanes  map[string]string // kind + " " + card → the event time of the last accepted grade or points change
	night0 time.Time

	trouble     string
	scoreResend bool
	stats       soakStats
}

type soakStats struct {
	nights, rows, commands, kills, requests, sent, already int
	troubles                                               map[string]int
	exits                                                  map[string]int // "trouble:exit code" of the nights\' runs
	outcomes                                               map[crmsync.Outcome]int
	decisions                                              map[string]int
}

func (s soakStats) String() string {
	return fmt.Sprintf("%d rows, %d commands, %d SIGKILLs, %d requests (%d accepted, %d answered 1001 already delivered); nights %v; runs' exit codes %v; outcomes %v; decisions %v",
		s.rows, s.commands, s.kills, s.requests, s.sent, s.already, s.troubles, s.exits, s.outcomes, s.decisions)
}

// soakAPI wraps the fake: a share of requests is answered only after the
// client's timeout, and applied all the same (the request arrived, the
// answer did not); another share is applied and answered HTTP 500.
type soakAPI struct {
	h        *mallcootest.Handler
	mu       sync.Mutex
	rng      *rand.Rand
	late     float64
	lateBy   time.Duration
	fail500  float64
	inflight atomic.Int64
}

func (a *soakAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.inflight.Add(1)
	defer a.inflight.Add(-1)
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	a.mu.Lock()
	late := a.late > 0 && a.rng.Float64() < a.late
	fail := a.fail500 > 0 && a.rng.Float64() < a.fail500
	a.mu.Unlock()
	if late {
		time.Sleep(a.lateBy)
	}
	if fail {
		a.h.ServeHTTP(httptest.NewRecorder(), r.WithContext(context.WithoutCancel(r.Context())))
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	a.h.ServeHTTP(w, r.WithContext(context.WithoutCancel(r.Context())))
}

func (a *soakAPI) setLate(p float64, d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.late, a.lateBy = p, d
}

func (a *soakAPI) set500(p float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fail500 = p
}

func newSoak(t *testing.T, bin string, seed uint64) *soak {
	dir := t.TempDir()
	if *soakKeep {
		var err error
		if dir, err = os.MkdirTemp("", "crmsync-soak-"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if !t.Failed() {
				os.RemoveAll(dir)
			}
		})
	}
	s := &soak{
		t: t, bin: bin, dir: dir, db: filepath.Join(dir, "ledger.db"), conf: filepath.Join(dir, "crmsync.toml"),
		rng:  rand.New(rand.NewPCG(seed, seed^0x5eed)),
		keys: map[string]*soakKey{}, grade: map[string]int{}, bal: map[string]int{}, btime: map[string]int{},
		succ: map[string]int{}, lanes: map[string]string{}, okAny: map[string]bool{}, resend: map[string]bool{},
		night0: time.Date(2025, 1, 1, 0, 0, 0, 0, mallcoo.CST),
		stats:  soakStats{troubles: map[string]int{}, exits: map[string]int{}, outcomes: map[crmsync.Outcome]int{}, decisions: map[string]int{}},
	}
	s.api = &soakAPI{h: mallcootest.NewHandler(mallcootest.Options{Seed: int64(seed)}), rng: rand.New(rand.NewPCG(seed, 99))}
	s.ts = httptest.NewServer(s.api)
	s.env = os.Environ()
	for k, v := range map[string]string{
		"MALLCOO_APP_ID": mallcootest.Sandbox.AppID, "MALLCOO_PUBLIC_KEY": mallcootest.Sandbox.PublicKey,
		"MALLCOO_PRIVATE_KEY": mallcootest.Sandbox.PrivateKey, "MALLCOO_BASE_URL": s.ts.URL,
	} {
		s.env = append(s.env, k+"="+v)
	}
	mustCreateLedger(t, s.db)
	return s
}

func (s *soak) close() { s.ts.Close() }

// writeConfig writes the night's settings: the fake answers a repeated
// TransID with 1001, which this mall was told means "already delivered";
// score_resend_uncertain changes every other week.
func (s *soak) writeConfig(n int) {
	s.scoreResend = (n/7)%2 == 1
	conf := fmt.Sprintf(`already_delivered_codes = [1001]
systemic_codes = [40001]
score_resend_uncertain = %v
allow_empty = true
mask_personal = false
concurrency = 4
retries = 2
timeout = "400ms"
`, s.scoreResend)
	if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

func (s *soak) date(n int) string { return s.night0.AddDate(0, 0, n).Format("2006-01-02") }

// night plays night n: the CRM's files, the API's mood, the cron run (maybe
// killed, then run again by the operator), and now and then an operator.
func (s *soak) night(n int) {
	t := s.t
	s.writeConfig(n)
	if n < len(soakTroubles) {
		s.trouble = soakTroubles[n]
	} else {
		s.trouble = soakTroubles[s.rng.IntN(len(soakTroubles))]
	}
	s.stats.nights++
	s.stats.troubles[s.trouble]++
	dir := filepath.Join(s.dir, fmt.Sprintf("night-%03d", n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var rows []soakRow
	var fileProblems int
	if s.trouble != "empty" {
		rows, fileProblems = s.writeNight(n, dir)
	}
	s.stats.rows += len(rows)

	// The API's mood tonight.
	h := s.api.h
	h.SetFailRate(0)
	h.SetDropRate(0)
	h.SetLatency(0)
	h.RejectIf(nil)
	h.FailNext(0, 0, "")
	s.api.setLate(0, 0)
	s.api.set500(0)
	switch s.trouble {
	case "503":
		h.SetFailRate(0.2)
	case "drop":
		h.SetDropRate(0.15)
	case "slow":
		h.SetLatency(40 * time.Millisecond)
	case "timeout":
		s.api.setLate(0.15, 700*time.Millisecond)
	case "500":
		s.api.set500(0.15)
	case "429":
		h.FailNext(3+s.rng.IntN(6), http.StatusTooManyRequests, "1")
	case "kill":
		h.SetLatency(time.Duration(20+s.rng.IntN(40)) * time.Millisecond)
	case "reject":
		h.RejectIf(func(kind crmsync.Kind, body []byte) (int, string, bool) {
			if bytes.HasSuffix(bytes.TrimSpace(body), []byte("}")) && len(body)%5 == 0 {
				return 20001, "会员状态异常", true
			}
			return 0, "", false
		})
	case "systemic":
		h.RejectIf(func(crmsync.Kind, []byte) (int, string, bool) { return 40001, "商户未开通", true })
	}

	if s.trouble == "kill" {
		died := s.kill(len(rows), "run", dir)
		h.SetLatency(0)
		// The operator sees the run died and runs that night's folder again.
		s.status(died)
	}
	s.run(n, dir, rows, fileProblems, "run")
	h.RejectIf(nil)
	h.SetFailRate(0)
	h.SetDropRate(0)
	h.SetLatency(0)
	h.FailNext(0, 0, "")
	s.api.setLate(0, 0)
	s.api.set500(0)

	// An operator now and then.
	switch r := s.rng.IntN(10); {
	case r < 2:
		s.resolveUncertain()
		s.retry()
	case r < 4:
		s.retry()
	case r < 5:
		s.prune()
	case r < 6 && s.trouble != "systemic":
		// The operator's retry killed too, then run again.
		s.api.h.SetLatency(30 * time.Millisecond)
		died := s.kill(s.status(false).Outstanding.Total, "retry")
		s.api.h.SetLatency(0)
		s.status(died)
		s.retry()
	}
	s.keepValid(rows)
	if *soakVerbose {
		t.Logf("night %d (%s, score_resend_uncertain=%v): %d rows, %d requests so far", n, s.trouble, s.scoreResend, len(rows), s.stats.requests)
	}
}

// keepValid keeps tonight's valid rows for tomorrow's re-exports.
func (s *soak) keepValid(rows []soakRow) {
	s.last = s.last[:0]
	for _, r := range rows {
		if r.badCol == "" && !r.dup && r.k != nil {
			s.last = append(s.last, r)
		}
	}
}

func (s *soak) newKey(kind crmsync.Kind, key, card, tm string) *soakKey {
	k := &soakKey{kind: kind, key: key, card: card, time: tm}
	s.keys[string(kind)+" "+key] = k
	return k
}

// laneTime returns the next event time of card's lane on night n: events
// of one member come in time order, across nights too.
func (s *soak) laneTime(n int, card string) string {
	sec := s.btime[card] + 1 + s.rng.IntN(300)
	if day := n * 86400; sec < day+8*3600 {
		sec = day + 8*3600 + s.rng.IntN(600)
	}
	s.btime[card] = sec
	return s.night0.Add(time.Duration(sec) * time.Second).Format(mallcoo.DateTimeLayout)
}

func (s *soak) cents() string {
	c := 1 + s.rng.IntN(500000)
	if s.rng.IntN(8) == 0 {
		c = 10 * (1 + s.rng.IntN(30)) // 0.10, 1.20, …
	}
	return fmt.Sprintf("%d.%02d", c/100, c%100)
}

// writeNight generates night n's rows and writes them to files of several
// formats; it returns the rows and the number of files that must be file
// problems.
func (s *soak) writeNight(n int, dir string) ([]soakRow, int) {
	date := s.date(n)
	byKind := map[crmsync.Kind][]soakRow{}
	used := map[*soakKey]bool{} // a key once a night, but for the deliberate second copy
	add := func(r soakRow) bool {
		if used[r.k] {
			return false
		}
		used[r.k] = true
		byKind[r.k.kind] = append(byKind[r.k.kind], r)
		return true
	}
	// addNew adds new key k's row c; one in n times with col written as
	// bad instead: invalid tonight, fixed tomorrow.
	addNew := func(k *soakKey, c map[string]string, n int, col, bad string) {
		if s.rng.IntN(n) == 0 {
			b := clone(c)
			b[col] = bad
			k.invalid = true
			add(soakRow{k: k, cells: b, badCol: col})
			return
		}
		add(soakRow{k: k, cells: c})
	}
	var memberRows []soakRow
	// Rows invalid last night, fixed tonight.
	for _, k := range s.sortedKeys() {
		if k.invalid && s.rng.IntN(6) != 0 {
			k.invalid = false
			add(soakRow{k: k, cells: k.versions[0]})
		}
	}
	// New sales, some invalid.
	for i := 2 + s.rng.IntN(7); i > 0; i-- {
		s.seq++
		card := soakCards[s.rng.IntN(len(soakCards))]
		tm := fmt.Sprintf("%s %02d:%02d:%02d", date, 9+s.rng.IntN(12), s.rng.IntN(60), s.rng.IntN(60))
		c := map[string]string{"TransID": fmt.Sprintf("S%06d", s.seq), "ThirdPartyCardID": card, "ScoreEvent": "1", "TradeTime": tm,
			"TradeAmount": s.cents(), "CrmShopID": fmt.Sprintf("SH%03d", s.rng.IntN(40)), "Score": strconv.Itoa(s.rng.IntN(3000))}
		if s.rng.IntN(2) == 0 {
			c["TradeSerialNo"] = fmt.Sprintf("P%08d", s.seq)
		}
		k := s.newKey(crmsync.KindScore, c["TransID"], card, tm)
		k.versions = []map[string]string{c}
		k.sale = c
		addNew(k, c, 9, "TradeAmount", "12,34")
	}
	// Returns (2101) of sales Mallcoo has, a few a night.
	returns := 0
	for _, k := range s.sortedKeys() {
		if returns == 3 {
			break
		}
		if k.kind != crmsync.KindScore || k.sale == nil || k.returned || s.states[string(k.kind)+" "+k.key] != crmsync.StateSent || s.rng.IntN(8) != 0 {
			continue
		}
		k.returned = true
		returns++
		sale := k.sale
		back := sale["TradeAmount"]
		c := map[string]string{"TransID": "R" + sale["TransID"][1:], "ThirdPartyCardID": sale["ThirdPartyCardID"], "ScoreEvent": "2101",
			"TradeTime": sale["TradeTime"], "TradeAmount": sale["TradeAmount"], "CrmShopID": sale["CrmShopID"],
			"TradeSerialNo": sale["TransID"], "ReturnTime": fmt.Sprintf("%s 21:%02d:00", date, s.rng.IntN(60)),
			"ReturnAmount": back, "Score": "-" + sale["Score"]}
		if sale["Score"] == "0" {
			c["Score"] = "0"
		}
		r := s.newKey(crmsync.KindScore, c["TransID"], c["ThirdPartyCardID"], c["ReturnTime"])
		r.versions = []map[string]string{c}
		add(soakRow{k: r, cells: c})
	}
	// Grade changes, in time order per member; some invalid.
	for i := s.rng.IntN(4); i > 0; i-- {
		card := soakCards[s.rng.IntN(len(soakCards))]
		for j := 1 + s.rng.IntN(2); j > 0; j-- {
			s.seq++
			g := s.grade[card]
			next, typ := g+1, "0"
			if g == len(soakGrades)-1 || (g > 0 && s.rng.IntN(3) == 0) {
				next, typ = g-1, "1"
			}
			s.grade[card] = next
			tm := s.laneTime(n, card)
			c := map[string]string{"GradeChangeID": fmt.Sprintf("G%06d", s.seq), "ThirdPartyCardID": card, "BeforeCardCode": soakGrades[g],
				"AfterCardCode": soakGrades[next], "ChangeType": typ, "ChangeTime": tm}
			k := s.newKey(crmsync.KindGrade, c["GradeChangeID"], card, tm)
			k.versions = []map[string]string{c}
			addNew(k, c, 10, "BeforeCardCode", "")
		}
	}
	// Points changes with the balance after (order per member matters).
	for i := s.rng.IntN(4); i > 0; i-- {
		s.seq++
		card := soakCards[s.rng.IntN(len(soakCards))]
		get := s.rng.IntN(500) - 100
		s.bal[card] += get
		tm := s.laneTime(n, card)
		c := map[string]string{"RefID": fmt.Sprintf("B%06d", s.seq), "ThirdPartyCardID": card, "BonusAction": "4",
			"GetBonus": strconv.Itoa(get), "AfterBonus": strconv.Itoa(s.bal[card]), "CreateTime": tm, "Desc": fmt.Sprintf("积分调整 第%d次", s.seq)}
		k := s.newKey(crmsync.KindBonus, c["RefID"]+"|"+card, card, tm)
		k.versions = []map[string]string{c}
		addNew(k, c, 10, "GetBonus", "1e3")
	}
	// Now and then a file of another kind: points review results.
	if s.rng.IntN(4) == 0 {
		for i := 1 + s.rng.IntN(3); i > 0; i-- {
			s.seq++
			c := map[string]string{"RefID": fmt.Sprintf("V%06d", s.seq), "BonusAction": "1", "Bonus": strconv.Itoa(s.rng.IntN(200)),
				"CurrentBonus": strconv.Itoa(s.rng.IntN(5000)), "BonusVerifyStatus": []string{"1", "-1"}[s.rng.IntN(2)],
				"BonusVerifyTime": fmt.Sprintf("%s 1%d:%02d:00", date, s.rng.IntN(10), s.rng.IntN(60))}
			if s.rng.IntN(2) == 0 {
				c["Desc"] = "审核备注 & 100%"
			}
			k := s.newKey(crmsync.KindVerify, c["RefID"], "", c["BonusVerifyTime"])
			k.versions = []map[string]string{c}
			add(soakRow{k: k, cells: c})
		}
	}
	// Member notices (key: card and the file's business date); one invalid now and then.
	for i := s.rng.IntN(3); i > 0; i-- {
		card := soakCards[s.rng.IntN(len(soakCards))]
		key := card + "|" + date
		if s.keys[string(crmsync.KindMember)+" "+key] != nil {
			continue
		}
		c := map[string]string{"ThirdPartyCardID": card}
		k := s.newKey(crmsync.KindMember, key, card, date)
		k.versions = []map[string]string{c}
		memberRows = append(memberRows, soakRow{k: k, cells: c, date: date})
	}
	if s.rng.IntN(8) == 0 {
		memberRows = append(memberRows, soakRow{cells: map[string]string{"ThirdPartyCardID": "2.01710E+11"}, badCol: "ThirdPartyCardID", date: date})
	}
	// Yesterday's rows exported again, as they were.
	var again []soakRow
	for _, r := range s.last {
		if s.rng.IntN(4) == 0 {
			r.row, r.file = 0, ""
			if r.k.kind == crmsync.KindMember {
				again = append(again, r)
			} else {
				add(r)
			}
		}
	}
	// Corrections: a row Mallcoo has, same key, another amount; two a
	// night at most.
	corrections := 0
	for _, k := range s.sortedKeys() {
		if corrections == 2 {
			break
		}
		if s.states[string(k.kind)+" "+k.key] != crmsync.StateSent || s.rng.IntN(40) != 0 || len(k.versions) != 1 {
			continue
		}
		c := clone(k.versions[0])
		switch k.kind {
		case crmsync.KindScore:
			c["TradeAmount"] = "9" + c["TradeAmount"]
		case crmsync.KindBonus:
			get, _ := strconv.Atoi(c["GetBonus"])
			c["GetBonus"] = strconv.Itoa(get + 1000)
		case crmsync.KindGrade:
			c["ChangeType"] = map[string]string{"0": "1", "1": "0"}[c["ChangeType"]]
		default:
			continue
		}
		if add(soakRow{k: k, cells: c}) {
			corrections++
		}
	}
	// Fixes of rejected rows: same key, other content.
	for _, k := range s.sortedKeys() {
		if s.states[string(k.kind)+" "+k.key] != crmsync.StateRejected || s.rng.IntN(2) != 0 {
			continue
		}
		c := clone(k.versions[len(k.versions)-1])
		switch k.kind {
		case crmsync.KindScore:
			c["TradeSerialNo"] = fmt.Sprintf("F%07d", len(k.versions))
		case crmsync.KindGrade:
			c["Remark"] = fmt.Sprintf("修正%d", len(k.versions))
		case crmsync.KindBonus:
			c["Desc"] = fmt.Sprintf("修正%d", len(k.versions))
		default:
			continue
		}
		if add(soakRow{k: k, cells: c}) {
			k.versions = append(k.versions, c)
		}
	}

	// Files: each kind in one of three forms; now and then a row also in a
	// second file of the same night.
	var all []soakRow
	kinds := []crmsync.Kind{crmsync.KindScore, crmsync.KindGrade, crmsync.KindBonus, crmsync.KindVerify}
	for _, kind := range kinds {
		rows := byKind[kind]
		if len(rows) == 0 {
			continue
		}
		all = append(all, s.writeFile(dir, date+"_"+string(kind), kind, rows)...)
		if s.rng.IntN(5) == 0 {
			var valid []soakRow
			for _, r := range rows {
				if r.badCol == "" {
					valid = append(valid, r)
				}
			}
			if len(valid) > 0 {
				d := valid[s.rng.IntN(len(valid))]
				d.dup = true
				all = append(all, s.writeFile(dir, date+"_"+string(kind)+"_more", kind, []soakRow{d})...)
			}
		}
	}
	if len(memberRows) > 0 {
		all = append(all, s.writeFile(dir, date+"_member", crmsync.KindMember, memberRows)...)
	}
	byDate := map[string][]soakRow{}
	for _, r := range again {
		byDate[r.date] = append(byDate[r.date], r)
	}
	var dates []string
	for d := range byDate {
		dates = append(dates, d)
	}
	sort.Strings(dates)
	for _, d := range dates {
		all = append(all, s.writeFile(dir, d+"_member-again", crmsync.KindMember, byDate[d])...)
	}
	problems := 0
	if s.rng.IntN(8) == 0 {
		// Another export dropped in the folder: the shops list.
		os.WriteFile(filepath.Join(dir, date+"_shops.csv"), []byte("门店编号,门店名称\nSH001,一楼东\n"), 0o644)
		problems++
	}
	return all, problems
}

func (s *soak) sortedKeys() []*soakKey {
	var ks []*soakKey
	for _, k := range s.keys {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		return string(ks[i].kind)+ks[i].key < string(ks[j].kind)+ks[j].key
	})
	return ks
}

func clone(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// soakColumns are the columns the soak writes per kind.
var soakColumns = map[crmsync.Kind][]string{
	crmsync.KindScore:  {"TransID", "ThirdPartyCardID", "ScoreEvent", "TradeTime", "TradeAmount", "CrmShopID", "TradeSerialNo", "ReturnTime", "ReturnAmount", "Score"},
	crmsync.KindGrade:  {"GradeChangeID", "ThirdPartyCardID", "BeforeCardCode", "AfterCardCode", "ChangeType", "ChangeTime", "Remark"},
	crmsync.KindBonus:  {"RefID", "ThirdPartyCardID", "BonusAction", "GetBonus", "AfterBonus", "CreateTime", "Desc"},
	crmsync.KindMember: {"ThirdPartyCardID"},
	crmsync.KindVerify: {"RefID", "BonusAction", "Bonus", "CurrentBonus", "BonusVerifyStatus", "BonusVerifyTime", "Desc"},
}

var soakNumeric = map[string]bool{"TradeAmount": true, "ReturnAmount": true, "Score": true, "GetBonus": true, "AfterBonus": true, "Bonus": true, "CurrentBonus": true}

// writeFile writes rows as UTF-8 CSV (API names), GBK CSV (the vendor's
// Chinese labels) or XLSX (amounts as number cells now and then), columns
// in a random order, and returns the rows with their file and row number.
func (s *soak) writeFile(dir, base string, kind crmsync.Kind, rows []soakRow) []soakRow {
	cols := append([]string(nil), soakColumns[kind]...)
	if s.rng.IntN(2) == 0 {
		s.rng.Shuffle(len(cols), func(i, j int) { cols[i], cols[j] = cols[j], cols[i] })
	}
	label := map[string]string{}
	for _, f := range mallcoo.SpecOf(kind).Fields {
		label[f.Name] = f.Label
	}
	form := s.rng.IntN(3)
	if kind == crmsync.KindMember && form == 1 {
		form = 0 // a member file of one column and a GBK label reads the same as UTF-8
	}
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = c
		if form == 1 || (form == 2 && s.rng.IntN(2) == 0) {
			header[i] = label[c]
		}
	}
	out := make([]soakRow, len(rows))
	for i, r := range rows {
		r.row = i + 2
		out[i] = r
	}
	switch form {
	case 0, 1:
		name := base + ".csv"
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		w.Write(header)
		for _, r := range rows {
			rec := make([]string, len(cols))
			for i, c := range cols {
				rec[i] = r.cells[c]
			}
			w.Write(rec)
		}
		w.Flush()
		data := b.Bytes()
		if form == 1 {
			var err error
			if data, err = simplifiedchinese.GBK.NewEncoder().Bytes(data); err != nil {
				s.t.Fatalf("encode %s as GBK: %v", name, err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			s.t.Fatal(err)
		}
		for i := range out {
			out[i].file = name
		}
	default:
		name := base + ".xlsx"
		f := excelize.NewFile()
		sheet := string(kind)
		f.SetSheetName("Sheet1", sheet)
		hdr := make([]any, len(header))
		for i, h := range header {
			hdr[i] = h
		}
		f.SetSheetRow(sheet, "A1", &hdr)
		numbers := s.rng.IntN(2) == 0
		for ri, r := range rows {
			rec := make([]any, len(cols))
			for i, c := range cols {
				v := r.cells[c]
				rec[i] = v
				if numbers && soakNumeric[c] && r.badCol != c && v != "" {
					if x, err := strconv.ParseFloat(v, 64); err == nil {
						rec[i] = x
					}
				}
			}
			cell, _ := excelize.CoordinatesToCellName(1, ri+2)
			f.SetSheetRow(sheet, cell, &rec)
		}
		if err := f.SaveAs(filepath.Join(dir, name)); err != nil {
			s.t.Fatal(err)
		}
		f.Close()
		for i := range out {
			out[i].file = name
		}
	}
	return out
}

// soakSummary is what -json prints that the soak reads.
type soakSummary struct {
	RunID  int64                   `json:"run_id"`
	Rows   int                     `json:"rows"`
	Counts map[crmsync.Outcome]int `json:"counts"`
	Files  []struct {
		Path string `json:"path"`
		Code string `json:"problem_code"`
	} `json:"files"`
}

// soakStatus is what status -json prints that the soak reads.
type soakStatus struct {
	Runs []struct {
		ID     int64                   `json:"id"`
		Status string                  `json:"status"`
		Rows   int                     `json:"rows"`
		Counts map[crmsync.Outcome]int `json:"counts"`
	} `json:"runs"`
	Uncertain   []heldEvent         `json:"uncertain_events"`
	Outstanding *ledger.Outstanding `json:"outstanding"`
}

// command runs the binary to its end and returns its exit code and stdout.
func (s *soak) command(args ...string) (int, string) {
	s.stats.commands++
	cmd := exec.Command(s.bin, args...)
	cmd.Env, cmd.Dir = s.env, s.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if code == -1 {
		s.t.Fatalf("crmsync %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if code == crmsync.ExitUsage || code == crmsync.ExitFailed && s.trouble != "systemic" {
		s.t.Errorf("crmsync %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
	}
	return code, stdout.String()
}

// kill starts the night's run and kills it with SIGKILL at a random
// moment: while it reads and claims, or once the fake received a random
// number of its requests. It reports whether the kill came before the end.
func (s *soak) kill(rows int, args ...string) bool {
	pre := s.snapshot()
	flags := []string{args[0], "-config", s.conf, "-ledger", s.db, "-report", filepath.Join(s.dir, fmt.Sprintf("killed-%d.xlsx", s.stats.commands))}
	cmd := exec.Command(s.bin, append(flags, args[1:]...)...)
	cmd.Env, cmd.Dir = s.env, s.dir
	seen := len(s.api.h.Requests())
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	if s.rng.IntN(4) == 0 || rows == 0 {
		time.Sleep(time.Duration(s.rng.IntN(120)) * time.Millisecond)
	} else {
		want := seen + 1 + s.rng.IntN(max(1, rows/2)) // not all rows are sent
		for deadline := time.Now().Add(5 * time.Second); len(s.api.h.Requests()) < want && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(s.rng.IntN(15)) * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code == crmsync.ExitUsage || code == crmsync.ExitFailed {
		s.t.Errorf("crmsync %s (to be killed) ended on its own: exit %d", strings.Join(args, " "), code)
	}
	s.stats.commands++
	killed := false
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		killed = true
		s.stats.kills++
	}
	s.settle("killed "+args[0], pre)
	return killed
}

// quiet waits until the fake has answered every request a process made.
func (s *soak) quiet() {
	for deadline := time.Now().Add(30 * time.Second); s.api.inflight.Load() > 0; {
		if time.Now().After(deadline) {
			s.t.Fatalf("the fake still has %d requests in progress after 30 s", s.api.inflight.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// run runs crmsync run over dir as cron does and checks its accounting.
func (s *soak) run(n int, dir string, rows []soakRow, fileProblems int, what string) {
	pre := s.snapshot()
	results := filepath.Join(s.dir, fmt.Sprintf("night-%03d-%s.csv", n, what))
	rep := filepath.Join(s.dir, fmt.Sprintf("night-%03d-%s.xlsx", n, what))
	code, out := s.command("run", "-json", "-config", s.conf, "-ledger", s.db, "-report", rep, "-results", results, dir)
	if _, err := os.Stat(rep); err != nil {
		s.t.Errorf("night %d: no report: %v", n, err)
	}
	news := s.settle(fmt.Sprintf("night %d %s", n, what), pre)
	s.stats.exits[fmt.Sprintf("%s:%d", s.trouble, code)]++
	var sum soakSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		s.t.Fatalf("night %d: -json output is not one JSON object: %v\n%s", n, err, out)
	}
	s.account(fmt.Sprintf("night %d", n), code, sum, results, rows, fileProblems, pre, news)
}

// retry runs crmsync retry as an operator would and checks what it sent.
func (s *soak) retry() {
	pre := s.snapshot()
	results := filepath.Join(s.dir, fmt.Sprintf("retry-%d.csv", s.stats.commands))
	code, out := s.command("retry", "-json", "-config", s.conf, "-ledger", s.db, "-report", filepath.Join(s.dir, fmt.Sprintf("retry-%d.xlsx", s.stats.commands)), "-results", results)
	news := s.settle("retry", pre)
	if strings.TrimSpace(out) == "" || !strings.HasPrefix(strings.TrimSpace(out), "{") {
		// Nothing to send: no run recorded, no report.
		if len(news) > 0 {
			s.t.Errorf("retry printed no summary but made %d requests", len(news))
		}
		return
	}
	var sum soakSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		s.t.Fatalf("retry: -json output: %v\n%s", err, out)
	}
	if _, err := os.Stat(results); err != nil {
		return // a retry with nothing to send
	}
	s.account("retry", code, sum, results, nil, 0, pre, news)
}

// prune drops every finished run's per-row results: the backlog must not
// change.
func (s *soak) prune() {
	before := s.status(false).Outstanding
	s.command("prune", "-keep", "1ms", "-config", s.conf, "-ledger", s.db)
	after := s.status(false).Outstanding
	if before.Total != after.Total || fmt.Sprint(before.ByState) != fmt.Sprint(after.ByState) {
		s.t.Errorf("prune changed the backlog: %v → %v", before.ByState, after.ByState)
	}
	s.stats.decisions["prune"]++
}

// status runs crmsync status -json and checks it against the ledger.
func (s *soak) status(afterKill bool) soakStatus {
	code, out := s.command("status", "-json", "-list", "100000", "-config", s.conf, "-ledger", s.db)
	var st soakStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		s.t.Fatalf("status -json (exit %d): %v\n%s", code, err, out)
	}
	if st.Outstanding == nil {
		s.t.Fatalf("status -json: no outstanding")
	}
	// A SIGKILL after the run recorded its end (writing the report,
	// exiting) leaves it done.
	if afterKill && (len(st.Runs) == 0 || st.Runs[0].Status != "died" && st.Runs[0].Status != "done") {
		s.t.Errorf("status after a SIGKILL: latest run %+v, want died (or done)", st.Runs[:min(1, len(st.Runs))])
	}
	if afterKill && len(st.Runs) > 0 {
		s.stats.decisions["killed run "+st.Runs[0].Status]++
	}
	// The event states of the backlog agree with the ledger's.
	count := map[crmsync.State]int{}
	for _, st := range s.states {
		count[st]++
	}
	for _, state := range []crmsync.State{crmsync.StateFailed, crmsync.StateRejected, crmsync.StateBlocked, crmsync.StateUncertain, crmsync.StateInFlight} {
		if got := st.Outstanding.ByState[string(state)]; got != count[state] {
			s.t.Errorf("status: %d %s in the backlog, the ledger holds %d", got, state, count[state])
		}
	}
	return st
}

// resolveUncertain decides every held event as a person would after
// looking it up in Mallcoo (here: the fake's record).
func (s *soak) resolveUncertain() {
	st := s.status(false)
	var delivered, resend = map[crmsync.Kind][]string{}, map[crmsync.Kind][]string{}
	for _, it := range st.Outstanding.Items {
		if it.State != string(crmsync.StateUncertain) && it.State != string(crmsync.StateInFlight) {
			continue
		}
		if s.okAny[s.wireID(it.Kind, it.Key)] {
			delivered[it.Kind] = append(delivered[it.Kind], it.Key)
		} else {
			resend[it.Kind] = append(resend[it.Kind], it.Key)
		}
	}
	for as, m := range map[string]map[crmsync.Kind][]string{"delivered": delivered, "resend": resend} {
		for kind, keys := range m {
			pre := s.snapshot()
			s.command(append([]string{"resolve", "-config", s.conf, "-ledger", s.db, "-kind", string(kind), "-as", as, "-reason", "soak: looked up in Mallcoo"}, keys...)...)
			s.settle("resolve", pre)
			s.stats.decisions[as] += len(keys)
			if as == "resend" {
				for _, k := range keys {
					s.resend[string(kind)+" "+k] = true
				}
			}
			for _, k := range keys {
				if got := s.states[string(kind)+" "+k]; as == "delivered" && got != crmsync.StateSent {
					s.t.Errorf("resolve -as delivered %s %s: ledger state %q, want sent", kind, k, got)
				}
			}
		}
	}
}

// wireID is the identity of an event in a request body: the key but for
// member notices (the business date is not sent).
func (s *soak) wireID(kind crmsync.Kind, key string) string {
	if kind == crmsync.KindMember {
		key, _, _ = strings.Cut(key, "|")
	}
	return string(kind) + " " + key
}

// snapshot reads every event's state from the ledger.
func (s *soak) snapshot() map[string]crmsync.State {
	if s.states == nil {
		s.states = map[string]crmsync.State{}
	}
	return s.states
}

// readStates reads the ledger's event states (read-only, no lock).
func (s *soak) readStates() map[string]crmsync.State {
	ctx := context.Background()
	l, err := ledger.OpenReadOnly(ctx, s.db)
	if err != nil {
		s.t.Fatalf("the ledger does not open: %v", err)
	}
	defer l.Close()
	states := map[string]crmsync.State{}
	all := []crmsync.State{crmsync.StateInFlight, crmsync.StateSent, crmsync.StateRejected, crmsync.StateFailed, crmsync.StateUncertain, crmsync.StateBlocked, crmsync.StateDismissed}
	if err := l.Events(ctx, all, func(ev *crmsync.Event, p crmsync.Prior) error {
		states[string(ev.Kind)+" "+ev.Key] = p.State
		return nil
	}); err != nil {
		s.t.Fatalf("read the ledger's events: %v", err)
	}
	return states
}

// settle waits for the fake to finish, reads the requests made since the
// last command and the ledger's states, and checks the invariants that
// hold after any command:
//
//   - every request is for a key the CRM exported, with a body equal to a
//     content of that key that may be sent (never a correction of a row
//     Mallcoo has, never another amount or card ID);
//   - no request for a key the ledger held as sent before the command;
//   - no request for an uncertain event of a kind not safe to resend
//     (grade, bonus, score without score_resend_uncertain) unless a person
//     decided to resend it;
//   - grade changes and points changes, score events too, are accepted
//     (Code 1) at most once per key;
//   - grade and points changes of a member are accepted in event-time order;
//   - the ledger says sent only for what Mallcoo accepted, and knows every
//     event Mallcoo accepted (else it would send it again);
//   - no event is in flight once a command ended (but a killed one).
//
// It returns the requests of the command.
func (s *soak) settle(what string, pre map[string]crmsync.State) []soakReq {
	t := s.t
	s.quiet()
	all := s.api.h.Requests()
	var news []soakReq
	for _, r := range all[s.seen:] {
		if r.Kind == "" || r.HTTPStatus == 0 && r.Message == "" {
			t.Errorf("%s: request to %s unanswered or unknown", what, r.Path)
			continue
		}
		q := soakReq{kind: r.Kind, code: r.Code}
		dec := json.NewDecoder(bytes.NewReader(r.Body))
		dec.UseNumber()
		if err := dec.Decode(&q.body); err != nil {
			t.Errorf("%s: body not JSON: %v: %s", what, err, r.Body)
			continue
		}
		q.id = wireKey(r.Kind, q.body)
		q.code1 = r.HTTPStatus == http.StatusOK && r.Code == 1
		q.ok = q.code1 || r.HTTPStatus == http.StatusOK && r.Code == mallcootest.DefaultDuplicate && r.Kind == crmsync.KindScore
		news = append(news, q)
	}
	s.before, s.seen = s.seen, len(all)
	s.stats.requests += len(news)
	states := s.readStates()

	for _, q := range news {
		id := string(q.kind) + " " + q.id
		if q.kind == crmsync.KindMember {
			if !s.hasMemberCard(q.id) || len(q.body) != 1 {
				t.Errorf("%s: member notice %v: no such member row", what, q.body)
			}
		} else {
			k := s.keys[id]
			if k == nil {
				t.Errorf("%s: request for %s, a key no file holds: %v", what, id, q.body)
				continue
			}
			if !k.matches(q.body) {
				t.Errorf("%s: %s sent as %v; the rows that may be sent: %v", what, id, q.body, k.versions)
			}
			switch pre[id] {
			case crmsync.StateSent:
				t.Errorf("%s: %s sent again though the ledger held it as sent", what, id)
			case crmsync.StateUncertain, crmsync.StateInFlight:
				if !(q.kind == crmsync.KindScore && s.scoreResend) && !s.resend[id] {
					t.Errorf("%s: uncertain %s resent without a person's decision (score_resend_uncertain=%v)", what, id, s.scoreResend)
				}
			}
		}
		if q.code1 {
			s.succ[id]++
			s.stats.sent++
			if s.succ[id] > 1 && q.kind != crmsync.KindMember { // a member's notices of several days share its card
				t.Errorf("%s: %s accepted by Mallcoo %d times", what, id, s.succ[id])
			}
			if q.kind.BlocksLane() {
				s.checkLane(what, q)
			}
		}
		if q.ok {
			s.okAny[id] = true
		}
		if q.ok && !q.code1 {
			s.stats.already++
		}
	}
	for _, q := range news {
		delete(s.resend, string(q.kind)+" "+q.id)
	}
	for key, st := range states {
		if st == crmsync.StateInFlight && !strings.HasPrefix(what, "killed ") {
			t.Errorf("%s: %s is in flight in the ledger after the command ended", what, key)
		}
		kind, k, _ := strings.Cut(key, " ")
		wid := s.wireID(crmsync.Kind(kind), k)
		if st == crmsync.StateSent && !s.okAny[wid] {
			t.Errorf("%s: the ledger holds %s as sent; Mallcoo never accepted it", what, key)
		}
	}
	for id := range s.okAny {
		if strings.HasPrefix(id, string(crmsync.KindMember)+" ") {
			continue
		}
		if states[id] == crmsync.StateNone || states[id] == crmsync.StateFailed && crmsync.Kind(strings.Fields(id)[0]).BlocksLane() {
			t.Errorf("%s: Mallcoo accepted %s; the ledger holds it as %q (it would be sent again)", what, id, states[id])
		}
	}
	s.states = states
	return news
}

// checkLane checks that an accepted grade or points change is not older
// than one accepted before for its member.
func (s *soak) checkLane(what string, q soakReq) {
	k := s.keys[string(q.kind)+" "+q.id]
	if k == nil {
		return
	}
	lane := string(q.kind) + " " + k.card
	prev := s.lanes[lane]
	if k.time < prev {
		s.t.Errorf("%s: %s (%s) accepted after a later event of its member (%s)", what, q.id, k.time, prev)
	}
	if k.time > prev {
		s.lanes[lane] = k.time
	}
}

func (s *soak) hasMemberCard(card string) bool {
	for _, c := range soakCards {
		if c == card {
			return true
		}
	}
	return false
}

// matches reports whether body is exactly one of the contents of k that
// may be sent: every field written (IDs as JSON strings, amounts as the
// same decimal, Desc URL-encoded), nothing else but empty fields.
func (k *soakKey) matches(body map[string]any) bool {
	for _, v := range k.versions {
		if sameBody(v, body) {
			return true
		}
	}
	return false
}

func sameBody(want map[string]string, body map[string]any) bool {
	for f, got := range body {
		w, ok := want[f]
		if !ok || w == "" {
			if got == nil || got == "" {
				continue
			}
			return false
		}
		switch g := got.(type) {
		case json.Number:
			a, ok1 := new(big.Rat).SetString(w)
			b, ok2 := new(big.Rat).SetString(string(g))
			if !ok1 || !ok2 || a.Cmp(b) != 0 {
				return false
			}
		case string:
			if f == "Desc" {
				d, err := url.QueryUnescape(g)
				if err != nil || d != w {
					return false
				}
			} else if g != w || soakNumeric[f] {
				return false
			}
		default:
			return false
		}
	}
	for f, w := range want {
		if _, ok := body[f]; !ok && w != "" {
			return false
		}
	}
	return true
}

// account checks one command's results CSV, -json summary, status and
// exit code against the rows it read and the requests it made:
//
//   - one line per row written, no row missing, none twice;
//   - an invalid row is invalid on its column; the second copy of a row in
//     one night is a duplicate;
//   - a row whose key the ledger held as sent is unchanged when it is the
//     content Mallcoo has, changed when not;
//   - a row rejected before, read again as it was, is rejected (not resent);
//   - an uncertain event not safe to resend stays uncertain;
//   - sent means Mallcoo accepted it in this command; rejected means
//     Mallcoo answered another Code now or before; failed, uncertain and
//     blocked only where the night gave a reason;
//   - the counts of -json, of the results CSV and of status agree, and the
//     exit code is what they say.
func (s *soak) account(what string, code int, sum soakSummary, results string, rows []soakRow, fileProblems int, pre map[string]crmsync.State, news []soakReq) {
	t := s.t
	f, err := os.Open(results)
	if err != nil {
		t.Errorf("%s: no results CSV: %v", what, err)
		return
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Errorf("%s: results CSV: %v", what, err)
		return
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[strings.TrimPrefix(h, "\ufeff")] = i
	}
	type at struct {
		file string
		row  int
	}
	byRow := map[at]*soakRow{}
	for i := range rows {
		byRow[at{rows[i].file, rows[i].row}] = &rows[i]
	}
	sentNow, otherNow := map[string]bool{}, map[string]int{}
	for _, q := range news {
		id := string(q.kind) + " " + q.id
		if q.ok {
			sentNow[id] = true
		} else if q.code != 0 {
			otherNow[id] = q.code
		}
	}
	counts := map[crmsync.Outcome]int{}
	needsPerson := false
	seen := map[at]bool{}
	backlog := 0
	calm := s.trouble == "calm" || s.trouble == "empty" || s.trouble == "slow"
	for _, rec := range recs[1:] {
		get := func(name string) string { return rec[col[name]] }
		n, _ := strconv.Atoi(get("row"))
		a := at{filepath.Base(get("file")), n}
		out := crmsync.Outcome(get("outcome"))
		kind := crmsync.Kind(get("kind"))
		counts[out]++
		s.stats.outcomes[out]++
		if out != crmsync.OutcomeSent && out != crmsync.OutcomeUnchanged && out != crmsync.OutcomeSkipped {
			needsPerson = true
		}
		id := string(kind) + " " + get("key")
		wid := s.wireID(kind, get("key"))
		bad := func(format string, args ...any) {
			t.Errorf("%s: %s row %d (%s): %s\n\tresults: %q", what, a.file, a.row, id, fmt.Sprintf(format, args...), rec)
		}
		r := byRow[a]
		if get("file") == "ledger" {
			backlog++ // an event of the backlog the command sent (blocked before, its blocker cleared)
		} else if rows != nil {
			if r == nil {
				bad("outcome %s for a row never written", out)
				continue
			}
			if seen[a] {
				bad("listed twice")
			}
			seen[a] = true
		}
		switch {
		case r != nil && r.badCol != "":
			if out != crmsync.OutcomeInvalid || get("column") != r.badCol {
				bad("outcome %s on column %q, want invalid on %s", out, get("column"), r.badCol)
			}
			continue
		case r != nil && r.dup:
			if out != crmsync.OutcomeDuplicate {
				bad("the second copy of a row this night: outcome %s, want duplicate", out)
			}
			continue
		case out == crmsync.OutcomeInvalid || out == crmsync.OutcomeDuplicate:
			bad("outcome %s (column %q, %s) for a valid row", out, get("column"), get("reason"))
			continue
		}
		if r != nil && r.k != nil && id != string(r.k.kind)+" "+r.k.key {
			bad("key %s, want %s %s", id, r.k.kind, r.k.key)
		}
		if r != nil && r.k != nil {
			// What the ledger held before tells what must happen.
			same := s.okAny[wid] && r.k.kind != crmsync.KindMember && s.lastBody(id, true) != nil && sameBody(r.cells, s.lastBody(id, true))
			switch p := pre[id]; {
			case p == crmsync.StateSent && r.k.kind != crmsync.KindMember && same:
				if out != crmsync.OutcomeUnchanged {
					bad("the content Mallcoo has, ledger sent: outcome %s, want unchanged", out)
				}
			case p == crmsync.StateSent && r.k.kind != crmsync.KindMember:
				if out != crmsync.OutcomeChanged {
					bad("other content than Mallcoo has: outcome %s, want changed", out)
				}
			case p == crmsync.StateSent:
				if out != crmsync.OutcomeUnchanged {
					bad("member notice sent before: outcome %s, want unchanged", out)
				}
			case p == crmsync.StateRejected && s.lastBody(id, false) != nil && sameBody(r.cells, s.lastBody(id, false)):
				if out != crmsync.OutcomeRejected {
					bad("rejected before, read again as it was: outcome %s, want rejected", out)
				}
			case (p == crmsync.StateUncertain || p == crmsync.StateInFlight) && !r.k.kind.SafeToResendWith(s.scoreResend) && !s.resend[id]:
				if out != crmsync.OutcomeUncertain && out != crmsync.OutcomeBlocked {
					bad("uncertain before, not safe to resend: outcome %s, want uncertain", out)
				}
			}
		}
		switch out {
		case crmsync.OutcomeSent:
			if !sentNow[wid] {
				bad("sent, but Mallcoo accepted no request for it in this command")
			}
		case crmsync.OutcomeRejected:
			if c, ok := otherNow[wid]; ok && strconv.Itoa(c) != get("mallcoo_code") {
				bad("rejected with Code %s, Mallcoo answered %d", get("mallcoo_code"), c)
			}
			if _, ok := otherNow[wid]; !ok && pre[id] != crmsync.StateRejected {
				bad("rejected, but Mallcoo rejected no request for it")
			}
		case crmsync.OutcomeFailed, crmsync.OutcomeUncertain:
			if calm && pre[id] != crmsync.StateUncertain && pre[id] != crmsync.StateInFlight {
				bad("%s on a night the API behaved", out)
			}
		case crmsync.OutcomeBlocked:
			if !kind.BlocksLane() {
				bad("blocked: not a kind whose lane blocks")
			}
		case crmsync.OutcomeUnchanged, crmsync.OutcomeChanged, crmsync.OutcomeSkipped:
			if r == nil {
				bad("%s for an event of the backlog", out)
			}
		default:
			bad("outcome %q", out)
		}
		// What the ledger holds after the command says the same.
		wantState := map[crmsync.Outcome]crmsync.State{
			crmsync.OutcomeSent: crmsync.StateSent, crmsync.OutcomeFailed: crmsync.StateFailed, crmsync.OutcomeUncertain: crmsync.StateUncertain,
			crmsync.OutcomeBlocked: crmsync.StateBlocked, crmsync.OutcomeRejected: crmsync.StateRejected,
			crmsync.OutcomeUnchanged: crmsync.StateSent, crmsync.OutcomeChanged: crmsync.StateSent,
		}
		if w, ok := wantState[out]; ok && s.states[id] != w {
			bad("outcome %s, the ledger holds %q, want %q", out, s.states[id], w)
		}
	}
	for _, r := range rows {
		if !seen[at{r.file, r.row}] {
			t.Errorf("%s: %s row %d (%v) is not in the results CSV: lost without a word", what, r.file, r.row, r.cells)
		}
	}
	if rows != nil && sum.Rows != len(rows)+backlog {
		t.Errorf("%s: -json rows %d, %d rows written and %d of the backlog", what, sum.Rows, len(rows), backlog)
	}
	if fmt.Sprint(counts) != fmt.Sprint(nonZero(sum.Counts)) {
		t.Errorf("%s: results CSV counts %v, -json counts %v", what, counts, sum.Counts)
	}
	problems := 0
	for _, f := range sum.Files {
		if f.Code != "" {
			problems++
			if f.Code != "header" {
				t.Errorf("%s: file problem %s in %s", what, f.Code, f.Path)
			}
		}
	}
	if problems != fileProblems {
		t.Errorf("%s: %d file problems, want %d: %+v", what, problems, fileProblems, sum.Files)
	}
	want := crmsync.ExitOK
	if needsPerson || problems > 0 {
		want = crmsync.ExitNeedsPerson
	}
	if code != want && !(s.trouble == "systemic" && code == crmsync.ExitFailed) {
		t.Errorf("%s: exit %d, want %d (counts %v, %d file problems)", what, code, want, counts, problems)
	}
	st := s.status(false)
	for _, run := range st.Runs {
		if run.ID == sum.RunID && fmt.Sprint(nonZero(run.Counts)) != fmt.Sprint(counts) {
			t.Errorf("%s: status says run %d counted %v, the results CSV %v", what, run.ID, run.Counts, counts)
		}
	}
}

// wireKey is the event key a request body gives: the ledger's key but for
// member notices (the card alone: the business date is not sent).
func wireKey(kind crmsync.Kind, body map[string]any) string {
	str := func(f string) string { v, _ := body[f].(string); return v }
	switch kind {
	case crmsync.KindScore:
		return str("TransID")
	case crmsync.KindGrade:
		return str("GradeChangeID")
	case crmsync.KindBonus:
		return str("RefID") + "|" + str("ThirdPartyCardID")
	case crmsync.KindVerify:
		return str("RefID")
	case crmsync.KindMember:
		return str("ThirdPartyCardID")
	}
	return ""
}

// lastBody returns the body of the last request for id made before the
// last command (accepted ones only, when ok).
func (s *soak) lastBody(id string, ok bool) map[string]any {
	all := s.api.h.Requests()[:s.before]
	for i := len(all) - 1; i >= 0; i-- {
		r := all[i]
		if r.Kind == "" || (ok && !(r.Code == 1 || r.Code == mallcootest.DefaultDuplicate && r.Kind == crmsync.KindScore)) || r.Code == 0 {
			continue
		}
		var b map[string]any
		dec := json.NewDecoder(bytes.NewReader(r.Body))
		dec.UseNumber()
		if dec.Decode(&b) != nil {
			continue
		}
		if r.Kind != crmsync.KindMember && string(r.Kind)+" "+wireKey(r.Kind, b) == id {
			return b
		}
	}
	return nil
}

func nonZero(m map[crmsync.Outcome]int) map[crmsync.Outcome]int {
	out := map[crmsync.Outcome]int{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

// drain is the documented recovery after the last night: status, resolve
// what is held (delivered or resend, as Mallcoo's record says; rejected,
// changed and never-fixed rows dismissed), retry, until the backlog is
// empty; then every event the CRM exported that may be sent was accepted
// exactly once.
func (s *soak) drain() {
	t := s.t
	s.writeConfig(0)
	s.trouble = "calm"
	for round := 0; ; round++ {
		if round == 6 {
			t.Fatalf("the backlog is not empty after %d rounds of resolve and retry: %v", round, s.status(false).Outstanding.ByState)
		}
		s.resolveUncertain()
		st := s.status(false)
		dismiss := map[crmsync.Kind][]string{}
		for _, it := range st.Outstanding.Items {
			switch it.State {
			case string(crmsync.StateRejected), string(crmsync.OutcomeChanged), string(crmsync.OutcomeInvalid):
				dismiss[it.Kind] = append(dismiss[it.Kind], it.Key)
			}
		}
		for kind, keys := range dismiss {
			pre := s.snapshot()
			s.command(append([]string{"resolve", "-config", s.conf, "-ledger", s.db, "-kind", string(kind), "-as", "dismiss", "-reason", "soak: end"}, keys...)...)
			s.settle("dismiss", pre)
			s.stats.decisions["dismiss"] += len(keys)
		}
		s.retry()
		st = s.status(false)
		if st.Outstanding.Total == 0 {
			break
		}
	}
	// Every event of the CRM that may be sent and was not dismissed
	// arrived once.
	for _, k := range s.sortedKeys() {
		id := string(k.kind) + " " + k.key
		st := s.states[id]
		if k.kind == crmsync.KindMember {
			if st != crmsync.StateSent || !s.okAny[s.wireID(k.kind, k.key)] {
				t.Errorf("end: member notice %s left %q (Mallcoo accepted a notice of the card: %v)", id, st, s.okAny[s.wireID(k.kind, k.key)])
			}
			continue
		}
		switch {
		case st == crmsync.StateDismissed:
		case st == crmsync.StateNone && k.invalid:
		case st != crmsync.StateSent:
			t.Errorf("end: %s left %q", id, st)
		case !s.okAny[id]:
			t.Errorf("end: %s sent per the ledger, never accepted by Mallcoo", id)
		}
	}
}
