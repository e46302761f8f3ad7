package main

import (
	"cmp"
	"encoding"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
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

// fileConfig is the -config file (TOML; README.md shows one whole). Every
// key is optional; flags beat the environment, which beats the file, which
// beats the defaults.
//
// loadConfig decodes it by its toml tags, strictly: a key of no setting
// (or of another case), a value of another TOML type or one the setting's
// check refuses is a *configError naming the key and its line.
type fileConfig struct {
	BaseURL               baseURL       `toml:"base_url"`
	Ledger                string        `toml:"ledger"`
	ReportDir             string        `toml:"report_dir"`
	Concurrency           *concurrency  `toml:"concurrency"`
	Rate                  *rate         `toml:"rate"`
	Timeout               timeout       `toml:"timeout"`
	Retries               *retries      `toml:"retries"`
	Lang                  lang          `toml:"lang"`
	Encoding              csvEncoding   `toml:"encoding"`
	MaxRowsPerFile        atLeastOne    `toml:"max_rows_per_file"` // 0: unset
	MaxCellBytes          atLeastOne    `toml:"max_cell_bytes"`
	MaxRowsPerRun         atLeastOne    `toml:"max_rows_per_run"`
	ReportRows            *reportRows   `toml:"report_rows"`
	AlreadyDeliveredCodes businessCodes `toml:"already_delivered_codes"`
	SystemicCodes         businessCodes `toml:"systemic_codes"`
	Credentials           struct {
		AppID          string `toml:"app_id"`
		PublicKey      string `toml:"public_key"`
		PrivateKey     string `toml:"private_key"`
		PrivateKeyFile string `toml:"private_key_file"`
	} `toml:"credentials"`
	StrictDateTime       bool      `toml:"strict_datetime"`
	ScoreResendUncertain bool      `toml:"score_resend_uncertain"`
	Retention            retention `toml:"retention"` // see prune.go
	// Mall names the mall this ledger serves: on every report, terminal
	// summary and notification.
	Mall string `toml:"mall"`
	// AllowEmpty: a night without input files is not a problem.
	AllowEmpty bool `toml:"allow_empty"`
	// MaskPersonal masks card IDs and mobiles in the reports that travel
	// (default true).
	MaskPersonal *bool           `toml:"mask_personal"`
	FileMode     fileModeSetting `toml:"file_mode"`
	Notify       []notify.Config `toml:"notify"`
	ResultsDir   string          `toml:"results_dir"`
	// Tables are [columns], [kinds.<kind>] and [mappings.<field>].
	importer.Tables

	// path is the file read ("" when none); origin says, by key, where
	// applyConfig took each setting from (for `crmsync config`); tables
	// is the reader of the checked Tables (nil: none read).
	path   string
	origin map[string]string
	tables *importer.Reader
}

// configError is a mistake in a -config file: where it is and what to do.
type configError struct {
	Path    string
	Line    int    // 0 when unknown
	Key     string // e.g. "concurrency", "mappings.PayType"
	Problem string
}

func (e *configError) Error() string {
	where := ""
	if e.Line > 0 {
		where = fmt.Sprintf("line %d: ", e.Line)
	}
	if e.Key != "" {
		where += e.Key + ": "
	}
	return "config " + e.Path + ": " + where + e.Problem
}

// The settings with a range or a form. Each check is the only statement of
// its rule: the file's value passes it when decoded, the flag's when set
// (the flags of these names are of these types). No error quotes the value
// (it may be a secret set by mistake), but retention's, as prune's -keep
// always did.

type (
	concurrency int           // members sent in parallel
	retries     int           // retries of a request
	atLeastOne  int           // a row or byte limit
	reportRows  int           // rows a report lists in full; 0 is no limit
	rate        float64       // requests per second; 0 is unlimited
	timeout     time.Duration // of one request
	lang        string
	csvEncoding string
	baseURL     string
	retention   string // as written ("90d"); parseRetention reads it
	// fileModeSetting is the mode of the files crmsync creates: they hold
	// members' personal data, so only the owner (0600, the default) or the
	// owner and a group of operators (0640) may read them.
	fileModeSetting os.FileMode
	// businessCodes are business Codes of Mallcoo's answers, other than
	// 1 (success).
	businessCodes []int
)

func (n concurrency) check() error {
	return want(n >= 1 && n <= 256, "want 1 to 256 members sent in parallel")
}
func (n retries) check() error    { return mallcoo.CheckRetries(int(n)) }
func (n atLeastOne) check() error { return want(n >= 1, "want 1 or more") }
func (n reportRows) check() error { return want(n >= 0, "want 0 (no limit) or more") }
func (r rate) check() error {
	return mallcoo.CheckRate(float64(r))
}
func (l lang) check() error        { return want(l == "zh" || l == "en", `want "zh" or "en"`) }
func (e csvEncoding) check() error { return importer.CheckEncoding(string(e)) }
func (u baseURL) check() error     { return mallcoo.CheckBaseURL(string(u)) }
func (r retention) check() error   { _, err := parseRetention(string(r)); return err }
func (c businessCodes) check() error {
	for _, n := range c {
		switch {
		case n == 1:
			return errors.New("1 is Mallcoo's success: list only other Codes")
		case n != int(int32(n)):
			return errors.New("an item: not a code: too large")
		}
	}
	return nil
}

// As flags (flag.Value) the same types check the same way; a flag's empty
// value is refused (but -base-url's, the default), where the file's
// leaves the setting unset.
func (n *concurrency) Set(s string) error { return setInt(s, n) }
func (n *retries) Set(s string) error     { return setInt(s, n) }
func (d *timeout) Set(s string) error {
	return cmp.Or(want(s != "", `want a duration such as "10s" or "1m30s"`), d.UnmarshalText([]byte(s)))
}
func (l *lang) Set(s string) error        { *l = lang(s); return l.check() }
func (e *csvEncoding) Set(s string) error { *e = csvEncoding(s); return e.check() }
func (u *baseURL) Set(s string) error {
	if *u = baseURL(s); s == "" {
		return nil
	}
	return u.check()
}
func (r *rate) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	*r = rate(f)
	return cmp.Or(want(err == nil, "want a number such as 50 or 0.5"), r.check())
}

