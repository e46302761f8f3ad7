package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
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
//	already_delivered_codes = []  # business Codes that mean "already delivered"
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
	AlreadyDeliveredCodes []int                     `toml:"already_delivered_codes"`
	SystemicCodes         []int                     `toml:"systemic_codes"`
	Credentials           configCredentials         `toml:"credentials"`
	Mappings              map[string]map[string]int `toml:"mappings"`
}

type configCredentials struct {
	AppID          string `toml:"app_id"`
	PublicKey      string `toml:"public_key"`
	PrivateKey     string `toml:"private_key"`
	PrivateKeyFile string `toml:"private_key_file"`
}

// loadConfig reads a -config file strictly: an unknown key is a mistake to
// report, not to ignore.
func loadConfig(path string) (*fileConfig, error) {
	var c fileConfig
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("config %s: %s", path, pe.ErrorWithPosition())
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("config %s: unknown setting %s (see `go doc ./cmd/crmsync` for the keys)", path, strings.Join(keys, ", "))
	}
	if c.Timeout != "" {
		if _, err := time.ParseDuration(c.Timeout); err != nil {
			return nil, fmt.Errorf("config %s: timeout %q: want a duration such as \"10s\"", path, c.Timeout)
		}
	}
	return &c, nil
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
	vals := cfg.flagValues()
	if u := e.getenv("MALLCOO_BASE_URL"); u != "" {
		vals["base-url"] = u
	}
	names := make([]string, 0, len(vals))
	for n := range vals {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if set[name] || fs.Lookup(name) == nil {
			continue
		}
		if err := fs.Set(name, vals[name]); err != nil {
			return nil, fmt.Errorf("config %s: %s = %q: %v", path, name, vals[name], err)
		}
	}
	return cfg, nil
}

// configCredentialsFrom fills credentials the environment left empty from
// the config file.
func (c *fileConfig) fillCredentials(appID, publicKey, privateKey *string) error {
	if *appID == "" {
		*appID = c.Credentials.AppID
	}
	if *publicKey == "" {
		*publicKey = c.Credentials.PublicKey
	}
	if *privateKey == "" {
		*privateKey = c.Credentials.PrivateKey
		if *privateKey == "" && c.Credentials.PrivateKeyFile != "" {
			b, err := os.ReadFile(c.Credentials.PrivateKeyFile)
			if err != nil {
				return fmt.Errorf("config: read private_key_file: %w", err)
			}
			*privateKey = strings.TrimSpace(string(b))
		}
	}
	return nil
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
