package importer

import "testing"

func TestCheckEncoding(t *testing.T) {
	for _, s := range []string{"", "auto", "UTF-8", "utf8", "gbk", "cp936", "GB2312", "gb18030", " utf_8 "} {
		if err := CheckEncoding(s); err != nil {
			t.Errorf("CheckEncoding(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range []string{"latin1", "big5", "utf-16"} {
		if err := CheckEncoding(s); err == nil {
			t.Errorf("CheckEncoding(%q) = nil, want an error", s)
		}
	}
}
