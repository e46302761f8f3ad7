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
// The TOML library checks the keys and types: a setting with a range or a
// form has a type of its own below, whose check is the one the flag of the
// same name passes too; a mistake comes back as a toml.ParseError with the
// key and its line.
type fileConfig struct {
	BaseURL               baseURL                    `toml:"base_url"`
	Ledger                string                     `toml:"ledger"`
	ReportDir             string                     `toml:"report_dir"`
	Concurrency           *concurrency               `toml:"concurrency"`
	Rate                  *rate                      `toml:"rate"`
	Timeout               timeout                    `toml:"timeout"`
	Retries               *retries                   `toml:"retries"`
	Lang                  lang                       `toml:"lang"`
	Encoding              csvEncoding                `toml:"encoding"`
	MaxRowsPerFile        atLeastOne                 `toml:"max_rows_per_file"` // 0: unset
	MaxCellBytes          atLeastOne                 `toml:"max_cell_bytes"`
	MaxRowsPerRun         atLeastOne                 `toml:"max_rows_per_run"`
	ReportRows            *reportRows                `toml:"report_rows"`
	AlreadyDeliveredCodes businessCodes              `toml:"already_delivered_codes"`
	SystemicCodes         businessCodes              `toml:"systemic_codes"`
	Credentials           configCredentials          `toml:"credentials"`
	Mappings              map[string]map[string]code `toml:"mappings"`
	StrictDateTime        bool                       `toml:"strict_datetime"`
	ScoreResendUncertain  bool                       `toml:"score_resend_uncertain"`
	Retention             retention                  `toml:"retention"` // see prune.go
	Kinds                 map[string]kindSettings    `toml:"kinds"`
	// Mall names the mall this ledger serves: on every report, terminal
	// summary and notification.
	Mall string `toml:"mall"`
	// AllowEmpty: a night without input files is not a problem.
	AllowEmpty bool `toml:"allow_empty"`
	// MaskPersonal masks card IDs and mobiles in the reports that travel
	// (default true).
	MaskPersonal *bool             `toml:"mask_personal"`
	FileMode     fileModeSetting   `toml:"file_mode"`
	Notify       []notify.Config   `toml:"notify"`
	Columns      map[string]string `toml:"columns"` // a mall's header → field, every kind
	ResultsDir   string            `toml:"results_dir"`

	// path is the file read ("" when none); origin says, by key, where
	// applyConfig took each setting from (for `crmsync config`); tables
	// holds the checked [columns], [kinds] and [mappings] (nil: none read).
	path   string
	origin map[string]string
	tables *importer.Reader
}

// kindSettings are the settings of one kind, [kinds.<kind>].
type kindSettings struct {
	// Required lists the optional fields this mall requires.
	Required fieldNames `toml:"required"`
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
	code        int           // a Mallcoo code in a mapping table
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
	fieldNames    []string
)

func (n concurrency) check() error {
	return want(n >= 1 && n <= 256, "want 1 to 256 members sent in parallel")
}
func (n retries) check() error    { return mallcoo.CheckRetries(int(n)) }
func (n atLeastOne) check() error { return want(n >= 1, "want 1 or more") }
func (n reportRows) check() error { return want(n >= 0, "want 0 (no limit) or more") }
func (n code) check() error       { return want(n == code(int32(n)), "not a code: too large") }
func (r rate) check() error {
	return mallcoo.CheckRate(float64(r))
}
func (d timeout) check() error     { return want(d > 0, `want a positive duration such as "10s"`) }
func (l lang) check() error        { return want(l == "zh" || l == "en", `want "zh" or "en"`) }
func (e csvEncoding) check() error { return importer.CheckEncoding(string(e)) }
func (u baseURL) check() error     { return mallcoo.CheckBaseURL(string(u)) }
func (r retention) check() error   { _, err := parseRetention(string(r)); return err }

func (n *concurrency) UnmarshalTOML(v any) error    { return wholeNumber(v, n) }
func (n *retries) UnmarshalTOML(v any) error        { return wholeNumber(v, n) }
func (n *atLeastOne) UnmarshalTOML(v any) error     { return wholeNumber(v, n) }
func (n *reportRows) UnmarshalTOML(v any) error     { return wholeNumber(v, n) }
func (n *code) UnmarshalTOML(v any) error           { return wholeNumber(v, n) }
func (l *lang) UnmarshalText(b []byte) error        { return setText(b, l) }
func (e *csvEncoding) UnmarshalText(b []byte) error { return setText(b, e) }
func (u *baseURL) UnmarshalText(b []byte) error     { return setText(b, u) }
func (r *retention) UnmarshalText(b []byte) error   { return setText(b, r) }

