package importer

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// The worksheet and shared-strings parts are read token by token. encoding/xml
// reads a byte at a time through an interface and allocates every name and
// attribute: on a big sheet that was a third of a plan. xmlScanner reads
// the same tokens from UTF-8 XML in slices; a part declared in another
// encoding goes through encoding/xml (rawTokens). Both give only what the
// readers use: start and end elements by local name with their r and t
// attributes, and text with entities decoded and line ends normalised, as
// encoding/xml gives it. TestXMLScanner and FuzzXMLScanner hold the one to
// the other.

// xtok is one token.
type xtok struct {
	kind byte   // tokStart, tokEnd or tokText
	name []byte // the local name of an element
	r, t []byte // a start element's r and t attributes; nil when absent
	text []byte
}

const (
	tokStart = '<'
	tokEnd   = '/'
	tokText  = 't'
)

// tokenizer yields the tokens of a part; io.EOF at its end. A token is
// valid until the next call.
type tokenizer interface {
	next(*xtok) error
}

// newTokenizer returns the scanner for r, or encoding/xml's tokens when the
// part declares an encoding other than UTF-8.
//
// max (0: none) bounds what the scanner holds of one text: the bytes of a
// text beyond max+1 are read and dropped, so a text longer than max is
// still seen to be, and a runaway cell is never held whole; a tag longer
// than maxTag is a syntax error.
func newTokenizer(r io.Reader, charset func(string, io.Reader) (io.Reader, error), max int) tokenizer {
	br := bufio.NewReaderSize(r, 256<<10)
	head, _ := br.Peek(256)
	if enc := declaredEncoding(head); enc != "" && !bytes.EqualFold([]byte(enc), []byte("utf-8")) && !bytes.EqualFold([]byte(enc), []byte("utf8")) {
		dec := xml.NewDecoder(br)
		dec.CharsetReader = charset
		return &rawTokens{dec: dec}
	}
	return &xmlScanner{br: br, max: max}
}

// maxTag is the longest tag the scanner reads: a worksheet's tags are
// short, whatever their cells hold.
const maxTag = 1 << 20

// declaredEncoding returns the encoding an XML declaration at the start of
// head names, "" when none.
func declaredEncoding(head []byte) string {
	head = bytes.TrimPrefix(head, bom)
	if !bytes.HasPrefix(head, []byte("<?xml")) {
		return ""
	}
	if end := bytes.Index(head, []byte("?>")); end > 0 {
		head = head[:end]
	}
	i := bytes.Index(head, []byte("encoding"))
	if i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(head[i+len("encoding"):], " \t\r\n")
	rest = bytes.TrimPrefix(rest, []byte("="))
	rest = bytes.TrimLeft(rest, " \t\r\n")
	if len(rest) == 0 || rest[0] != '"' && rest[0] != '\'' {
		return ""
	}
	if j := bytes.IndexByte(rest[1:], rest[0]); j >= 0 {
		return string(rest[1 : 1+j])
	}
	return ""
}

// rawTokens gives encoding/xml's RawTokens as xtoks.
type rawTokens struct {
	dec *xml.Decoder
}

func (d *rawTokens) next(t *xtok) error {
	for {
		tok, err := d.dec.RawToken()
		if err != nil {
			return err
		}
		switch el := tok.(type) {
		case xml.StartElement:
			*t = xtok{kind: tokStart, name: []byte(el.Name.Local)}
			for _, a := range el.Attr {
				switch a.Name.Local {
				case "r":
					t.r = []byte(a.Value)
				case "t":
					t.t = []byte(a.Value)
				}
			}
			return nil
		case xml.EndElement:
			*t = xtok{kind: tokEnd, name: []byte(el.Name.Local)}
			return nil
		case xml.CharData:
			*t = xtok{kind: tokText, text: el}
			return nil
		}
	}
}

// xmlScanner reads UTF-8 XML.
type xmlScanner struct {
	br      *bufio.Reader
	tag     []byte // the current tag, between < and >
	text    []byte
	name    []byte
	r, t    []byte
	rbuf    []byte // r and t decoded
	tbuf    []byte
	max     int  // see newTokenizer
	pending bool // a self-closing element's end is due
	inTag   bool // the '<' of a tag was read with the text before it
}

var errXML = errors.New("XML syntax error")

func syntaxErr(what string) error { return fmt.Errorf("%w: %s", errXML, what) }

