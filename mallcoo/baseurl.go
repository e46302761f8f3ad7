package mallcoo

import (
	"errors"
	"net"
	"net/url"
	"strings"
)

// CheckBaseURL says whether s can be the base URL of the Mallcoo API:
// https://host[:port], or http:// only to this machine (a loopback address
// or "localhost": the sandbox, crmsync mock and tests). Signed requests
// and members' personal data never cross a network in clear.
func CheckBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return errors.New(`want a URL such as "https://openapi10.mallcoo.cn"`)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return errors.New(`plain http:// is allowed only to this machine (127.0.0.1, ::1, localhost): members' data and signed requests would cross the network in clear; use https://`)
	}
	return nil
}

// isLoopback reports whether host names this machine without a DNS
// look-up.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