func (n concurrency) String() string { return strconv.Itoa(int(n)) }
func (n retries) String() string     { return strconv.Itoa(int(n)) }
func (r rate) String() string        { return strconv.FormatFloat(float64(r), 'g', -1, 64) }
func (d timeout) String() string     { return time.Duration(d).String() }
func (l lang) String() string        { return string(l) }
func (e csvEncoding) String() string { return string(e) }
func (u baseURL) String() string     { return string(u) }

func setInt[T interface {
	~int
	check() error
}](s string, p *T) error {
	n, err := strconv.ParseInt(s, 0, strconv.IntSize)
	*p = T(n)
	return cmp.Or(want(err == nil, "want a whole number such as 8"), (*p).check())
}

func (d *timeout) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		return nil // unset
	}
	v, err := time.ParseDuration(string(b))
	*d = timeout(v)
	return cmp.Or(want(err == nil, `want a duration such as "10s" or "1m30s"`), want(v > 0, `want a positive duration such as "10s"`))
}

func (m *fileModeSetting) UnmarshalText(b []byte) error {
	*m = map[string]fileModeSetting{"": 0o600, "0600": 0o600, "600": 0o600, "0640": 0o640, "640": 0o640}[strings.TrimSpace(string(b))]
	return want(*m != 0, `want "0600" (the owner only) or "0640" (and a group of operators): the files hold members' personal data`)
}

func want(ok bool, problem string) error {
	if ok {
		return nil
	}
	return errors.New(problem)
}

// loadConfig reads a -config file strictly: an unknown key, a value of the
// wrong type or out of range is a mistake to report with its line, not to
// ignore.
func loadConfig(path string) (*fileConfig, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w (check the -config path or $CRMSYNC_CONFIG)", err)
	}
	// The document is parsed first and decoded after, so that a syntax
	// error (whose message may quote a secret) is told from a value a
	// setting refused (whose message never does).
	d := &doc{path: path, text: string(text)}
	if d.md, err = toml.Decode(d.text, &d.root); err != nil {
		return nil, syntaxError(path, err)
	}
	if err := d.checkKeys(); err != nil {
		return nil, err
	}
	c := &fileConfig{path: path}
	if err := d.md.PrimitiveDecode(d.root, c); err != nil {
		var pe toml.ParseError // a value an UnmarshalText refused
		errors.As(err, &pe)
		return nil, &configError{Path: path, Line: pe.Position.Line, Key: pe.LastKey, Problem: cmp.Or(pe.Message, err.Error())}
	}
	c.resolvePaths(filepath.Dir(path))
	if err := c.check(d); err != nil {
		return nil, err
	}
	return c, nil
}

// doc is a parsed -config file, for the lines of its mistakes.
type doc struct {
	path, text string
	md         toml.MetaData
	root       toml.Primitive
}