func (s *xmlScanner) next(t *xtok) error {
	if s.pending {
		s.pending = false
		*t = xtok{kind: tokEnd, name: s.name}
		return nil
	}
	for {
		if !s.inTag {
			// Text up to the next '<'.
			s.text = s.text[:0]
			raw := false
			for {
				b, err := s.br.ReadSlice('<')
				if err == nil {
					s.text = s.keep(s.text, b[:len(b)-1])
					s.inTag = true
					break
				}
				s.text = s.keep(s.text, b)
				if err == bufio.ErrBufferFull {
					continue
				}
				if err == io.EOF {
					raw = true
					break
				}
				return err
			}
			if s.max > 0 && len(s.text) > s.max {
				// Cut short: too long to be a cell, and an entity may be
				// cut in two.
				*t = xtok{kind: tokText, text: s.text}
				return nil
			}
			if len(s.text) > 0 {
				text, err := decodeText(s.text[:0], s.text)
				if err != nil {
					return err
				}
				s.text = text
				*t = xtok{kind: tokText, text: s.text}
				return nil
			}
			if raw {
				return io.EOF
			}
		}
		s.inTag = false
		c, err := s.br.ReadByte()
		if err != nil {
			return syntaxErr("unexpected end in a tag")
		}
		switch c {
		case '?':
			if err := s.skipTo("?>"); err != nil {
				return err
			}
			continue
		case '!':
			ok, err := s.special(t)
			if err != nil || ok {
				return err
			}
			continue
		case '/':
			if err := s.readTag(); err != nil {
				return err
			}
			name := s.tag
			for len(name) > 0 && isSpace(name[len(name)-1]) {
				name = name[:len(name)-1]
			}
			if len(name) == 0 {
				return syntaxErr("bad end tag")
			}
			for _, c := range name { // readTag refused a '<'
				if isSpace(c) {
					return syntaxErr("bad end tag")
				}
			}
			s.name = localName(name)
			*t = xtok{kind: tokEnd, name: s.name}
			return nil
		}
		if err := s.br.UnreadByte(); err != nil {
			return err
		}
		if err := s.readTag(); err != nil {
			return err
		}
		if err := s.startTag(); err != nil {
			return err
		}
		*t = xtok{kind: tokStart, name: s.name, r: s.r, t: s.t}
		return nil
	}
}

// readTag reads the rest of a tag up to its '>' (not one inside a quoted
// attribute value) into s.tag, without the '>'.
func (s *xmlScanner) readTag() error {
	s.tag = s.tag[:0]
	var quote byte
	for {
		b, err := s.br.ReadSlice('>')
		if err != nil && err != bufio.ErrBufferFull {
			return syntaxErr("unexpected end in a tag")
		}
		for _, c := range b {
			switch {
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'':
				quote = c
			case c == '<':
				return syntaxErr("'<' in a tag")
			}
		}
		s.tag = append(s.tag, b...)
		if len(s.tag) > maxTag {
			return syntaxErr(fmt.Sprintf("a tag longer than %d bytes", maxTag))
		}
		if err == nil && quote == 0 {
			s.tag = s.tag[:len(s.tag)-1]
			return nil
		}
	}
}

// startTag parses s.tag as a start element: its local name, its r and t
// attributes (decoded) and whether it closes itself.
func (s *xmlScanner) startTag() error {
	tag := s.tag
	if n := len(tag); n > 0 && tag[n-1] == '/' {
		s.pending = true
		tag = tag[:n-1]
	}
	i := 0
	for i < len(tag) && !isSpace(tag[i]) {
		i++
	}
	if i == 0 {
		return syntaxErr("a tag without a name")
	}
	s.name = localName(tag[:i])
	s.r, s.t = nil, nil
	for {
		for i < len(tag) && isSpace(tag[i]) {
			i++
		}
		if i == len(tag) {
			return nil
		}
		start := i
		for i < len(tag) && tag[i] != '=' && !isSpace(tag[i]) {
			i++
		}
		name := localName(tag[start:i])
		for i < len(tag) && isSpace(tag[i]) {
			i++
		}
		if i == len(tag) || tag[i] != '=' {
			return syntaxErr("an attribute without a value")
		}
		i++
		for i < len(tag) && isSpace(tag[i]) {
			i++
		}
		if i == len(tag) || tag[i] != '"' && tag[i] != '\'' {
			return syntaxErr("an attribute value without quotes")
		}
		q := tag[i]
		i++
		end := bytes.IndexByte(tag[i:], q)
		if end < 0 {
			return syntaxErr("an attribute value that does not end")
		}
		val := tag[i : i+end]
		i += end + 1
		if len(name) == 1 && (name[0] == 'r' || name[0] == 't') {
			// Into a buffer of each, never nil: r="" is there, and empty.
			buf := &s.rbuf
			if name[0] == 't' {
				buf = &s.tbuf
			}
			if *buf == nil {
				*buf = make([]byte, 0, 16)
			}
			v, err := decodeText((*buf)[:0], val)
			if err != nil {
				return err
			}
			*buf = v
			if name[0] == 'r' {
				s.r = v
			} else {
				s.t = v
			}
		}
	}
}

