package importer

import (
	"errors"
	"strings"
)

// CheckEncoding says whether the reader knows the CSV encoding named s
// (Reader.Encoding): auto (or ""), utf-8, gbk or gb18030, with the
// aliases utf8, cp936 and gb2312, in any case, "_" for "-". A config file
// and a flag check with it, so they accept what the reader reads.
func CheckEncoding(s string) error {
	switch encodingMode(s) {
	case "", "auto", "utf-8", "utf8", "gbk", "cp936", "gb2312", "gb18030":
		return nil
	}
	return errors.New(`want "auto", "utf-8", "gbk" or "gb18030"`)
}

// encodingMode is s in the form the reader compares.
func encodingMode(s string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "_", "-"))
}