// checkKeys refuses, with its key and line, the first key of the file (in
// its order) that names no setting exactly — the library would take a key
// of another case for one — or whose value, or that of a table it is in, is
// of another TOML type than the setting's. The library then decodes what
// it can no longer take amiss.
func (d *doc) checkKeys() error {
	var raw any
	d.md.PrimitiveDecode(d.root, &raw)
	n := -1 // the [[notify]] table of the key
	for _, key := range d.md.Keys() {
		if key.String() == "notify" {
			n++
		}
		t, v := reflect.TypeOf(fileConfig{}), raw
		for i, part := range key {
			if list, ok := v.([]map[string]any); ok && n >= 0 && n < len(list) {
				t, v = t.Elem(), list[n]
			}
			if t.Kind() == reflect.Map { // a mall's words
				t = t.Elem()
			} else if f, ok := fields(t)[part]; ok {
				t = f.Type
			} else {
				return d.at(key[:i+1], n, errors.New("unknown setting; the settings here are "+strings.Join(sortedKeys(fields(t)), ", ")))
			}
			table, _ := v.(map[string]any)
			v = table[part]
			if err := wantType(key[:i+1].String(), t, v); err != nil {
				return d.at(key[:i+1], n, err)
			}
		}
	}
	return nil
}

// fields are the settings of a table of Go type t (a struct), by their toml
// tags, those of an embedded struct's fields included.
func fields(t reflect.Type) map[string]reflect.StructField {
	m := map[string]reflect.StructField{}
	if t.Kind() == reflect.Struct {
		for _, f := range reflect.VisibleFields(t) {
			if tag := f.Tag.Get("toml"); tag != "" {
				m[tag] = f
			}
		}
	}
	return m
}

// tomlNames name TOML types, by the Go types the library parses them into,
// as a person reads them.
var tomlNames = map[string]string{
	"string": "text", "int64": "a whole number", "float64": "a number with a fraction", "bool": "true/false",
	"[]interface {}": "a list", "map[string]interface {}": "a table", "[]map[string]interface {}": "a list of tables",
}

// wants says what a setting of Go type t at key takes: the Go types the
// library parses those TOML values into (| between), and how to write one
// and a list of them. A TextUnmarshaler reads, as the library does, the
// text of any value but a table or list.
func wants(key string, t reflect.Type) (is, one, list string) {
	switch k := t.Kind(); {
	case reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()):
		return "string|int64|float64|bool|time.Time", `text in quotes, such as "…"`, ""
	case k == reflect.Pointer:
		return wants(key, t.Elem())
	case k == reflect.String:
		return "string", `text in quotes, such as "…"`, `a list of texts in quotes, such as ["…"]`
	case k == reflect.Int:
		return "int64", "a whole number, without quotes", "a list of whole numbers, such as [307, 30018]"
	case k == reflect.Float64:
		return "float64|int64", "a number without quotes, such as 50 or 0.5", ""
	case k == reflect.Bool:
		return "bool", "true or false, without quotes", ""
	case k == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		return "[]map[string]interface {}", "a [[" + key + "]] table per destination", ""
	case k == reflect.Slice:
		_, _, list := wants(key, t.Elem())
		return "[]interface {}", list, ""
	}
	return "map[string]interface {}", "a table, such as [" + key + "] on a line of its own", ""
}

// wantType says why v, a value as the library parsed it (a list, item by
// item), is not one a setting of Go type t at key takes, and what to write
// instead; nil if it is.
func wantType(key string, t reflect.Type, v any) error {
	is, write, _ := wants(key, t)
	if found := fmt.Sprintf("%T", v); !slices.Contains(strings.Split(is, "|"), found) {
		return fmt.Errorf("the value is %s: want %s", cmp.Or(tomlNames[found], "a date/time"), write)
	}
	items, _ := v.([]any)
	for _, item := range items {
		if err := wantType(key, t.Elem(), item); err != nil {
			return fmt.Errorf("an item: %w", err)
		}
	}
	return nil
}

// at is err, a mistake in the value of key (in the n-th [[notify]] table),
// as a *configError with the key's line.
func (d *doc) at(key toml.Key, n int, err error) error {
	return &configError{Path: d.path, Line: d.line(key, n), Key: key.String(), Problem: err.Error()}
}

// line is the line of key as the library knows it: in the error of a value
// refused there. A table that only dotted keys define (x.y = 1) has none:
// that of its first key, then. Of a key in the n-th [[notify]] table the
// library knows the last table's line only: notifyLine finds it.
func (d *doc) line(key toml.Key, n int) int {
	if len(key) > 1 && key[0] == "notify" && n >= 0 {
		return cmp.Or(notifyLine(d.text, n, key[1]), notifyLine(d.text, n, ""))
	}
	p := d.root
	for _, k := range key {
		p = d.table(p)[k]
	}
	var pe toml.ParseError
	errors.As(d.md.PrimitiveDecode(p, new(refused)), &pe)
	if t := d.table(p); pe.Position.Line == 0 && len(t) > 0 {
		return d.line(append(slices.Clip(key), sortedKeys(t)[0]), n)
	}
	return pe.Position.Line
}

