package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/mallcoo"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/report"
)

// fileConfig is the -config file (TOML). Every key is optional; flags beat
// the environment, which beats the file, which beats the defaults.
//
//	base_url    = "https://openapi10.mallcoo.cn"
//	ledger      = "/var/lib/crmsync/crmsync.db"
//	report_dir  = "/var/lib/crmsync/reports"
//	concurrency = 8
//	rate        = 50          # requests per second, 0 = unlimited
//	timeout     = "10s"
//	retries     = 3
//	lang        = "zh"
//	encoding    = "auto"      # CSV encoding: auto, utf-8, gbk, gb18030
//	max_rows_per_file = 2000000   # data rows read from one file, then a file problem
//	max_cell_bytes    = 65536     # bytes in one cell (a CSV row: 64 such cells)
//	already_delivered_codes = []  # business Codes that mean "already delivered"
//	max_rows_per_run = 10000000   # rows over all files; more ends the run before sending
//	report_rows = 200000          # rows a report lists in full; above: the rows that need a person, every row in the results CSV; 0 = no limit
//	systemic_codes = []           # business Codes that mean credentials refused: stop
//
//	[credentials]                 # prefer the environment; never put keys in flags
//	app_id = "…"
//	public_key = "…"
//	private_key_file = "/etc/crmsync/private.key"
//
//	[mappings.PayType]            # a mall's own words → Mallcoo codes
//	"微信" = 12
//	"支付宝" = 6
//
//	strict_datetime = false       # a date alone where a datetime is due: true = invalid, false = warning
//	score_resend_uncertain = false  # true once Mallcoo confirms a repeated TransID is refused or ignored
//	retention = "90d"             # per-row run results kept this long (crmsync prune; pruned at the end of each run)
//
//	[kinds.score]                 # fields this mall requires beyond the vendor's
//	required = ["TradeSerialNo", "PosID"]
type fileConfig struct {
	BaseURL               string                    `toml:"base_url"`
	Ledger                string                    `toml:"ledger"`
	ReportDir             string                    `toml:"report_dir"`
	Concurrency           *int                      `toml:"concurrency"`
	Rate                  *float64                  `toml:"rate"`
	Timeout               string                    `toml:"timeout"`
	Retries               *int                      `toml:"retries"`
	Lang                  string                    `toml:"lang"`
	Encoding              string                    `toml:"encoding"`
	MaxRowsPerFile        *int                      `toml:"max_rows_per_file"`
	MaxCellBytes          *int                      `toml:"max_cell_bytes"`
	AlreadyDeliveredCodes []int                     `toml:"already_delivered_codes"`
	SystemicCodes         []int                     `toml:"systemic_codes"`
	MaxRowsPerRun         *int                      `toml:"max_rows_per_run"`
	ReportRows            *int                      `toml:"report_rows"`
	Credentials           configCredentials         `toml:"credentials"`
	Mappings              map[string]map[string]int `toml:"mappings"`
	StrictDateTime        bool                      `toml:"strict_datetime"`
	ScoreResendUncertain  bool                      `toml:"score_resend_uncertain"`
	Retention             string                    `toml:"retention"` // per-row results kept, e.g. "90d"; see prune.go
	Kinds                 map[string]kindSettings   `toml:"kinds"`
	// Mall names the mall this ledger serves: on every report, terminal
	// summary and notification.
	Mall string `toml:"mall"`
	// AllowEmpty: a night without input files is not a problem.
	AllowEmpty bool `toml:"allow_empty"`
	// MaskPersonal masks card IDs and mobiles in the reports that travel
	// (default true).
	MaskPersonal *bool `toml:"mask_personal"`
	// FileMode is the mode of the files crmsync creates: "0600" (default)
	// or "0640" for a group of operators.
	FileMode   string            `toml:"file_mode"`
	Notify     []notify.Config   `toml:"notify"`
	Columns    map[string]string `toml:"columns"` // a mall's header → field, every kind
	ResultsDir string            `toml:"results_dir"`

	// path is the file read ("" when none); origin says, by flag name,
	// where applyConfig took each setting from (for `crmsync config`).
	path   string
	origin map[string]string
}

// kindSettings are the settings of one kind, [kinds.<kind>].
type kindSettings struct {
	// Required lists the optional fields this mall requires.
	Required []string `toml:"required"`
	// Columns maps this kind's headers in the mall's files to field names.
	Columns map[string]string `toml:"columns"`
}

