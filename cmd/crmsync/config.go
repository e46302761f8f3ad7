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
func (d timeout) check() error     { return want(d > 0, `want a positive duration such as "10s"`) }
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
func (l *lang) Set(s string) error        { return setText(s, l, false) }
func (e *csvEncoding) Set(s string) error { return setText(s, e, false) }
func (u *baseURL) Set(s string) error     { return setText(s, u, true) }
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

// setText sets *p to s and checks it; "" stays unset if unsetOK.
func setText[T interface {
	~string
	check() error
}](s string, p *T, unsetOK bool) error {
	if *p = T(s); s == "" && unsetOK {
		return nil
	}
	return (*p).check()
}

func (d *timeout) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		return nil // unset
	}
	v, err := time.ParseDuration(string(b))
	*d = timeout(v)
	return cmp.Or(want(err == nil, `want a duration such as "10s" or "1m30s"`), d.check())
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

// typeWords names TOML types as a person reads them, by the Go type the
// library decodes them into.
var typeWords = map[string]string{
	"string": "text", "int64": "a whole number", "float64": "a number with a fraction", "bool": "true/false",
	"[]interface {}": "a list", "map[string]interface {}": "a table", "[]map[string]interface {}": "a list of tables",
}

// wantType says what a value of the wrong TOML type is, and what to write.
func wantType(v any, want string) error {
	return fmt.Errorf("the value is %s: want %s", cmp.Or(typeWords[fmt.Sprintf("%T", v)], "a date/time"), want)
}

// plainWant is what a setting of a plain Go kind takes: the TOML values
// the library decodes into that kind (by their Go types, | between), and
// what to write instead of another, for one and for a list.
var plainWant = map[reflect.Kind]struct{ is, one, list string }{
	reflect.String:  {"string", `text in quotes, such as "…"`, `a list of texts in quotes, such as ["…"]`},
	reflect.Bool:    {"bool", "true or false, without quotes", ""},
	reflect.Int:     {"int64", "a whole number, without quotes", "a list of whole numbers, such as [307, 30018]"},
	reflect.Float64: {"float64|int64", "a number without quotes, such as 50 or 0.5", ""},
	reflect.Slice:   {"[]interface {}", "", ""},
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
	var doc toml.Primitive
	md, err := toml.Decode(string(text), &doc)
	if err != nil {
		return nil, syntaxError(path, err)
	}
	c := &fileConfig{path: path}
	d := &decoder{md: md, path: path, values: map[string]toml.Primitive{}}
	if err := d.decode(nil, doc, reflect.ValueOf(c).Elem()); err != nil {
		return nil, err
	}
	c.resolvePaths(filepath.Dir(path))
	if err := c.check(string(text), d); err != nil {
		return nil, err
	}
	return c, nil
}

// decoder decodes a parsed -config file into its settings, where the
// library alone would take a key of another case for a setting, leave a
// table that is none empty, and name no key of a plain value of another
// type.
type decoder struct {
	md     toml.MetaData
	path   string
	values map[string]toml.Primitive // by key, as decoded: for their lines
}

// decode decodes p, the value of key, into the setting v: a struct is a
// table of settings by their toml tags, a map a table of any keys (a
// mall's words), a slice of structs a list of tables ([[notify]]). A
// TextUnmarshaler reads its value's text; a setting of a plain kind takes
// a TOML value of that kind (a list, of its items' kind), then checks it
// by its check method, if any (text "" is unset).
func (d *decoder) decode(key toml.Key, p toml.Primitive, v reflect.Value) error {
	var raw any
	d.md.PrimitiveDecode(p, &raw)
	is := fmt.Sprintf("%T", raw)
	if v.Kind() == reflect.Pointer {
		v.Set(reflect.New(v.Type().Elem()))
		v = v.Elem()
	}
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok { // as the library: a number's digits too
		if k := reflect.ValueOf(raw).Kind(); k == reflect.Map || k == reflect.Slice {
			return d.at(key, wantType(raw, plainWant[reflect.String].one))
		}
		return d.at(key, u.UnmarshalText([]byte(fmt.Sprint(raw))))
	}
	switch {
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		var list []toml.Primitive
		if is != "[]map[string]interface {}" || d.md.PrimitiveDecode(p, &list) != nil {
			return d.at(key, wantType(raw, "a [["+key.String()+"]] table per destination"))
		}
		v.Set(reflect.MakeSlice(v.Type(), len(list), len(list)))
		for i := range list {
			if err := d.decode(key, list[i], v.Index(i)); err != nil {
				return err
			}
		}
		return nil
	case v.Kind() == reflect.Struct || v.Kind() == reflect.Map:
		var table map[string]toml.Primitive
		if is != "map[string]interface {}" || d.md.PrimitiveDecode(p, &table) != nil {
			return d.at(key, wantType(raw, "a table, such as ["+key.String()+"] on a line of its own"))
		}
		for _, k := range sortedKeys(table) {
			if err := d.entry(append(slices.Clip(key), k), table[k], v); err != nil {
				return err
			}
		}
		return nil
	}
	w := plainWant[v.Kind()]
	if v.Kind() == reflect.Slice { // a list of values of one plain kind
		w.one = plainWant[v.Type().Elem().Kind()].list
	}
	if !slices.Contains(strings.Split(w.is, "|"), is) {
		return d.at(key, wantType(raw, w.one))
	}
	list, _ := raw.([]any)
	for _, e := range list {
		if w := plainWant[v.Type().Elem().Kind()]; !slices.Contains(strings.Split(w.is, "|"), fmt.Sprintf("%T", e)) {
			return d.at(key, fmt.Errorf("an item: %w", wantType(e, w.one)))
		}
	}
	if err := d.md.PrimitiveDecode(p, v.Addr().Interface()); err != nil {
		return d.at(key, err) // not met: the types agree
	}
	if c, ok := v.Interface().(interface{ check() error }); ok && (v.Kind() != reflect.String || v.Len() > 0) {
		return d.at(key, c.check())
	}
	return nil
}

