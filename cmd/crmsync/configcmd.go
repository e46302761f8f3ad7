package main

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"maps"
	"reflect"
	"strings"

	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/mallcoo"
)

// configCommand is `crmsync config`: the settings a run with the same flags,
// environment and config file would use, after flags > environment > config
// file > defaults, with the private key never shown. It takes run's flags,
// so an operator can paste the flags of a cron line after `crmsync config`.
type configCommand struct{ *env }

// effectiveConfig is what `crmsync config -json` prints.
type effectiveConfig struct {
	ConfigFile            string                    `json:"config_file"`
	BaseURL               string                    `json:"base_url"`
	Ledger                string                    `json:"ledger"`
	Report                string                    `json:"report,omitempty"`
	ReportDir             string                    `json:"report_dir"`
	Concurrency           int                       `json:"concurrency"`
	Rate                  float64                   `json:"rate"`
	Timeout               string                    `json:"timeout"`
	Retries               int                       `json:"retries"`
	Lang                  string                    `json:"lang"`
	Encoding              string                    `json:"encoding"`
	MaxRowsPerFile        int                       `json:"max_rows_per_file"`
	MaxCellBytes          int                       `json:"max_cell_bytes"`
	AlreadyDeliveredCodes []int                     `json:"already_delivered_codes"`
	SystemicCodes         []int                     `json:"systemic_codes"`
	Mappings              map[string]map[string]int `json:"mappings"`
	StrictDateTime        bool                      `json:"strict_datetime"`
	ScoreResendUncertain  bool                      `json:"score_resend_uncertain"`
	Required              map[string][]string       `json:"required"` // [kinds.<kind>] required, by kind
	Credentials           effectiveCredentials      `json:"credentials"`
	// Sources says where each setting came from: "flag -concurrency",
	// "env MALLCOO_BASE_URL", "config file" or "default".
	Sources map[string]string `json:"sources"`
}

// effectiveCredentials shows AppID and PublicKey (they travel in every
// request's headers) and only whether the private key is set, and from where.
type effectiveCredentials struct {
	AppID      string `json:"app_id"`
	PublicKey  string `json:"public_key"`
	PrivateKey string `json:"private_key"` // "set (from …)" or "missing: …"
}

