package report

// topFields finds the members named names at the top level of the JSON
// object body and stores their number values in out (null and absent
// members leave "", a string member its unescaped-free content). It is a
// fast path for the finance totals, which read a few numbers from a million
// bodies; it reports false when body is not an object it understands, and
// the caller falls back to encoding/json.
func topFields(body []byte, names []string, out []string) bool {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	i++
	for {
		i = skipSpace(body, i)
		if i >= len(body) {
			return false
		}
		if body[i] == '}' {
			return true
		}
		if body[i] != '"' {
			return false
		}
		end, plain := stringEnd(body, i)
		if end < 0 {
			return false
		}
		key := body[i+1 : end-1]
		i = skipSpace(body, end)
		if i >= len(body) || body[i] != ':' {
			return false
		}
		i = skipSpace(body, i+1)
		vend := valueEnd(body, i)
		if vend < 0 {
			return false
		}
		if plain {
			for j, n := range names {
				if string(key) == n {
					switch v := body[i:vend]; {
					case string(v) == "null":
					case v[0] == '"':
						if _, p := stringEnd(v, 0); !p {
							return false
						}
						out[j] = string(v[1 : len(v)-1])
					default:
						out[j] = string(v)
					}
				}
			}
		}
		i = skipSpace(body, vend)
		if i >= len(body) {
			return false
		}
		switch body[i] {
		case ',':
			i++
		case '}':
			return true
		default:
			return false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string starting at b[i] == '"',
// or -1, and whether it has no escapes.
func stringEnd(b []byte, i int) (int, bool) {
	plain := true
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			plain = false
			j++
		case '"':
			return j + 1, plain
		}
	}
	return -1, false
}

// valueEnd returns the index just past the JSON value starting at b[i], or
// -1.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := stringEnd(b, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _ := stringEnd(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\r' && b[j] != '\t' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}