// entry decodes p, the value of key in the table v.
func (d *decoder) entry(key toml.Key, p toml.Primitive, v reflect.Value) error {
	d.values[key.String()] = p
	name := key[len(key)-1]
	if v.Kind() == reflect.Map {
		e := reflect.New(v.Type().Elem()).Elem()
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		defer v.SetMapIndex(reflect.ValueOf(name), e)
		return d.decode(key, p, e)
	}
	f, ok := fields(v)[name]
	if !ok {
		return d.at(key, errors.New("unknown setting; the settings here are "+strings.Join(sortedKeys(fields(v)), ", ")))
	}
	return d.decode(key, p, f)
}

// fields are the settings of the table v (a struct), by their toml tags.
func fields(v reflect.Value) map[string]reflect.Value {
	m := map[string]reflect.Value{}
	for i := range v.NumField() {
		if f := v.Type().Field(i); f.Anonymous {
			maps.Copy(m, fields(v.Field(i)))
		} else if tag := f.Tag.Get("toml"); tag != "" {
			m[tag] = v.Field(i)
		}
	}
	return m
}

// at is err, a mistake in the value of key, as a *configError with the
// key's line.
func (d *decoder) at(key toml.Key, err error) error {
	if err == nil {
		return nil
	}
	return &configError{Path: d.path, Line: d.line(d.values[key.String()]), Key: key.String(), Problem: err.Error()}
}

// line is the line of the value p as the library knows it (in a list of
// tables, that of the last table's key): in the error of a value refused
// there. A table that only dotted keys define (x.y = 1) has none: that of
// its first key, then.
func (d *decoder) line(p toml.Primitive) int {
	var pe toml.ParseError
	errors.As(d.md.PrimitiveDecode(p, new(refused)), &pe)
	var table map[string]toml.Primitive
	if pe.Position.Line == 0 && d.md.PrimitiveDecode(p, &table) == nil && len(table) > 0 {
		return d.line(table[sortedKeys(table)[0]])
	}
	return pe.Position.Line
}

type refused struct{}

func (*refused) UnmarshalTOML(any) error { return errors.New("refused") }

// notifyLine is the line of key in the i-th [[notify]] table (of the table
// itself for key ""), of which the library keeps the last only: the first
// line that names it through which the text, parsed, holds it. This runs
// on a mistake only.
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
	v := reflect.ValueOf(&fileConfig{}).Elem()
	for _, part := range key {
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Slice {
			v = reflect.New(v.Type().Elem()).Elem()
		}
		if v.Kind() != reflect.Struct {
			return false
		}
		var ok bool
		if v, ok = fields(v)[part]; !ok {
			return false
		}
	}
	return true
}

// check checks what the settings' own types cannot: notifications
// (notify.New) and the reader's tables (importer.NewReader: kinds, fields
// and enums of mallcoo.Spec), whose reader it keeps.
func (c *fileConfig) check(text string, d *decoder) error {
	for i, n := range c.Notify {
		_, err := notify.New(n)
		if err == nil {
			continue
		}
		e := &configError{Path: c.path, Key: "notify", Problem: fmt.Sprintf("[[notify]] number %d: %v", i+1, err)}
		var fe *notify.FieldError
		field := "" // "to" of "to[1]"
		if errors.As(err, &fe) {
			e.Key, e.Problem = "notify."+fe.Field, fmt.Sprintf("[[notify]] number %d: %s", i+1, fe.Problem)
			field, _, _ = strings.Cut(fe.Field, "[")
		}
		e.Line = cmp.Or(notifyLine(text, i, field), notifyLine(text, i, ""))
		return e
	}
	var err error
	c.tables, err = importer.NewReader(c.Tables)
	var te *importer.TableError
	if errors.As(err, &te) {
		return d.at(te.Key, errors.New(te.Problem))
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
	for key, f := range fields(reflect.ValueOf(c).Elem()) {
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