func (c *configCommand) Run(ctx context.Context, args []string) error {
	sc := &syncCommand{env: c.env, name: "config"}
	fs := sc.flags()
	fs.Lookup("json").Usage = "print the settings as JSON on stdout"
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: crmsync config [run's flags]

Prints the settings a run with these flags, this environment and the -config
file (or $CRMSYNC_CONFIG) would use, and where each comes from; the private
key only as set or missing. Exit 1 when the config file or the environment
holds a mistake, 2 for a bad flag.

`)
		plainFlags(fs).PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("config reads no files; it takes run's flags only (got %q)", fs.Arg(0))
	}
	cfg, err := c.applyConfig(fs, sc.config)
	if err != nil {
		return err
	}
	out := c.effective(sc, cfg)
	if sc.json {
		return printJSON(c.stdout, out)
	}
	c.printConfig(out)
	return nil
}

// effective assembles the settings of sc after applyConfig.
func (c *configCommand) effective(sc *syncCommand, cfg *fileConfig) *effectiveConfig {
	out := &effectiveConfig{
		ConfigFile: cfg.path, BaseURL: cmp.Or(string(sc.send.baseURL), mallcoo.DefaultBaseURL), Ledger: sc.ledgerPath, Report: sc.reportPath,
		ReportDir: cfg.ReportDir, Concurrency: int(sc.send.concurrency), Rate: float64(sc.send.rate), Timeout: sc.send.timeout.String(),
		Retries: int(sc.send.retries), Lang: string(sc.language), Encoding: string(sc.encoding),
		MaxRowsPerFile: cmp.Or(int(cfg.MaxRowsPerFile), importer.DefaultMaxRowsPerFile), MaxCellBytes: cmp.Or(int(cfg.MaxCellBytes), importer.DefaultMaxCellBytes),
		AlreadyDeliveredCodes: append([]int{}, cfg.AlreadyDeliveredCodes...), SystemicCodes: append([]int{}, cfg.SystemicCodes...),
		Mappings: map[string]map[string]int{}, StrictDateTime: cfg.StrictDateTime, ScoreResendUncertain: cfg.ScoreResendUncertain,
		Required: map[string][]string{}, Sources: map[string]string{},
	}
	r := cfg.reader("", "", false)
	maps.Copy(out.Mappings, r.Mappings)
	for k, fields := range r.Required {
		out.Required[string(k)] = fields
	}
	for key := range out.settings() {
		out.Sources[key] = cmp.Or(cfg.origin[key], "default")
	}
	out.Sources["mappings"] = cmp.Or(cfg.origin["mappings"], "default")
	out.Sources["required"] = map[bool]string{false: "default", true: "config file"}[len(out.Required) > 0]
	if sc.reportPath != "" {
		out.Sources["report"], out.Sources["report_dir"] = "flag -report", "unused (flag -report)"
	} else {
		out.ReportDir = cmp.Or(out.ReportDir, "reports")
	}
	if sc.send.sandbox {
		out.BaseURL = "the fake Mallcoo API, in-process (-sandbox)"
		out.Credentials = effectiveCredentials{AppID: sandboxNote, PublicKey: sandboxNote, PrivateKey: sandboxNote}
		for _, k := range []string{"base_url", "credentials.app_id", "credentials.public_key", "credentials.private_key"} {
			out.Sources[k] = "flag -sandbox"
		}
		return out
	}
	cr, src, err := c.resolveCredentials(cfg)
	out.Credentials = effectiveCredentials{AppID: cr.AppID, PublicKey: cr.PublicKey, PrivateKey: "set (from " + src.PrivateKey + ")"}
	out.Sources["credentials.app_id"] = cmp.Or(src.AppID, "missing: set MALLCOO_APP_ID")
	out.Sources["credentials.public_key"] = cmp.Or(src.PublicKey, "missing: set MALLCOO_PUBLIC_KEY")
	out.Sources["credentials.private_key"] = src.PrivateKey
	switch {
	case err != nil:
		out.Credentials.PrivateKey, out.Sources["credentials.private_key"] = "unreadable: "+err.Error(), "unreadable"
	case cr.PrivateKey == "":
		out.Credentials.PrivateKey, out.Sources["credentials.private_key"] = "missing: set MALLCOO_PRIVATE_KEY_FILE (or MALLCOO_PRIVATE_KEY)", "missing"
	case src.PrivateKey == "config file private_key":
		out.Credentials.PrivateKey = "set (from config file private_key; prefer MALLCOO_PRIVATE_KEY_FILE)"
	}
	return out
}

const sandboxNote = "the public sample keys (-sandbox)"

// settings yields the settings of o shown one to a row, by key, in order:
// those of one value (not config_file, report, tables nor credentials).
func (o *effectiveConfig) settings() iter.Seq2[string, any] {
	return func(yield func(string, any) bool) {
		v := reflect.ValueOf(*o)
		for i := range v.NumField() {
			key, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			if k := v.Field(i).Kind(); k != reflect.Map && k != reflect.Struct && key != "config_file" && key != "report" && !yield(key, v.Field(i).Interface()) {
				return
			}
		}
	}
}

func (c *configCommand) printConfig(o *effectiveConfig) {
	w := newColumns(c.stdout)
	row := func(key, value, source string) {
		if source != "" {
			source = "(" + source + ")"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", key, value, source)
	}
	row("config file", cmp.Or(o.ConfigFile, "none (-config FILE or $CRMSYNC_CONFIG)"), "")
	for key, value := range o.settings() {
		switch {
		case key == "report_dir" && o.Report != "":
			key, value = "report", o.Report
		case key == "rate" && o.Rate == 0:
			value = "0 (unlimited)"
		case key == "rate":
			value = fmt.Sprintf("%v requests/s", o.Rate)
		}
		row(key, fmt.Sprint(value), o.Sources[key])
	}
	for _, kind := range sortedKeys(o.Required) {
		row("kinds."+kind+".required", strings.Join(o.Required[kind], ", "), "config file")
	}
	if len(o.Mappings) == 0 {
		row("mappings", "none", "")
	}
	for _, field := range sortedKeys(o.Mappings) {
		var pairs []string
		for _, word := range sortedKeys(o.Mappings[field]) {
			pairs = append(pairs, fmt.Sprintf("%s=%d", word, o.Mappings[field][word]))
		}
		row("mappings."+field, strings.Join(pairs, " "), "config file")
	}
	row("credentials.app_id", o.Credentials.AppID, o.Sources["credentials.app_id"])
	row("credentials.public_key", o.Credentials.PublicKey, o.Sources["credentials.public_key"])
	row("credentials.private_key", o.Credentials.PrivateKey, "")
	w.Flush()
}
