package report

import (
	"bytes"

	"github.com/crmsync/crmsync/mallcoo"
)

// topFields finds the members named names at the top level of the JSON
// object body and stores their number values in out (null and absent
// members leave "", a string member its unescaped-free content). It is a
// fast path for the finance totals, which read a few numbers from a million
// bodies; it reports false when body is not an object it understands, and
// the caller falls back to encoding/json. A member whose name has escapes
// matches no name (names have none).
func topFields(body []byte, names []string, out []string) bool {
	return mallcoo.EachMember(body, func(name, val []byte) bool {
		key := name[1 : len(name)-1]
		for j, n := range names {
			if string(key) != n {
				continue
			}
			switch {
			case string(val) == "null":
			case val[0] == '"':
				if bytes.IndexByte(val, '\\') >= 0 {
					return false
				}
				out[j] = string(val[1 : len(val)-1])
			default:
				out[j] = string(val)
			}
		}
		return true
	})
}
