package importer

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// Tables are a mall's own words for what its files hold, as a config file
// writes them ([columns], [kinds.<kind>], [mappings.<field>]). NewReader
// checks them against mallcoo.Spec, the rules the reader applies them by.
type Tables struct {
	Columns  map[string]string         `toml:"columns"`  // header → field (API name), every kind
	Kinds    map[string]KindTables     `toml:"kinds"`    // by the kind's name as written
	Mappings map[string]map[string]int `toml:"mappings"` // field → a mall's word → code
}

// KindTables are the tables of one kind.
type KindTables struct {
	Required []string          `toml:"required"` // optional fields this mall requires
	Columns  map[string]string `toml:"columns"`  // header → field of this kind
}

// TableError is a mistake in Tables: Key is the path of keys to it as the
// config writes them (e.g. mappings, PayType, 微信), Problem what is wrong
// and what to write instead.
type TableError struct {
	Key     []string
	Problem string
}

func (e *TableError) Error() string { return strings.Join(e.Key, ".") + ": " + e.Problem }

func tableErr(format string, a []any, key ...string) error {
	return &TableError{Key: key, Problem: fmt.Sprintf(format, a...)}
}

// NewReader returns a Reader that reads with the tables t: kinds by their
// own names, mapping tables by their field's own spelling. A table that
// names no kind, no field of the kind, a field no mapping feeds or a code
// the field does not take, a second table for the same kind or field, or
// an empty or repeated word is a *TableError, and no Reader.
func NewReader(t Tables) (*Reader, error) {
	r := &Reader{}
	seen := map[crmsync.Kind]bool{}
	for _, name := range slices.Sorted(maps.Keys(t.Kinds)) {
		kt := t.Kinds[name]
		kind, err := crmsync.ParseKind(name)
		if err != nil {
			return nil, tableErr("no kind is called %s: want one of %s", []any{name, crmsync.KindList()}, "kinds", name)
		}
		if seen[kind] {
			return nil, tableErr("a second table for %s (kind names ignore case, and _ stands for -): merge them", []any{kind}, "kinds", name)
		}
		seen[kind] = true
		if _, err := mallcoo.SpecFor(kind, kt.Required); err != nil {
			return nil, tableErr("%v", []any{err}, "kinds", name, "required")
		}
		if err := checkColumns(kind, kt.Columns, "kinds", name, "columns"); err != nil {
			return nil, err
		}
		if len(kt.Required) > 0 {
			setIn(&r.Required, kind, kt.Required)
		}
		if len(kt.Columns) > 0 {
			setIn(&r.Columns, kind, kt.Columns)
		}
	}
	if err := checkColumns("", t.Columns, "columns"); err != nil {
		return nil, err
	}
	if len(t.Columns) > 0 {
		setIn(&r.Columns, "", t.Columns)
	}
	var err error
	r.Mappings, err = checkMappings(t.Mappings)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func setIn[K comparable, V any](m *map[K]V, k K, v V) {
	if *m == nil {
		*m = map[K]V{}
	}
	(*m)[k] = v
}

// checkColumns checks a [columns] table (kind "") or [kinds.<kind>.columns]:
// each header names a field (by its API name) of that kind, or of some kind.
func checkColumns(kind crmsync.Kind, m map[string]string, key ...string) error {
	seen := map[string]string{} // headerKey → header
	for _, header := range slices.Sorted(maps.Keys(m)) {
		field := m[header]
		// The reader matches headers as headerKey does: two headers it
		// takes for one would give the column either field, by map order.
		if prev, dup := seen[headerKey(header)]; dup && m[prev] != field {
			return tableErr("the same header as %q (headers ignore case, spaces, _ and *), for another field: keep one", []any{prev}, append(key, header)...)
		}
		seen[headerKey(header)] = header
		found := field == colEventID
		for _, kd := range crmsync.Kinds {
			if (kind == "" || kd == kind) && mallcoo.SpecOf(kd).Field(field) != nil {
				found = true
			}
		}
		if !found {
			where := "any kind"
			if kind != "" {
				where = string(kind)
			}
			return tableErr("no field of %s is called %s: want a field's API name, as in the import template (e.g. ReturnTime)", []any{where, field}, append(key, header)...)
		}
	}
	return nil
}

// checkMappings checks that each table names an integer field of some
// kind, that words are not empty nor repeated and codes are the field's,
// and keys each table by its field's own spelling (the reader matches
// names without regard to case).
func checkMappings(tables map[string]map[string]int) (map[string]map[string]int, error) {
	if len(tables) == 0 {
		return nil, nil
	}
	fields := mappableFields()
	out := map[string]map[string]int{}
	for _, name := range slices.Sorted(maps.Keys(tables)) {
		f := fields[strings.ToLower(name)]
		if f == nil {
			var names []string
			for _, f := range fields {
				names = append(names, f.Name)
			}
			slices.Sort(names)
			return nil, tableErr("no integer field is called %s; mappings apply to %s", []any{name, strings.Join(names, ", ")}, "mappings", name)
		}
		if _, dup := out[f.Name]; dup {
			return nil, tableErr("a second table for %s (field names ignore case): merge them", []any{f.Name}, "mappings", name)
		}
		words := map[string]string{}
		for _, word := range slices.Sorted(maps.Keys(tables[name])) {
			w := strings.ToLower(trimCell(word)) // as the reader matches cells (session)
			if w == "" {
				return nil, tableErr("an empty word maps nothing: remove it (an empty cell stays empty)", nil, "mappings", name, word)
			}
			if prev, dup := words[w]; dup {
				return nil, tableErr("the same word as %q (words ignore case and spaces): keep one", []any{prev}, "mappings", name, word)
			}
			words[w] = word
			switch n := tables[name][word]; {
			case n != int(int32(n)):
				return nil, tableErr("not a code: too large", nil, "mappings", name, word)
			case f.Closed && !f.Enum.Has(n):
				return nil, tableErr("not a code %s takes: it takes only %s", []any{f.Name, f.Enum.Text("zh", ", ")}, "mappings", name, word)
			}
		}
		out[f.Name] = tables[name]
	}
	return out, nil
}

// mappableFields returns, by lower-case name, every integer field of every
// kind, list items included: the fields a mapping table may feed.
func mappableFields() map[string]*mallcoo.Field {
	m := map[string]*mallcoo.Field{}
	add := func(fs []mallcoo.Field) {
		for i := range fs {
			if _, ok := m[strings.ToLower(fs[i].Name)]; !ok && fs[i].Type == mallcoo.Int {
				m[strings.ToLower(fs[i].Name)] = &fs[i]
			}
		}
	}
	for _, k := range crmsync.Kinds {
		s := mallcoo.SpecOf(k)
		add(s.Fields)
		for _, name := range slices.Sorted(maps.Keys(s.Items)) {
			add(s.Items[name].Fields)
		}
	}
	return m
}