// As flags (flag.Value) the same types check the same way; a flag's empty
// value is refused, where the file's leaves the setting unset.
func (n *concurrency) Set(s string) error { return setInt(s, n) }
func (n *retries) Set(s string) error     { return setInt(s, n) }
func (d *timeout) Set(s string) error {
	return cmp.Or(want(s != "", `want a duration such as "10s" or "1m30s"`), d.UnmarshalText([]byte(s)))
}
func (l *lang) Set(s string) error        { return setFlag(s, l) }
func (e *csvEncoding) Set(s string) error { return setFlag(s, e) }
func (u *baseURL) Set(s string) error     { return setText([]byte(s), u) } // "": the default
func (r *rate) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return errors.New("want a number such as 50 or 0.5")
	}
	return r.UnmarshalTOML(f)
}

func (n concurrency) String() string { return strconv.Itoa(int(n)) }
func (n retries) String() string     { return strconv.Itoa(int(n)) }
func (r rate) String() string        { return strconv.FormatFloat(float64(r), 'g', -1, 64) }
func (d timeout) String() string     { return time.Duration(d).String() }
func (l lang) String() string        { return string(l) }
func (e csvEncoding) String() string { return string(e) }
func (u baseURL) String() string     { return string(u) }

func (r *rate) UnmarshalTOML(v any) error {
	n, ok := v.(float64)
	if i, isInt := v.(int64); isInt {
		n, ok = float64(i), true
	}
	if !ok {
		return wantType(v, "a number without quotes, such as 50 or 0.5")
	}
	*r = rate(n)
	return r.check()
}

func (d *timeout) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		return nil // unset
	}
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return errors.New(`want a duration such as "10s" or "1m30s"`)
	}
	*d = timeout(v)
	return d.check()
}

func (m *fileModeSetting) UnmarshalText(b []byte) error {
	*m = map[string]fileModeSetting{"": 0o600, "0600": 0o600, "600": 0o600, "0640": 0o640, "640": 0o640}[strings.TrimSpace(string(b))]
	return want(*m != 0, `want "0600" (the owner only) or "0640" (and a group of operators): the files hold members' personal data`)
}

func (c *businessCodes) UnmarshalTOML(v any) error {
	list, ok := v.([]any)
	if !ok {
		return wantType(v, "a list of whole numbers, such as [307, 30018]")
	}
	for _, e := range list {
		var n code
		if err := n.UnmarshalTOML(e); err != nil {
			return fmt.Errorf("an item: %w", err)
		}
		if n == 1 {
			return errors.New("1 is Mallcoo's success: list only other Codes")
		}
		*c = append(*c, int(n))
	}
	return nil
}

func (l *fieldNames) UnmarshalTOML(v any) error {
	list, ok := v.([]any)
	if !ok {
		return wantType(v, `a list of field names, such as ["TradeSerialNo", "PosID"]`)
	}
	for _, e := range list {
		name, ok := e.(string)
		if !ok {
			return fmt.Errorf("an item: %w", wantType(e, `a field name in quotes, such as "PosID"`))
		}
		*l = append(*l, name)
	}
	return nil
}

// wholeNumber decodes a TOML integer into *p and checks it.
func wholeNumber[T interface {
	~int
	check() error
}](v any, p *T) error {
	n, ok := v.(int64)
	if !ok {
		return wantType(v, "a whole number without quotes, such as 8")
	}
	*p = T(n)
	return (*p).check()
}

func setInt[T interface {
	~int
	check() error
}](s string, p *T) error {
	n, err := strconv.ParseInt(s, 0, strconv.IntSize)
	if err != nil {
		return errors.New("want a whole number such as 8")
	}
	return wholeNumber(n, p)
}

func setFlag[T interface {
	~string
	check() error
}](s string, p *T) error {
	*p = T(s)
	return (*p).check()
}

// setText checks the text b as a T and sets *p; "" leaves the setting
// unset.
func setText[T interface {
	~string
	check() error
}](b []byte, p *T) error {
	if *p = T(b); *p == "" {
		return nil
	}
	return (*p).check()
}

func want(ok bool, problem string) error {
	if ok {
		return nil
	}
	return errors.New(problem)
}

