package socketio

// scanJSON checks in one pass what checkJSON used to check in two
// (json.Valid, then a depth count): that data is one JSON value as
// encoding/json accepts it, nested at most maxNesting deep. Every packet a
// client sends is checked, so this pass is on the hottest path there is.
// deep reports nesting beyond maxNesting, where the scan stops and valid
// means nothing: the caller then needs the slow path to tell a deep
// document from a broken one.
func scanJSON(data []byte) (valid, deep bool) {
	var stack [maxNesting]byte // the open containers, '{' or '['
	sp, n := 0, len(data)
	i := skipSpace(data, 0)
	for {
		// A value starts at i.
		if i >= n {
			return false, false
		}
		switch c := data[i]; {
		case c == '{' || c == '[':
			if sp == maxNesting {
				return false, true
			}
			stack[sp] = c
			sp++
			i = skipSpace(data, i+1)
			if i < n && data[i] == c+2 { // '}' is '{'+2, ']' is '['+2
				sp--
				i++
				break
			}
			if c == '{' {
				if i = objectKey(data, i); i < 0 {
					return false, false
				}
			}
			continue
		case c == '"':
			if i = scanString(data, i); i < 0 {
				return false, false
			}
		case c == 't':
			if i = literal(data, i, "true"); i < 0 {
				return false, false
			}
		case c == 'f':
			if i = literal(data, i, "false"); i < 0 {
				return false, false
			}
		case c == 'n':
			if i = literal(data, i, "null"); i < 0 {
				return false, false
			}
		default:
			if i = scanNumber(data, i); i < 0 {
				return false, false
			}
		}
		// A value ended at i: close containers until one wants more.
		for {
			i = skipSpace(data, i)
			if sp == 0 {
				return i == n, false
			}
			if i >= n {
				return false, false
			}
			top, c := stack[sp-1], data[i]
			if c == top+2 {
				sp--
				i++
				continue
			}
			if c != ',' {
				return false, false
			}
			i = skipSpace(data, i+1)
			if top == '{' {
				if i = objectKey(data, i); i < 0 {
					return false, false
				}
			}
			break
		}
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// objectKey scans `"key" :` from i and returns where the value starts, or
// -1.
func objectKey(data []byte, i int) int {
	if i >= len(data) || data[i] != '"' {
		return -1
	}
	if i = scanString(data, i); i < 0 {
		return -1
	}
	i = skipSpace(data, i)
	if i >= len(data) || data[i] != ':' {
		return -1
	}
	return skipSpace(data, i+1)
}

// scanString scans the string starting at the quote at i and returns the
// index after its closing quote, or -1. Like encoding/json's scanner it
// refuses control characters and bad escapes but not invalid UTF-8, which
// decoding replaces.
func scanString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			i++
			if i >= len(data) {
				return -1
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(data) {
					return -1
				}
				for _, h := range data[i+1 : i+5] {
					if !isHex(h) {
						return -1
					}
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func literal(data []byte, i int, lit string) int {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// scanNumber scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? from i
// and returns the index after it, or -1.
func scanNumber(data []byte, i int) int {
	n := len(data)
	if i < n && data[i] == '-' {
		i++
	}
	switch {
	case i < n && data[i] == '0':
		i++
	case i < n && data[i] >= '1' && data[i] <= '9':
		i = digits(data, i)
	default:
		return -1
	}
	if i < n && data[i] == '.' {
		j := digits(data, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < n && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < n && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := digits(data, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(data []byte, i int) int {
	for i < len(data) && data[i] >= '0' && data[i] <= '9' {
		i++
	}
	return i
}