// special reads what follows "<!": a comment or a DOCTYPE (skipped), or a
// CDATA section (its text, as is, into t: ok).
func (s *xmlScanner) special(t *xtok) (ok bool, err error) {
	head, err := s.br.Peek(2)
	if err == nil && string(head) == "--" {
		s.br.Discard(2)
		return false, s.skipTo("-->")
	}
	head, err = s.br.Peek(7)
	if err == nil && string(head) == "[CDATA[" {
		s.br.Discard(7)
		s.text = s.text[:0]
		var tail []byte
		for {
			b, err := s.br.ReadSlice('>')
			if err != nil && err != bufio.ErrBufferFull {
				return false, syntaxErr("a CDATA section that does not end")
			}
			tail = append(tail, b...)
			if len(tail) > 3 {
				s.text = s.keep(s.text, tail[:len(tail)-3])
				tail = append(tail[:0], tail[len(tail)-3:]...)
			}
			if err == nil && string(tail) == "]]>" {
				// A text cut short stays as held, still too long (line
				// ends normalised would make it shorter).
				if s.max == 0 || len(s.text) <= s.max {
					s.text = normalizeLineEnds(s.text)
				}
				*t = xtok{kind: tokText, text: s.text}
				return true, nil
			}
		}
	}
	// A directive (a DOCTYPE): skipped to its '>' as encoding/xml reads
	// it: its first byte is its own, quoted '<' and '>' do not nest,
	// comments inside are skipped.
	if _, err := s.br.ReadByte(); err != nil {
		return false, syntaxErr("a declaration that does not end")
	}
	var quote byte
	depth := 0
	for {
		c, err := s.br.ReadByte()
		if err != nil {
			return false, syntaxErr("a declaration that does not end")
		}
		if quote == 0 && c == '>' && depth == 0 {
			return false, nil
		}
	handle:
		switch {
		case c == quote:
			quote = 0
		case quote != 0:
		case c == '\'' || c == '"':
			quote = c
		case c == '>':
			depth--
		case c == '<':
			for i := 0; i < 3; i++ {
				if c, err = s.br.ReadByte(); err != nil {
					return false, syntaxErr("a declaration that does not end")
				}
				if c != "!--"[i] {
					depth++
					goto handle
				}
			}
			var b0, b1 byte
			for {
				if c, err = s.br.ReadByte(); err != nil {
					return false, syntaxErr("a comment that does not end")
				}
				if b0 == '-' && b1 == '-' && c == '>' {
					break
				}
				b0, b1 = c, b0
			}
		}
	}
}

// skipTo reads past the next end (a comment's "-->", a PI's "?>").
func (s *xmlScanner) skipTo(end string) error {
	last := end[len(end)-1]
	var tail []byte
	for {
		b, err := s.br.ReadSlice(last)
		if err != nil && err != bufio.ErrBufferFull {
			return syntaxErr("unexpected end")
		}
		tail = append(tail, b...)
		if len(tail) > len(end) {
			tail = tail[len(tail)-len(end):]
		}
		if err == nil && bytes.HasSuffix(tail, []byte(end)) {
			return nil
		}
	}
}

// keep appends b to text up to the scanner's max+1 bytes.
func (s *xmlScanner) keep(text, b []byte) []byte { return appendMax(text, b, s.max) }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// localName is a name without its prefix, as encoding/xml splits it: at a
// ':' with text on both sides ("x:c" is c; ":c", "c:" are themselves).
func localName(name []byte) []byte {
	if i := bytes.IndexByte(name, ':'); i > 0 && i < len(name)-1 {
		return name[i+1:]
	}
	return name
}

// normalizeLineEnds turns CRLF and a lone CR into LF, in place.
func normalizeLineEnds(b []byte) []byte {
	if bytes.IndexByte(b, '\r') < 0 {
		return b
	}
	out := b[:0]
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '\r' {
			if i+1 < len(b) && b[i+1] == '\n' {
				continue
			}
			c = '\n'
		}
		out = append(out, c)
	}
	return out
}

// decodeText appends raw with its entity and character references
// decoded and its line ends normalised to dst (which may be raw[:0]: the
// decoded text is never longer).
func decodeText(dst, raw []byte) ([]byte, error) {
	if bytes.IndexByte(raw, '&') < 0 {
		return append(dst, normalizeLineEnds(raw)...), nil
	}
	raw = normalizeLineEnds(raw)
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '&')
		if i < 0 {
			return append(dst, raw...), nil
		}
		dst = append(dst, raw[:i]...)
		raw = raw[i+1:]
		end := bytes.IndexByte(raw, ';')
		if end < 0 {
			return nil, syntaxErr("an entity reference that does not end")
		}
		ent := raw[:end]
		raw = raw[end+1:]
		switch string(ent) {
		case "lt":
			dst = append(dst, '<')
		case "gt":
			dst = append(dst, '>')
		case "amp":
			dst = append(dst, '&')
		case "apos":
			dst = append(dst, '\'')
		case "quot":
			dst = append(dst, '"')
		default:
			if len(ent) < 2 || ent[0] != '#' {
				return nil, syntaxErr(fmt.Sprintf("unknown entity &%s;", ent))
			}
			var n uint64
			var err error
			if ent[1] == 'x' {
				n, err = strconv.ParseUint(string(ent[2:]), 16, 32)
			} else {
				n, err = strconv.ParseUint(string(ent[1:]), 10, 32)
			}
			if err != nil || !isXMLChar(rune(n)) {
				return nil, syntaxErr(fmt.Sprintf("bad character reference &%s;", ent))
			}
			dst = utf8.AppendRune(dst, rune(n))
		}
	}
	return dst, nil
}

// isXMLChar reports whether r may be written as a character reference.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}