// typeWords names TOML types as a person reads them, by the Go type the
// library decodes them into and by the name MetaData.Type gives.
var typeWords = map[string]string{
	"string": "text", "int64": "a whole number", "float64": "a number with a fraction", "bool": "true/false",
	"[]interface {}": "a list", "map[string]interface {}": "a table",
	"String": "text", "Integer": "a whole number", "Float": "a number with a fraction", "Bool": "true/false",
	"Array": "a list", "Hash": "a table", "ArrayHash": "a list of tables",
}

// wantType says what a value of the wrong TOML type is, and what to write.
func wantType(v any, want string) error {
	return fmt.Errorf("the value is %s: want %s", cmp.Or(typeWords[fmt.Sprintf("%T", v)], "a date/time"), want)
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
	// error (whose message may quote a secret) is told from a value the
	// settings' own types refused (whose message never does).
	var doc toml.Primitive
	md, err := toml.Decode(string(text), &doc)
	if err != nil {
		return nil, syntaxError(path, err)
	}
	c := fileConfig{path: path}
	err = md.PrimitiveDecode(doc, &c)
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return nil, &configError{Path: path, Line: pe.Position.Line, Key: pe.LastKey, Problem: pe.Message}
	}
	at := func(key toml.Key, format string, a ...any) error {
		return &configError{Path: path, Line: lineOf(md, doc, key), Key: key.String(), Problem: fmt.Sprintf(format, a...)}
	}
	// An unknown key is one MetaData.Undecoded would list, or one the
	// library took for a setting by ignoring case (Concurrency = 200 beside
	// concurrency = 4 would win or lose at random). For a plain value of the
	// wrong type the library says where in prose only (for a map, nothing:
	// it leaves it empty), so the key is found by its TOML type.
	tables := map[string]bool{} // keys that others extend (MetaData.Type errs for a table holding an "" key)
	for _, k := range md.Keys() {
		for i := 1; i < len(k); i++ {
			tables[k[:i].String()] = true
		}
	}
	for _, k := range md.Keys() {
		for i := range k {
			if settingType(k[:i+1]) == nil {
				e := &configError{Path: path, Line: lineOf(md, doc, k), Key: k[:i+1].String(), Problem: "unknown setting"}
				if names := settingNames(settingType(k[:i])); names != nil {
					e.Problem += "; the settings here are " + strings.Join(names, ", ")
				}
				return nil, e
			}
		}
		is := md.Type(k...)
		if tables[k.String()] && is != "ArrayHash" {
			is = "Hash"
		}
		if want := typeWant(k, is); want != "" {
			return nil, at(k, "the value is %s: want %s", cmp.Or(typeWords[is], "a date/time"), want)
		}
	}
	if err != nil {
		return nil, &configError{Path: path, Problem: err.Error()} // names the line and key, never the value
	}
	c.resolvePaths(filepath.Dir(path))
	if err := c.check(string(text), at); err != nil {
		return nil, err
	}
	return &c, nil
}

// settingType is the Go type that key decodes into, nil for no setting.
func settingType(key toml.Key) reflect.Type {
	t := reflect.TypeOf(fileConfig{})
	for _, part := range key {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Map:
			t = t.Elem()
		case reflect.Struct:
			f, ok := fieldByTag(t, part)
			if !ok {
				return nil
			}
			t = f.Type
		default:
			return nil
		}
	}
	return t
}

// typeWant is what the setting key takes when the file gives it a value
// of TOML type is: "" when it fits, or the setting's type checks values
// itself.
func typeWant(key toml.Key, is string) string {
	t := settingType(key)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || reflect.PointerTo(t).Implements(reflect.TypeFor[toml.Unmarshaler]()) ||
		reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
		return ""
	}
	table := "a table, such as [" + key.String() + "] on a line of its own"
	want := map[reflect.Kind][2]string{
		reflect.Bool:   {"Bool", "true or false, without quotes"},
		reflect.String: {"String", `text in quotes, such as "…"`},
		reflect.Int:    {"Integer", "a whole number without quotes, such as 587"},
		reflect.Slice:  {"Array", `a list, such as ["ops@example.com"]`},
		reflect.Map:    {"Hash", table},
		reflect.Struct: {"Hash", table},
	}[t.Kind()]
	if t == reflect.TypeFor[[]notify.Config]() {
		want = [2]string{"ArrayHash", "a [[notify]] table per destination"}
	}
	if want[0] == "" || want[0] == is {
		return ""
	}
	return want[1]
}

