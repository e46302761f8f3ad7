package report

import (
	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// Columns returns the header cells of kind's import template in the
// language: the Chinese Field.Label for "zh" (the default), the API
// Field.Name for "en". The problems workbook uses the same headers, so a
// fixed problems file reads back like a template.
func Columns(kind crmsync.Kind, lang string) []string {
	return columns(kind, parseLang(lang))
}

func columns(kind crmsync.Kind, l lang) []string {
	fields := mallcoo.SpecOf(kind).Fields
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = fieldHeader(f, l)
	}
	return out
}

// fieldHeader is the header of one template column.
func fieldHeader(f mallcoo.Field, l lang) string {
	if l == "en" || f.Label == "" {
		return f.Name
	}
	return f.Label
}

// columnName names the column a problem is in (an API field name) for a
// person: "消费金额(TradeAmount)" in Chinese, the API name in English.
func columnName(kind crmsync.Kind, name string, l lang) string {
	if l == "en" {
		return name
	}
	if f := mallcoo.SpecOf(kind).Field(name); f != nil && f.Label != "" {
		return f.Label + "(" + f.Name + ")"
	}
	return name
}