type configCredentials struct {
	AppID          string `toml:"app_id"`
	PublicKey      string `toml:"public_key"`
	PrivateKey     string `toml:"private_key"`
	PrivateKeyFile string `toml:"private_key_file"`
}

// configError is a mistake in a -config file: where it is and what to do.
type configError struct {
	Path    string
	Line    int    // 0 when unknown
	Key     string // e.g. "concurrency", "mappings.PayType"
	Problem string
}

func (e *configError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "config %s: ", e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}

// settingType is the TOML type a top-level setting takes.
type settingType int

const (
	tString settingType = iota
	tInt
	tNumber
	tCodes
	tTable
	tBool
	tNotify
)

// settings are the top-level keys of the file and their types.
var settings = map[string]settingType{
	"base_url": tString, "ledger": tString, "report_dir": tString, "timeout": tString,
	"lang": tString, "encoding": tString, "results_dir": tString,
	"concurrency": tInt, "retries": tInt, "rate": tNumber, "max_rows_per_run": tInt,
	"max_rows_per_file": tInt, "max_cell_bytes": tInt, "report_rows": tInt,
	"already_delivered_codes": tCodes, "systemic_codes": tCodes,
	"credentials": tTable, "mappings": tTable, "kinds": tTable, "columns": tTable,
	"strict_datetime": tBool, "score_resend_uncertain": tBool,
	"mall": tString, "allow_empty": tBool, "mask_personal": tBool, "file_mode": tString,
	"notify":    tNotify,
	"retention": tString,
}

var credentialKeys = []string{"app_id", "public_key", "private_key", "private_key_file"}

var typeWant = map[settingType]string{
	tString: `text in quotes, such as "…"`,
	tInt:    "a whole number without quotes, such as 8",
	tNumber: "a number without quotes, such as 50 or 0.5",
	tCodes:  "a list of whole numbers, such as [307, 30018]",
	tTable:  "a table, such as [credentials] on a line of its own",
	tBool:   "true or false, without quotes",
	tNotify: "a [[notify]] table per destination",
}

// loadConfig reads a -config file strictly: an unknown key, a value of the
// wrong type or out of range is a mistake to report with its line, not to
// ignore.
func loadConfig(path string) (*fileConfig, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w (check the -config path or $CRMSYNC_CONFIG)", err)
	}
	lines := strings.Split(string(text), "\n")
	cerr := func(key, format string, a ...any) error {
		return &configError{Path: path, Line: lineOf(lines, key), Key: key, Problem: fmt.Sprintf(format, a...)}
	}

	// First the syntax and every key's type, on the generic form, so a
	// mistake is named by its key and line rather than by a Go type.
	var raw map[string]any
	if _, err := toml.Decode(string(text), &raw); err != nil {
		return nil, syntaxError(path, lines, err)
	}
	if err := checkTypes(raw, cerr); err != nil {
		return nil, err
	}

	var c fileConfig
	md, err := toml.Decode(string(text), &c)
	if err != nil {
		return nil, syntaxError(path, lines, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, cerr(und[0].String(), "unknown setting")
	}
	c.path = path
	c.resolvePaths(filepath.Dir(path))
	if err := c.check(cerr); err != nil {
		return nil, err
	}
	return &c, nil
}