// table is the table p by key, nil if p is none.
func (d *doc) table(p toml.Primitive) map[string]toml.Primitive {
	var t map[string]toml.Primitive
	d.md.PrimitiveDecode(p, &t)
	return t
}

type refused struct{}

func (*refused) UnmarshalTOML(any) error { return errors.New("refused") }

// notifyLine is the line of key in the i-th [[notify]] table (of the table
// itself for key ""): the first line that names it through which the text,
// parsed, holds it. This runs on a mistake only.
func notifyLine(text string, i int, key string) int {
	lines := strings.SplitAfter(text, "\n")
	for n := range lines {
		var f struct{ Notify []map[string]any }
		if strings.Contains(lines[n], cmp.Or(key, "notify")) && toml.Unmarshal([]byte(strings.Join(lines[:n+1], "")), &f) == nil &&
			len(f.Notify) > i && (key == "" || f.Notify[i][key] != nil) {
			return n + 1
		}
	}
	return 0
}

// syntaxError is a file that is not valid TOML, said by line and, when it
// is a setting, key. The parser's own message is not shown: it quotes the
// text it stumbled on, which may be a secret (a private key pasted over
// several lines); so is a key that is no setting (it may be such a text).
func syntaxError(path string, err error) error {
	ce := &configError{Path: path, Problem: "not valid TOML; check the quotes, = and brackets there (text goes in double quotes on one line, or in \"\"\" … \"\"\" over several); the text is not shown, as it may hold a secret"}
	var pe toml.ParseError
	if errors.As(err, &pe) {
		ce.Line = pe.Position.Line
		if isSetting(strings.Split(pe.LastKey, ".")) {
			ce.Key = pe.LastKey
		}
	}
	return ce
}

// isSetting says whether key names a setting of a table of settings, not
// a mall's word nor a text pasted by mistake.
func isSetting(key []string) bool {
	t := reflect.TypeOf(fileConfig{})
	for _, part := range key {
		f, ok := fields(t)[part]
		if !ok {
			return false
		}
		if t = f.Type; t.Kind() == reflect.Slice {
			t = t.Elem()
		}
	}
	return true
}

