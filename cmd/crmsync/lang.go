package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo"
	"github.com/crmsync/crmsync/pipeline"
)

// The terminal speaks the run's language (-lang, lang = …; Chinese by
// default), as the report does. Only what a person reads is translated:
// the -json summary, outcome names there, log keys and exit codes are the
// contract and stay as they are.

// tr returns zh, or en when lang is English.
func tr(lang, zh, en string) string {
	if crmsync.English(lang) {
		return en
	}
	return zh
}

// lang is the language of the command's terminal messages: the run's
// (-lang of run, plan, retry, apply, reconcile, report), else the config's
// lang, else Chinese.
func (e *env) lang() string {
	if e.runLang != "" {
		return e.runLang
	}
	if e.cfg != nil && e.cfg.Lang != "" {
		return string(e.cfg.Lang)
	}
	return "zh"
}

// errorText is err as the operator reads it in lang: the refusals met on
// a night gone wrong — a ledger in use, a missing ledger, a ledger of
// another mall — in Chinese unless lang is English; every other error as
// its package words it.
func errorText(err error, lang string) string {
	if crmsync.English(lang) {
		return err.Error()
	}
	var le *ledger.LockedError
	var fe *ledger.FileError
	var me *ledger.MallError
	var se *pipeline.StoppedError
	switch {
	case errors.As(err, &se):
		return "发送已停止:" + se.Why.ZH
	case errors.As(err, &me):
		return fmt.Sprintf("账本 %s 属于商场「%s」,而配置文件写的是商场「%s」:请检查 -ledger 与 -config 是否都是这个商场的(每个商场各用一个账本)", me.Path, me.Ledger, me.Config)
	case errors.As(err, &le) && !le.OtherName:
		if le.PID == 0 {
			return fmt.Sprintf("账本 %s 正在被另一个 crmsync 使用:请等它结束,或停止它", le.Path)
		}
		cmd := le.Command
		if !strings.HasPrefix(cmd, "crmsync") {
			cmd = strings.TrimSpace("crmsync " + cmd)
		}
		at, now := le.Since.In(mallcoo.CST), time.Now().In(mallcoo.CST)
		since := at.Format("2006-01-02 15:04:05")
		if at.Format("20060102") == now.Format("20060102") {
			since = at.Format("15:04:05")
		}
		return fmt.Sprintf("账本 %s 正在使用中:主机 %s 上的进程 %d(%s,自 %s 起);请等它结束,或停止它", le.Path, le.Host, le.PID, cmd, since)
	case errors.As(err, &fe) && fe.Problem == ledger.ProblemMissing:
		return fmt.Sprintf("账本 %s 不存在:没有创建任何文件(新账本不记得已发送的内容,所有事件都会再发一次);请检查路径,或用 crmsync init -ledger %s 有意地创建一个账本", fe.Path, fe.Path)
	case errors.As(err, &fe) && fe.Problem == ledger.ProblemExists:
		return fmt.Sprintf("账本 %s 已存在:原样保留;要重新开始,请先把它移走(所有事件都会再发一次)", fe.Path)
	}
	return err.Error()
}

// pad pads s with spaces to width terminal columns, a Chinese character
// taking two.
func pad(s string, width int) string {
	if w := cells(s); w < width {
		return s + strings.Repeat(" ", width-w)
	}
	return s
}

// cells is the width of s in terminal columns, a Chinese character taking
// two.
func cells(s string) int {
	w := 0
	for _, r := range s {
		if r >= 0x1100 && (r <= 0x115f || r >= 0x2e80) {
			w += 2
		} else {
			w++
		}
	}
	return w
}

// columns aligns text in columns as text/tabwriter does (cells end at a
// tab; each column of a block of lines with tabs is as wide as its widest
// cell, plus two spaces), but by terminal columns: tabwriter counts a
// Chinese character as one, and status's tables of Chinese file names and
// headers came out askew.
type columns struct {
	out io.Writer
	buf []byte
}

func newColumns(out io.Writer) *columns { return &columns{out: out} }

func (c *columns) Write(p []byte) (int, error) {
	c.buf = append(c.buf, p...)
	return len(p), nil
}

// Flush writes what was written, aligned.
func (c *columns) Flush() error {
	lines := strings.SplitAfter(string(c.buf), "\n")
	c.buf = c.buf[:0]
	var b strings.Builder
	for i := 0; i < len(lines); {
		j := i // the block: lines i to j-1, each with a tab
		var widths []int
		for ; j < len(lines) && strings.Contains(lines[j], "\t"); j++ {
			cs := strings.Split(lines[j], "\t")
			for k, cell := range cs[:len(cs)-1] {
				if k == len(widths) {
					widths = append(widths, 0)
				}
				widths[k] = max(widths[k], cells(cell))
			}
		}
		if j == i {
			b.WriteString(lines[i])
			i++
			continue
		}
		for ; i < j; i++ {
			cs := strings.Split(lines[i], "\t")
			for k, cell := range cs[:len(cs)-1] {
				b.WriteString(pad(cell, widths[k]+2))
			}
			b.WriteString(cs[len(cs)-1])
		}
	}
	_, err := io.WriteString(c.out, b.String())
	return err
}