// checkTypes checks the keys and value types of a decoded file.
func checkTypes(raw map[string]any, cerr func(key, format string, a ...any) error) error {
	keys := sortedKeys(raw)
	for _, k := range keys {
		t, ok := settings[k]
		if !ok {
			return cerr(k, "unknown setting; the settings are %s", strings.Join(sortedKeys(settings), ", "))
		}
		v := raw[k]
		bad := func() error {
			return cerr(k, "the value is %s: want %s", tomlType(v), typeWant[t])
		}
		switch t {
		case tString:
			if _, ok := v.(string); !ok {
				return bad()
			}
		case tInt:
			if _, ok := v.(int64); !ok {
				return bad()
			}
		case tNumber:
			switch v.(type) {
			case int64, float64:
			default:
				return bad()
			}
		case tBool:
			if _, ok := v.(bool); !ok {
				return bad()
			}
		case tCodes:
			list, ok := v.([]any)
			if !ok {
				return bad()
			}
			for _, e := range list {
				if n, ok := e.(int64); !ok || n < math.MinInt32 || n > math.MaxInt32 {
					return cerr(k, "an item is %s, not a business Code: want %s", tomlType(e), typeWant[t])
				}
			}
		case tNotify:
			list, ok := v.([]map[string]any)
			if !ok {
				return bad()
			}
			for i, table := range list {
				if err := notify.CheckTable(table); err != nil {
					var fe *notify.FieldError
					if errors.As(err, &fe) {
						return cerr("notify."+fe.Field, "[[notify]] number %d: %s", i+1, fe.Problem)
					}
					return cerr("notify", "[[notify]] number %d: %v", i+1, err)
				}
			}
		case tTable:
			m, ok := v.(map[string]any)
			if !ok {
				return bad()
			}
			if k == "credentials" {
				for _, ck := range sortedKeys(m) {
					if !contains(credentialKeys, ck) {
						return cerr(k+"."+ck, "unknown setting; [credentials] takes %s", strings.Join(credentialKeys, ", "))
					}
					if _, ok := m[ck].(string); !ok {
						return cerr(k+"."+ck, "the value is %s: want %s", tomlType(m[ck]), typeWant[tString])
					}
				}
				continue
			}
			if k == "kinds" {
				if err := checkKindTables(m, cerr); err != nil {
					return err
				}
				continue
			}
			if k == "columns" {
				if err := checkColumns("columns", "", m, cerr); err != nil {
					return err
				}
				continue
			}
			for _, field := range sortedKeys(m) {
				table, ok := m[field].(map[string]any)
				if !ok {
					return cerr("mappings."+field, "want a table of words and codes, such as [mappings.%s] then \"微信\" = 12", field)
				}
				for _, word := range sortedKeys(table) {
					code, ok := table[word].(int64)
					if !ok || code < math.MinInt32 || code > math.MaxInt32 {
						return cerr("mappings."+field+"."+strconv.Quote(word), "the value is %s, not a code: want the whole number Mallcoo gave for %q, such as 12 (without quotes)", tomlType(table[word]), word)
					}
				}
			}
		}
	}
	return nil
}

// checkKindTables checks the [kinds.<kind>] tables: a kind's name, and in
// it only required, a list of that kind's field names.
func checkKindTables(m map[string]any, cerr func(key, format string, a ...any) error) error {
	for _, name := range sortedKeys(m) {
		kind, err := crmsync.ParseKind(name)
		if err != nil {
			return cerr("kinds."+name, "no kind is called %s: want one of %s", name, crmsync.KindList())
		}
		table, ok := m[name].(map[string]any)
		if !ok {
			return cerr("kinds."+name, "want a table, such as [kinds.%s] then required = [\"TradeSerialNo\"]", name)
		}
		for _, key := range sortedKeys(table) {
			if key == "columns" {
				cm, ok := table[key].(map[string]any)
				if !ok {
					return cerr("kinds."+name+".columns", "want a table, such as [kinds.%s.columns] then \"会员卡号\" = \"ThirdPartyCardID\"", name)
				}
				if err := checkColumns("kinds."+name+".columns", kind, cm, cerr); err != nil {
					return err
				}
				continue
			}
			if key != "required" {
				return cerr("kinds."+name+"."+key, "unknown setting; [kinds.%s] takes required and columns", name)
			}
			list, ok := table[key].([]any)
			if !ok {
				return cerr("kinds."+name+".required", "the value is %s: want a list of field names, such as [\"TradeSerialNo\", \"PosID\"]", tomlType(table[key]))
			}
			names := make([]string, 0, len(list))
			for _, e := range list {
				f, ok := e.(string)
				if !ok {
					return cerr("kinds."+name+".required", "an item is %s, not a field name: want text in quotes, such as \"PosID\"", tomlType(e))
				}
				names = append(names, f)
			}
			if _, err := mallcoo.SpecFor(kind, names); err != nil {
				return cerr("kinds."+name+".required", "%v", err)
			}
		}
	}
	return nil
}

