package importer

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"
)

// tokens lists what a tokenizer yields, adjacent texts joined (encoding/xml
// may split a text at a CDATA section), and how it ended.
func tokens(tz tokenizer) ([]string, error) {
	var out []string
	var t xtok
	text := false
	for n := 0; n < 1<<20; n++ {
		err := tz.next(&t)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		switch t.kind {
		case tokText:
			if text {
				out[len(out)-1] += string(t.text)
				continue
			}
			out = append(out, "text "+string(t.text))
		case tokStart:
			s := "start " + string(t.name)
			if t.r != nil {
				s += fmt.Sprintf(" r=%q", t.r)
			}
			if t.t != nil {
				s += fmt.Sprintf(" t=%q", t.t)
			}
			out = append(out, s)
		case tokEnd:
			out = append(out, "end "+string(t.name))
		}
		text = t.kind == tokText
	}
	return out, fmt.Errorf("no end")
}

// checkScanner holds xmlScanner to encoding/xml's tokens for doc: where
// encoding/xml reads it, the scanner gives the same tokens.
func checkScanner(t *testing.T, doc string) {
	t.Helper()
	want, wantErr := tokens(&rawTokens{dec: xml.NewDecoder(strings.NewReader(doc))})
	got, err := tokens(&xmlScanner{br: newBufReader(doc)})
	if wantErr != nil {
		return // the scanner need only end, without a panic
	}
	if err != nil {
		t.Fatalf("xmlScanner(%q): %v; encoding/xml reads it as %q", doc, err, want)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("xmlScanner(%q)\n got %q\nwant %q", doc, got, want)
	}
}

// TestXMLScanner: the scanner reads worksheet XML as encoding/xml does:
// prefixes, self-closing elements, entities and character references,
// CDATA, comments, processing instructions, a DOCTYPE, '>' inside an
// attribute value, line ends in text.
func TestXMLScanner(t *testing.T) {
	for _, doc := range []string{
		hostileSheet,
		`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\r\n" + `<x:worksheet xmlns:x="urn:x"><x:sheetData><x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r='B1'/></x:row></x:sheetData></x:worksheet>`,
		`<!DOCTYPE x [<!ENTITY e "v">]><x a = "1>2" r="A&amp;1" t="&#x73;"><!-- a <c> in a comment --><v>a&lt;b&gt;c&quot;&apos;&#9;&#x4e2d;</v><![CDATA[<not a tag> & ]]]]><![CDATA[>]]></x>`,
		"<t>line\r\nbreaks\rhere</t><t><![CDATA[cr\r\nin cdata]]></t>",
		`<c r="A1" t="inlineStr"><is><r><t xml:space="preserve"> 金 </t></r><rPh sb="0"><t>キン</t></rPh></is></c>`,
		"<a/><b />\n<c\tr=\"1\"\n/>",
		"text at the end",
		"<a><!-->--><!---->--></a><!-->x-->", "0<!>>1<!x '>' \"<\" <!-- > --> <y>>2",
	} {
		checkScanner(t, doc)
	}
	for _, bad := range []string{"<c r=\"A1\"", "<c r=A1>", "<v>&nbsp;</v>", "<v>&#0;</v>", "<!-- no end", "<![CDATA[ no end", "< c>", "</>"} {
		if _, err := tokens(&xmlScanner{br: newBufReader(bad)}); err == nil {
			t.Errorf("xmlScanner(%q) read it, want a syntax error", bad)
		}
	}
}

// TestXMLScannerLongText: a text and a tag longer than the read buffer.
func TestXMLScannerLongText(t *testing.T) {
	long := strings.Repeat("金", 200<<10)
	checkScanner(t, `<v a="`+long+`">`+long+`&amp;</v>`)
}

func FuzzXMLScanner(f *testing.F) {
	f.Add(hostileSheet)
	f.Add(hostileSST)
	f.Add(`<x:c r="A1" t='s'><x:v>1</x:v></x:c><![CDATA[a]]><!--c--><?p?>&amp;&#x4e2d;` + "\r\n")
	f.Fuzz(func(t *testing.T, doc string) {
		checkScanner(t, doc)
	})
}

func newBufReader(s string) *bufioReader { return newBufioReader(bytes.NewReader([]byte(s))) }

type bufioReader = bufio.Reader

// newBufioReader is a small read buffer, so that texts and tags cross it.
func newBufioReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, 16) }