// check checks what the settings' TOML types cannot: each setting's own
// rule (its check method; text "" is unset), notifications (notify.New)
// and the reader's tables (importer.NewReader: kinds, fields and enums of
// mallcoo.Spec), whose reader it keeps.
func (c *fileConfig) check(d *doc) error {
	v, settings := reflect.ValueOf(c).Elem(), fields(reflect.TypeOf(*c))
	for _, key := range d.md.Keys() {
		if len(key) > 1 {
			continue
		}
		f := v.FieldByIndex(settings[key[0]].Index)
		if r, ok := f.Interface().(interface{ check() error }); ok && (f.Kind() != reflect.String || f.Len() > 0) {
			if err := r.check(); err != nil {
				return d.at(key, -1, err)
			}
		}
	}
	for i, n := range c.Notify {
		var fe *notify.FieldError
		if _, err := notify.New(n); errors.As(err, &fe) {
			field, _, _ := strings.Cut(fe.Field, "[") // "to" of "to[1]"
			return &configError{Path: c.path, Line: d.line(toml.Key{"notify", field}, i), Key: "notify." + fe.Field, Problem: fmt.Sprintf("[[notify]] number %d: %s", i+1, fe.Problem)}
		} else if err != nil {
			return &configError{Path: c.path, Line: d.line(toml.Key{"notify", ""}, i), Key: "notify", Problem: fmt.Sprintf("[[notify]] number %d: %v", i+1, err)}
		}
	}
	var err error
	c.tables, err = importer.NewReader(c.Tables)
	var te *importer.TableError
	if errors.As(err, &te) {
		return d.at(te.Key, -1, errors.New(te.Problem))
	}
	return err
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

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// settings returns, by key, the top-level settings the file sets, as text
// a flag of the same name (- for _) takes.
func (c *fileConfig) settings() map[string]string {
	v := map[string]string{}
	for key, sf := range fields(reflect.TypeOf(*c)) {
		f := reflect.ValueOf(c).Elem().FieldByIndex(sf.Index)
		if k := f.Kind(); !f.IsZero() && (k != reflect.Map && k != reflect.Slice || f.Len() > 0) {
			v[key] = fmt.Sprint(reflect.Indirect(f).Interface())
		}
	}
	return v
}

// applyConfig loads the file named by the -config flag (or $CRMSYNC_CONFIG)
// and sets every flag the command line left alone from the environment or,
// failing that, from the file. Flags > environment > file > defaults.
func (e *env) applyConfig(fs *flag.FlagSet, path string) (*fileConfig, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	path = cmp.Or(path, e.getenv("CRMSYNC_CONFIG"))
	cfg := &fileConfig{}
	if path != "" {
		c, err := loadConfig(path)
		if err != nil {
			return nil, err
		}
		cfg = c
	}
	vals := cfg.settings()
	cfg.origin = map[string]string{}
	for key := range vals {
		cfg.origin[key] = "config file"
	}
	if u := e.getenv("MALLCOO_BASE_URL"); u != "" {
		if err := baseURL(u).check(); err != nil {
			return nil, fmt.Errorf("MALLCOO_BASE_URL: %v (the value is not shown)", err)
		}
		vals["base_url"], cfg.origin["base_url"] = u, "env MALLCOO_BASE_URL"
	}
	for _, key := range sortedKeys(vals) {
		name := strings.ReplaceAll(key, "_", "-")
		if fs.Lookup(name) != nil && !set[name] && fs.Set(name, vals[key]) != nil {
			return nil, &configError{Path: path, Key: name, Problem: "not a value -" + name + " takes (the value is not shown)"}
		}
	}
	for name := range set {
		cfg.origin[strings.ReplaceAll(name, "-", "_")] = "flag -" + name
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
	file := cfg.Credentials
	pick := func(name, fromFile, fileKey string, val, from *string) {
		if v := strings.TrimSpace(e.getenv(name)); v != "" {
			*val, *from = v, "env "+name
		} else if fromFile != "" {
			*val, *from = fromFile, "config file "+fileKey
		}
	}
	pick("MALLCOO_APP_ID", file.AppID, "app_id", &cr.AppID, &src.AppID)
	pick("MALLCOO_PUBLIC_KEY", file.PublicKey, "public_key", &cr.PublicKey, &src.PublicKey)
	key, err := e.secretFrom("MALLCOO_PRIVATE_KEY")
	if err != nil {
		return cr, src, err
	}
	if file.PrivateKey != "" && file.PrivateKeyFile != "" {
		return cr, src, errors.New("config: both private_key and private_key_file are set under [credentials]: keep one (better the file)")
	}
	switch {
	case key != "" && strings.TrimSpace(e.getenv("MALLCOO_PRIVATE_KEY")) != "":
		cr.PrivateKey, src.PrivateKey = key, "MALLCOO_PRIVATE_KEY"
	case key != "":
		cr.PrivateKey, src.PrivateKey = key, "MALLCOO_PRIVATE_KEY_FILE"
	case file.PrivateKey != "":
		cr.PrivateKey, src.PrivateKey = file.PrivateKey, "config file private_key"
	case file.PrivateKeyFile != "":
		k, err := e.readSecretFile(file.PrivateKeyFile, "config private_key_file")
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
	return cmp.Or(int(c.MaxRowsPerRun), defaultMaxRowsPerRun)
}

// reader returns the importer's Reader for these settings.
func (c *fileConfig) reader(encoding string, kind crmsync.Kind, allowEmpty bool) *importer.Reader {
	r := &importer.Reader{}
	if c.tables != nil {
		*r = *c.tables
	}
	r.Encoding, r.Kind, r.StrictDateTime, r.AllowEmpty = encoding, kind, c.StrictDateTime, allowEmpty
	r.MaxRowsPerFile, r.MaxCellBytes = int(c.MaxRowsPerFile), int(c.MaxCellBytes) // 0: the reader's default
	return r
}

// fileMode is the mode of the files crmsync creates.
func (c *fileConfig) fileMode() os.FileMode {
	if c == nil || c.FileMode == 0 {
		return 0o600
	}
	return os.FileMode(c.FileMode)
}

// showPersonal says whether what crmsync shows (reports, status,
// resolve) gives card IDs and mobiles in full.
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

// reportOptions are the report settings of the file: masking (card IDs
// and mobiles in full only if mask_personal = false), file mode and
// report_rows (unset: report.DefaultReportRows; 0: no limit).
func (c *fileConfig) reportOptions() report.Options {
	o := report.Options{ShowPersonal: c.showPersonal(), FileMode: c.fileMode()}
	if c.ReportRows != nil {
		o.ReportRows = int(*c.ReportRows)
		if o.ReportRows == 0 {
			o.ReportRows = -1
		}
	}
	return o
}