// settingNames lists the keys of the table of type t; nil unless t is a
// table of settings (a struct).
func settingNames(t reflect.Type) []string {
	for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice) {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("toml"); tag != "" {
			names = append(names, tag)
		}
	}
	slices.Sort(names)
	return names
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Tag.Get("toml") == name {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

// lineOf is the line where key (or, failing that, its table) is set, as
// the library knows it: it names a key's line in the toml.ParseError of a
// value that refuses to be decoded there. In a list of tables ([[notify]])
// it knows the last line of each key.
func lineOf(md toml.MetaData, doc toml.Primitive, key toml.Key) int {
	for _, part := range key {
		var table map[string]toml.Primitive // empty for a value not a table
		var tables []map[string]toml.Primitive
		if md.PrimitiveDecode(doc, &tables) == nil && len(tables) > 0 {
			table = tables[len(tables)-1]
		} else if md.PrimitiveDecode(doc, &table) != nil {
			break
		}
		next, ok := table[part]
		if !ok {
			break
		}
		doc = next
	}
	var pe toml.ParseError
	errors.As(md.PrimitiveDecode(doc, new(refused)), &pe)
	return pe.Position.Line
}

type refused struct{}

func (*refused) UnmarshalTOML(any) error { return errors.New("refused") }

// firstLine is the first line holding hint through which the text, as the
// library parses it, holds what defined looks for; 0 if none: the line of
// the n-th [[notify]] table, of which the library keeps no position. This
// runs on a mistake only.
func firstLine(text, hint string, defined func(toml.MetaData, map[string]any) bool) int {
	lines := strings.SplitAfter(text, "\n")
	for n := 1; n <= len(lines); n++ {
		var m map[string]any
		if !strings.Contains(lines[n-1], hint) {
			continue
		}
		if md, err := toml.Decode(strings.Join(lines[:n], ""), &m); err == nil && defined(md, m) {
			return n
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
		key := toml.Key(strings.Split(pe.LastKey, "."))
		if pe.LastKey != "" && settingType(key) != nil && settingNames(settingType(key[:len(key)-1])) != nil {
			ce.Key = pe.LastKey
		}
	}
	return ce
}

// check checks what the settings' types cannot: notifications (notify.New)
// and the reader's tables (importer.NewReader: kinds, fields and enums of
// mallcoo.Spec), which it keeps.
func (c *fileConfig) check(text string, at func(key toml.Key, format string, a ...any) error) error {
	for i, n := range c.Notify {
		if _, err := notify.New(n); err != nil {
			e := &configError{Path: c.path, Key: "notify", Problem: fmt.Sprintf("[[notify]] number %d: %v", i+1, err)}
			var fe *notify.FieldError
			field := "" // "to" of "to[1]"
			if errors.As(err, &fe) {
				e.Key, e.Problem = "notify."+fe.Field, fmt.Sprintf("[[notify]] number %d: %s", i+1, fe.Problem)
				field, _, _ = strings.Cut(fe.Field, "[")
			}
			// The line of the key in the table, else of the table.
			e.Line = cmp.Or(firstLine(text, cmp.Or(field, "notify"), func(_ toml.MetaData, m map[string]any) bool {
				list, _ := m["notify"].([]map[string]any)
				return len(list) > i && list[i][field] != nil
			}), firstLine(text, "notify", func(_ toml.MetaData, m map[string]any) bool {
				list, _ := m["notify"].([]map[string]any)
				return len(list) > i
			}))
			return e
		}
	}
	t := importer.Tables{Columns: c.Columns, Kinds: map[string]importer.KindTables{}, Mappings: map[string]map[string]int{}}
	for name, k := range c.Kinds {
		t.Kinds[name] = importer.KindTables{Required: k.Required, Columns: k.Columns}
	}
	for field, m := range c.Mappings {
		t.Mappings[field] = map[string]int{}
		for word, n := range m {
			t.Mappings[field][word] = int(n)
		}
	}
	var err error
	c.tables, err = importer.NewReader(t)
	var te *importer.TableError
	if errors.As(err, &te) {
		return at(toml.Key(te.Key), "%s", te.Problem)
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
	rv := reflect.ValueOf(*c)
	for i := range rv.NumField() {
		f, key := rv.Field(i), rv.Type().Field(i).Tag.Get("toml")
		set := !f.IsZero()
		if k := f.Kind(); k == reflect.Map || k == reflect.Slice {
			set = f.Len() > 0
		}
		if key != "" && set {
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
// and report_rows (unset: report.DefaultReportRows; 0: no limit).
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
