package crmsync

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/gocarina/gocsv"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/mattn/go-sqlite3"
	_ "github.com/xuri/excelize/v2"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/text/encoding/simplifiedchinese"
	_ "golang.org/x/time/rate"
)