// checkColumns checks a [columns] table (kind "") or [kinds.<kind>.columns]:
// each header names a field (by its API name) of that kind, or of some kind.
func checkColumns(key string, kind crmsync.Kind, m map[string]any, cerr func(key, format string, a ...any) error) error {
	for _, header := range sortedKeys(m) {
		k := key + "." + strconv.Quote(header)
		field, ok := m[header].(string)
		if !ok {
			return cerr(k, "the value is %s: want a field name in quotes, such as \"ReturnTime\"", tomlType(m[header]))
		}
		found := false
		for _, kd := range crmsync.Kinds {
			if (kind == "" || kd == kind) && mallcoo.SpecOf(kd).Field(field) != nil {
				found = true
			}
		}
		if !found && field != "EventID" {
			where := "any kind"
			if kind != "" {
				where = string(kind)
			}
			return cerr(k, "no field of %s is called %s: want a field's API name, as in the import template (e.g. ReturnTime)", where, field)
		}
	}
	return nil
}

// columnAliases returns [columns] (under kind "") and each kind's
// [kinds.<kind>.columns], for the reader; nil when none.
func (c *fileConfig) columnAliases() map[crmsync.Kind]map[string]string {
	out := map[crmsync.Kind]map[string]string{}
	if len(c.Columns) > 0 {
		out[""] = c.Columns
	}
	for name, k := range c.Kinds {
		if kind, err := crmsync.ParseKind(name); err == nil && len(k.Columns) > 0 {
			out[kind] = k.Columns
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// requiredFields returns the [kinds] required lists by kind (nil when
// none), for the reader.
func (c *fileConfig) requiredFields() map[crmsync.Kind][]string {
	if len(c.Kinds) == 0 {
		return nil
	}
	out := map[crmsync.Kind][]string{}
	for name, k := range c.Kinds {
		if kind, err := crmsync.ParseKind(name); err == nil && len(k.Required) > 0 {
			out[kind] = k.Required
		}
	}
	return out
}

// check checks the values of a file whose types are right.
func (c *fileConfig) check(cerr func(key, format string, a ...any) error) error {
	if c.BaseURL != "" {
		if err := checkBaseURL(c.BaseURL); err != nil {
			return cerr("base_url", "%v", err)
		}
	}
	if c.Concurrency != nil {
		if err := checkConcurrency(*c.Concurrency); err != nil {
			return cerr("concurrency", "%v", err)
		}
	}
	if c.Rate != nil {
		if err := checkRate(*c.Rate); err != nil {
			return cerr("rate", "%v", err)
		}
	}
	if c.Retries != nil {
		if err := checkRetries(*c.Retries); err != nil {
			return cerr("retries", "%v", err)
		}
	}
	if c.MaxRowsPerRun != nil && *c.MaxRowsPerRun < 1 {
		return cerr("max_rows_per_run", "want 1 or more rows")
	}
	if c.Timeout != "" {
		d, err := time.ParseDuration(c.Timeout)
		if err == nil {
			err = checkTimeout(d)
		} else {
			err = errors.New(`want a duration such as "10s" or "1m30s"`)
		}
		if err != nil {
			return cerr("timeout", "%v", err)
		}
	}
	if c.Lang != "" {
		if err := checkLang(c.Lang); err != nil {
			return cerr("lang", "%v", err)
		}
	}
	if c.Encoding != "" {
		if err := checkEncoding(c.Encoding); err != nil {
			return cerr("encoding", "%v", err)
		}
	}
	if c.Retention != "" {
		if _, err := parseRetention(c.Retention); err != nil {
			return cerr("retention", "%v", err)
		}
	}
	if c.FileMode != "" {
		if _, err := parseFileMode(c.FileMode); err != nil {
			return cerr("file_mode", "%v", err)
		}
	}
	if _, err := notify.NewAll(c.Notify); err != nil {
		return cerr("notify", "%v", err)
	}
	if c.MaxRowsPerFile != nil && *c.MaxRowsPerFile < 1 {
		return cerr("max_rows_per_file", "%d: want 1 or more data rows per file (the default is %d)", *c.MaxRowsPerFile, importer.DefaultMaxRowsPerFile)
	}
	if c.MaxCellBytes != nil && *c.MaxCellBytes < 1 {
		return cerr("max_cell_bytes", "%d: want 1 or more bytes per cell (the default is %d)", *c.MaxCellBytes, importer.DefaultMaxCellBytes)
	}
	for _, code := range c.AlreadyDeliveredCodes {
		if code == 1 {
			return cerr("already_delivered_codes", "1 is Mallcoo's success already; list only other Codes")
		}
	}
	for _, code := range c.SystemicCodes {
		if code == 1 {
			return cerr("systemic_codes", "1 is Mallcoo's success; list only Codes that mean the credentials or the setup are wrong")
		}
	}
	return c.checkMappings(cerr)
}

// checkMappings checks that each table names an integer field of some
// kind and that words are not empty, and gives each table its field's own
// spelling (the reader matches names without regard to case).
func (c *fileConfig) checkMappings(cerr func(key, format string, a ...any) error) error {
	if len(c.Mappings) == 0 {
		return nil
	}
	fields := mappableFields()
	out := map[string]map[string]int{}
	for _, name := range sortedKeys(c.Mappings) {
		f := fields[strings.ToLower(name)]
		if f == nil {
			return cerr("mappings."+name, "no integer field is called %s; mappings apply to %s", name, mappableNames())
		}
		if _, dup := out[f.Name]; dup {
			return cerr("mappings."+name, "a second table for %s (field names ignore case): merge them", f.Name)
		}
		words := map[string]string{}
		for _, word := range sortedKeys(c.Mappings[name]) {
			code := c.Mappings[name][word]
			key := "mappings." + name + "." + strconv.Quote(word)
			w := strings.ToLower(strings.TrimSpace(word))
			if w == "" {
				return cerr(key, "an empty word maps nothing: remove it (an empty cell stays empty)")
			}
			if prev, dup := words[w]; dup {
				return cerr(key, "the same word as %q (words ignore case and spaces): keep one", prev)
			}
			words[w] = word
			if f.Closed && !enumHas(f.Enum, code) {
				return cerr(key, "not a code %s takes: it takes only %s", f.Name, enumText(f.Enum))
			}
		}
		out[f.Name] = c.Mappings[name]
	}
	c.Mappings = out
	return nil
}

// mappableFields returns, by lower-case name, every integer field of every
// kind, list items included: the fields a mapping table may feed.
func mappableFields() map[string]*mallcoo.Field {
	m := map[string]*mallcoo.Field{}
	add := func(fs []mallcoo.Field) {
		for i := range fs {
			if fs[i].Type == mallcoo.Int {
				if _, ok := m[strings.ToLower(fs[i].Name)]; !ok {
					m[strings.ToLower(fs[i].Name)] = &fs[i]
				}
			}
		}
	}
	for _, k := range crmsync.Kinds {
		s := mallcoo.SpecOf(k)
		add(s.Fields)
		for _, name := range sortedKeys(s.Items) {
			add(s.Items[name].Fields)
		}
	}
	return m
}

func mappableNames() string {
	var names []string
	for _, f := range mappableFields() {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func enumHas(enum []mallcoo.EnumValue, code int) bool {
	for _, e := range enum {
		if e.Code == code {
			return true
		}
	}
	return false
}

func enumText(enum []mallcoo.EnumValue) string {
	parts := make([]string, len(enum))
	for i, e := range enum {
		parts[i] = fmt.Sprintf("%d (%s)", e.Code, e.Label)
	}
	return strings.Join(parts, ", ")
}

// The checks of single settings, shared by the file and the flags; each
// error says what to write instead.

func checkConcurrency(n int) error {
	if n < 1 || n > 256 {
		return errors.New("want 1 to 256 members sent in parallel")
	}
	return nil
}

func checkRate(r float64) error {
	if r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		return errors.New("want 0 (unlimited) or more requests per second")
	}
	return nil
}

func checkRetries(n int) error {
	if n < 0 {
		return errors.New("want 0 (no retries) or more")
	}
	return nil
}

func checkTimeout(d time.Duration) error {
	if d <= 0 {
		return errors.New(`want a positive duration such as "10s"`)
	}
	return nil
}

func checkLang(s string) error {
	if s != "zh" && s != "en" {
		return errors.New(`want "zh" or "en"`)
	}
	return nil
}

func checkEncoding(s string) error {
	switch s {
	case "auto", "utf-8", "utf8", "gbk", "gb18030":
		return nil
	}
	return errors.New(`want "auto", "utf-8", "gbk" or "gb18030"`)
}

func checkBaseURL(s string) error { return mallcoo.CheckBaseURL(s) }

// checkRunSettings checks the merged settings of a command that reads or
// sends, naming the flags (a value from the file or the environment was
// checked where it was read).
func checkRunSettings(encoding, lang string, send *sendFlags) error {
	if err := checkEncoding(encoding); err != nil {
		return usagef("-encoding %q: %v", encoding, err)
	}
	if err := checkLang(lang); err != nil {
		return usagef("-lang %q: %v", lang, err)
	}
	if err := checkConcurrency(send.concurrency); err != nil {
		return usagef("-concurrency %d: %v", send.concurrency, err)
	}
	if err := checkRate(send.rate); err != nil {
		return usagef("-rate %v: %v", send.rate, err)
	}
	if err := checkTimeout(send.timeout); err != nil {
		return usagef("-timeout %v: %v", send.timeout, err)
	}
	if err := checkRetries(send.retries); err != nil {
		return usagef("-retries %d: %v", send.retries, err)
	}
	if send.baseURL != "" {
		if err := checkBaseURL(send.baseURL); err != nil {
			return usagef("-base-url %q: %v", send.baseURL, err)
		}
	}
	return nil
}

// syntaxError is a file that is not valid TOML, or not readable into the
// settings, said by line and, when that line sets a known setting, key.
// The parser's own message is not shown: it quotes the text it stumbled
// on, which may be a secret (a private key pasted over several lines).
func syntaxError(path string, lines []string, err error) error {
	line := 0
	var pe toml.ParseError
	if errors.As(err, &pe) {
		line = pe.Position.Line
	}
	ce := &configError{Path: path, Line: line, Problem: "not valid TOML; check the quotes, = and brackets there (text goes in double quotes on one line, or in \"\"\" … \"\"\" over several); the text is not shown, as it may hold a secret"}
	if line >= 1 && line <= len(lines) {
		if k, _, ok := strings.Cut(lines[line-1], "="); ok {
			key := normKey(k)
			if table := tableAt(lines, line); table != "" {
				key = table + "." + key
			}
			if knownKey(key) {
				ce.Key = key
			}
		}
	}
	return ce
}

// tableAt is the [table] in force at line (1-based) of a TOML text.
func tableAt(lines []string, line int) string {
	for i := line - 2; i >= 0; i-- {
		t := strings.TrimSpace(lines[i])
		if strings.HasPrefix(t, "[") {
			if j := strings.LastIndexByte(t, ']'); j > 0 {
				return normKey(strings.Trim(t[:j], "[]"))
			}
		}
	}
	return ""
}

// knownKey reports whether key is a setting of the file (not a word a
// person typed, which might be anything).
func knownKey(key string) bool {
	if _, ok := settings[key]; ok {
		return true
	}
	if c, ok := strings.CutPrefix(key, "credentials."); ok {
		return contains(credentialKeys, c)
	}
	return false
}

// pathless drops the path from a file error: a path set by mistake to the
// key itself must not be shown.
func pathless(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w (the path is not shown)", pe.Op, pe.Err)
	}
	return err
}

// lineOf returns the line (1-based) where key is set in a TOML text, or 0:
// a best effort for messages. key is dotted, words quoted as strconv.Quote
// does ("mappings.PayType.\"微信\"").
func lineOf(lines []string, key string) int {
	want := normKey(key)
	table, prefix := "", 0
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || t[0] == '#' {
			continue
		}
		if t[0] == '[' {
			if j := strings.LastIndexByte(t, ']'); j > 0 {
				table = normKey(strings.Trim(t[:j], "[]"))
			}
			if table == want {
				return i + 1
			}
			if strings.HasPrefix(want, table+".") && prefix == 0 {
				prefix = i + 1
			}
			continue
		}
		k, _, ok := strings.Cut(t, "=")
		if !ok {
			continue
		}
		full := normKey(k)
		if table != "" {
			full = table + "." + full
		}
		if full == want {
			return i + 1
		}
		if strings.HasPrefix(want, full+".") {
			prefix = i + 1 // an inline table holds it
		}
	}
	return prefix
}

// normKey removes quotes and spaces from a dotted TOML key.
func normKey(k string) string {
	return strings.NewReplacer(`"`, "", "'", "", " ", "", "\t", "").Replace(k)
}

func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "text"
	case int64:
		return "a whole number"
	case float64:
		return "a number with a fraction"
	case bool:
		return "true/false"
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	}
	return "a date/time"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// flagValues returns the settings of c as flag values, by flag name.
func (c *fileConfig) flagValues() map[string]string {
	v := map[string]string{}
	put := func(name, val string) {
		if val != "" {
			v[name] = val
		}
	}
	put("base-url", c.BaseURL)
	put("ledger", c.Ledger)
	put("lang", c.Lang)
	put("encoding", c.Encoding)
	put("timeout", c.Timeout)
	if c.AllowEmpty {
		v["allow-empty"] = "true"
	}
	if c.Concurrency != nil {
		v["concurrency"] = strconv.Itoa(*c.Concurrency)
	}
	if c.Rate != nil {
		v["rate"] = strconv.FormatFloat(*c.Rate, 'f', -1, 64)
	}
	if c.Retries != nil {
		v["retries"] = strconv.Itoa(*c.Retries)
	}
	return v
}

// applyConfig loads the file named by the -config flag (or $CRMSYNC_CONFIG)
// and sets every flag the command line left alone from the environment or,
// failing that, from the file. Flags > environment > file > defaults.
func (e *env) applyConfig(fs *flag.FlagSet, path string) (*fileConfig, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if path == "" {
		path = e.getenv("CRMSYNC_CONFIG")
	}
	cfg := &fileConfig{}
	if path != "" {
		c, err := loadConfig(path)
		if err != nil {
			return nil, err
		}
		cfg = c
	}
	cfg.origin = map[string]string{}
	vals := cfg.flagValues()
	for n := range vals {
		cfg.origin[n] = "config file"
	}
	if u := e.getenv("MALLCOO_BASE_URL"); u != "" {
		if err := checkBaseURL(u); err != nil {
			return nil, fmt.Errorf("MALLCOO_BASE_URL: %v (the value is not shown)", err)
		}
		vals["base-url"] = u
		cfg.origin["base-url"] = "env MALLCOO_BASE_URL"
	}
	for _, name := range sortedKeys(vals) {
		if fs.Lookup(name) == nil {
			continue
		}
		if set[name] {
			cfg.origin[name] = "flag -" + name
			continue
		}
		if err := fs.Set(name, vals[name]); err != nil {
			return nil, &configError{Path: path, Key: name, Problem: "not a value -" + name + " takes (the value is not shown)"}
		}
	}
	for name := range set {
		cfg.origin[name] = "flag -" + name
	}
	e.cfg = cfg
	return cfg, nil
}

// credentialSources says where each credential was found: "env NAME",
// "config file …" or "" when nowhere.
type credentialSources struct{ AppID, PublicKey, PrivateKey string }

// resolveCredentials finds the Mallcoo credentials as a run does: each from
// the environment (the private key from MALLCOO_PRIVATE_KEY, else the file
// named by MALLCOO_PRIVATE_KEY_FILE), else from the config file (cfg may be
// nil). It does not check that they are complete; errors are unreadable key
// files and never hold the key.
func (e *env) resolveCredentials(cfg *fileConfig) (mallcoo.Credentials, credentialSources, error) {
	var cr mallcoo.Credentials
	var src credentialSources
	if cfg == nil {
		cfg = &fileConfig{}
	}
	pick := func(name, fromFile, fileKey string, val, from *string) {
		if v := strings.TrimSpace(e.getenv(name)); v != "" {
			*val, *from = v, "env "+name
		} else if fromFile != "" {
			*val, *from = fromFile, "config file "+fileKey
		}
	}
	pick("MALLCOO_APP_ID", cfg.Credentials.AppID, "app_id", &cr.AppID, &src.AppID)
	pick("MALLCOO_PUBLIC_KEY", cfg.Credentials.PublicKey, "public_key", &cr.PublicKey, &src.PublicKey)
	key, err := e.secretFrom("MALLCOO_PRIVATE_KEY")
	if err != nil {
		return cr, src, err
	}
	if cfg.Credentials.PrivateKey != "" && cfg.Credentials.PrivateKeyFile != "" {
		return cr, src, errors.New("config: both private_key and private_key_file are set under [credentials]: keep one (better the file)")
	}
	switch {
	case key != "" && strings.TrimSpace(e.getenv("MALLCOO_PRIVATE_KEY")) != "":
		cr.PrivateKey, src.PrivateKey = key, "MALLCOO_PRIVATE_KEY"
	case key != "":
		cr.PrivateKey, src.PrivateKey = key, "MALLCOO_PRIVATE_KEY_FILE"
	case cfg.Credentials.PrivateKey != "":
		cr.PrivateKey, src.PrivateKey = cfg.Credentials.PrivateKey, "config file private_key"
	case cfg.Credentials.PrivateKeyFile != "":
		k, err := e.readSecretFile(cfg.Credentials.PrivateKeyFile, "config private_key_file")
		if err != nil {
			return cr, src, err
		}
		if cr.PrivateKey = k; cr.PrivateKey != "" {
			src.PrivateKey = "config file private_key_file"
		}
	}
	return cr, src, nil
}

// defaultMaxRowsPerRun caps the rows of a run unless max_rows_per_run says
// otherwise: ten times the biggest nightly export seen, far below what
// would fill a disk with ledger and reports.
const defaultMaxRowsPerRun = 10_000_000

// maxRowsPerRun is the row cap of a run.
func (c *fileConfig) maxRowsPerRun() int {
	if c.MaxRowsPerRun != nil {
		return *c.MaxRowsPerRun
	}
	return defaultMaxRowsPerRun
}

// reader returns the importer's Reader for these settings.
func (c *fileConfig) reader(encoding string, kind crmsync.Kind, allowEmpty bool) *importer.Reader {
	r := &importer.Reader{Encoding: encoding, Kind: kind, Mappings: c.mappingTables(), Required: c.requiredFields(), StrictDateTime: c.StrictDateTime, AllowEmpty: allowEmpty, Columns: c.columnAliases()}
	if c.MaxRowsPerFile != nil {
		r.MaxRowsPerFile = *c.MaxRowsPerFile
	}
	if c.MaxCellBytes != nil {
		r.MaxCellBytes = *c.MaxCellBytes
	}
	return r
}

// mappingTables turns the config's word → code tables into the reader's
// form (code text).
func (c *fileConfig) mappingTables() map[string]map[string]string {
	if len(c.Mappings) == 0 {
		return nil
	}
	out := map[string]map[string]string{}
	for field, m := range c.Mappings {
		t := map[string]string{}
		for word, code := range m {
			t[strings.TrimSpace(word)] = strconv.Itoa(code)
		}
		out[field] = t
	}
	return out
}

// parseFileMode reads file_mode: the files crmsync creates hold members'
// personal data, so only the owner (0600) or the owner and a group of
// operators (0640) may read them.
func parseFileMode(s string) (os.FileMode, error) {
	switch strings.TrimSpace(s) {
	case "", "0600", "600":
		return 0o600, nil
	case "0640", "640":
		return 0o640, nil
	}
	return 0, errors.New(`want "0600" (the owner only) or "0640" (and a group of operators): the files hold members' personal data`)
}

// fileMode is the mode of the files crmsync creates.
func (c *fileConfig) fileMode() os.FileMode {
	if c == nil {
		return 0o600
	}
	m, _ := parseFileMode(c.FileMode) // checked when read
	return m
}

// showPersonal says whether reports show card IDs and mobiles in full.
func (c *fileConfig) showPersonal() bool {
	return c != nil && c.MaskPersonal != nil && !*c.MaskPersonal
}

// resolvePaths makes the file's relative paths relative to the file's own
// folder, not to wherever the command runs: `crmsync status -config
// /etc/crmsync/crmsync.toml` from another folder must find the same ledger,
// not create another.
func (c *fileConfig) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.Ledger)
	abs(&c.ReportDir)
	abs(&c.Credentials.PrivateKeyFile)
	for i := range c.Notify {
		abs(&c.Notify[i].PasswordFile)
	}
}

// reportOptions are the report settings of the file: masking, file mode
// and report_rows (unset: report.DefaultReportRows; 0 or less: no limit).
func (c *fileConfig) reportOptions() report.Options {
	o := report.Options{ShowPersonal: c.showPersonal(), FileMode: c.fileMode()}
	if c.ReportRows != nil {
		o.ReportRows = max(*c.ReportRows, -1)
		if o.ReportRows == 0 {
			o.ReportRows = -1
		}
	}
	return o
}
