package mallcoo

import (
	"crypto/md5"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// TimeStampLayout is the layout of the TimeStamp header: yyyyMMddHHmmss.
const TimeStampLayout = "20060102150405"

// Sign returns the Sign header of a request: the MD5 of
// "{publicKey:<publicKey>,timeStamp:<timeStamp>,data:<body>,privateKey:<privateKey>}",
// hex characters 8 to 23, upper-case. body must be the exact bytes sent:
// Mallcoo hashes what it receives, so a body marshalled twice may not match.
func Sign(publicKey, timeStamp string, body []byte, privateKey string) string {
	const frame = len("{publicKey:,timeStamp:,data:,privateKey:}")
	text := make([]byte, 0, frame+len(publicKey)+len(timeStamp)+len(body)+len(privateKey))
	text = append(text, "{publicKey:"...)
	text = append(text, publicKey...)
	text = append(text, ",timeStamp:"...)
	text = append(text, timeStamp...)
	text = append(text, ",data:"...)
	text = append(text, body...)
	text = append(text, ",privateKey:"...)
	text = append(text, privateKey...)
	text = append(text, '}')
	sum := md5.Sum(text)
	const hexUpper = "0123456789ABCDEF"
	var out [16]byte
	// Hex characters 8..23 are the hex of bytes 4..11.
	for i, b := range sum[4:12] {
		out[2*i] = hexUpper[b>>4]
		out[2*i+1] = hexUpper[b&15]
	}
	return string(out[:])
}

// TimeStamp returns the TimeStamp header for t: yyyyMMddHHmmss in China
// Standard Time, whatever the machine's zone, as Mallcoo's own servers
// read it.
func TimeStamp(t time.Time) string {
	return t.In(CST).Format(TimeStampLayout)
}

// ParseTimeStamp reads a TimeStamp header (14 digits, China Standard Time).
func ParseTimeStamp(s string) (time.Time, error) {
	if len(s) != len(TimeStampLayout) {
		return time.Time{}, fmt.Errorf("timestamp %q is not 14 digits (yyyyMMddHHmmss)", s)
	}
	if _, err := strconv.ParseUint(s, 10, 64); err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q is not 14 digits (yyyyMMddHHmmss)", s)
	}
	t, err := time.ParseInLocation(TimeStampLayout, s, CST)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q: %w", s, err)
	}
	return t, nil
}

// Environment variables that hold the credentials (read by cmd/crmsync).
const (
	EnvAppID      = "MALLCOO_APP_ID"
	EnvPublicKey  = "MALLCOO_PUBLIC_KEY"
	EnvPrivateKey = "MALLCOO_PRIVATE_KEY"
)

// Credentials are the keys a mall gets from Mallcoo. The private key is a
// secret: String, GoString, Format, LogValue and MarshalJSON all mask it,
// so printing or logging Credentials never reveals it.
type Credentials struct {
	AppID      string
	PublicKey  string
	PrivateKey string
}

// masked is how PrivateKey is shown: "***" when set, "" when missing.
func (c Credentials) masked() string {
	if c.PrivateKey == "" {
		return ""
	}
	return "***"
}

// String returns the credentials with the private key masked.
func (c Credentials) String() string {
	return fmt.Sprintf("{AppID:%s PublicKey:%s PrivateKey:%s}", c.AppID, c.PublicKey, c.masked())
}

// GoString returns the credentials as Go syntax with the private key masked.
func (c Credentials) GoString() string {
	return fmt.Sprintf("mallcoo.Credentials{AppID:%q, PublicKey:%q, PrivateKey:%q}", c.AppID, c.PublicKey, c.masked())
}

// Format implements fmt.Formatter so that every verb (%v, %+v, %#v, %s,
// %q, %x…) prints the masked form.
func (c Credentials) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, c.GoString())
	case verb == 'q':
		fmt.Fprintf(f, "%q", c.String())
	default:
		fmt.Fprint(f, c.String())
	}
}

// LogValue implements slog.LogValuer: logs see the masked form.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("app_id", c.AppID),
		slog.String("public_key", c.PublicKey),
		slog.String("private_key", c.masked()),
	)
}

// MarshalJSON writes the credentials with the private key masked, so a
// configuration dumped as JSON does not leak it.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `{"AppID":%q,"PublicKey":%q,"PrivateKey":%q}`, c.AppID, c.PublicKey, c.masked()), nil
}

// ErrMissingCredentials is wrapped by Check's error.
var ErrMissingCredentials = errors.New("mallcoo credentials missing")

// Check reports which credentials are missing (empty or blank), naming the
// environment variables to set.
func (c Credentials) Check() error {
	var missing []string
	if strings.TrimSpace(c.AppID) == "" {
		missing = append(missing, EnvAppID)
	}
	if strings.TrimSpace(c.PublicKey) == "" {
		missing = append(missing, EnvPublicKey)
	}
	if strings.TrimSpace(c.PrivateKey) == "" {
		missing = append(missing, EnvPrivateKey+" (or "+EnvPrivateKey+"_FILE)")
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%w: set %s", ErrMissingCredentials, strings.Join(missing, ", "))
}
