package ledger

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// Stored bodies and cells (schema 10) pack the two kinds of text that take
// most of a row's bytes once field names are tokens: date-times
// ("2023-01-01 09:04:39", 19 bytes, 5 packed) and long runs of digits (card
// IDs, serial numbers: "0201700000009", 13 bytes, 8 packed). The packing is
// exact: unpacking gives back the very bytes, so what is hashed, signed and
// sent, and what a report shows, does not change. Each packed run is a
// prefix byte the text around it cannot hold (the caller's escape), a type
// byte, and its payload:
//
//	packDateTime: 5 bytes, big-endian: ((((year-1900)·16 + month)·32 + day)·32 + hour)·64 + minute)·64 + second
//	packDigits:   the number of digits n (8 to 19), then the uvarint of their value (leading zeros are in n)
//
// Only a date-time with year 1900–2155, month 1–12, day 1–31, hour 0–23
// and minute and second 0–59 is packed; a run of digits is packed when it
// is whole (no digit before or after it) and 8 to 19 digits long.
const (
	packDateTime = 0xf0
	packDigits   = 0xf1
)

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// packAt appends src[i:]'s run of digits to dst when one starts at i
// (src[i] is a digit, src[i-1] is not): packed if packRun packs it, else
// as it is. It returns how many bytes of src it took (0: none starts at
// i).
func packAt[S ~string | ~[]byte](dst []byte, src S, i int, esc byte) ([]byte, int) {
	if !isDigit(src[i]) || i > 0 && isDigit(src[i-1]) {
		return dst, 0
	}
	dst, n, skip := packRun(dst, src, i, esc)
	if n == 0 && skip > 0 {
		dst, n = append(dst, src[i:i+skip]...), skip
	}
	return dst, n
}

// packRun reports whether src[i:] starts a run appendPacked packs
// (src[i] is a digit, src[i-1] is not); if so it appends esc, the type
// and the payload to dst and returns the bytes of src it stands for.
// Else it returns n = 0, or with skip the length of a run of digits to
// copy as it is (so that its tail is not taken for a run of its own).
func packRun[S ~string | ~[]byte](dst []byte, src S, i int, esc byte) (out []byte, n int, skip int) {
	j := i
	for j < len(src) && isDigit(src[j]) {
		j++
	}
	run := j - i
	if run == 4 && i+19 <= len(src) {
		if v, ok := dateTimeValue(src[i : i+19]); ok {
			dst = append(dst, esc, packDateTime, byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
			return dst, 19, 0
		}
	}
	if 8 <= run && run <= 19 && (j == len(src) || !isDigit(src[j])) {
		var v uint64 // 19 digits fit: 10^19 − 1 < 2^64
		for k := i; k < j; k++ {
			v = 10*v + uint64(src[k]-'0')
		}
		dst = append(dst, esc, packDigits, byte(run))
		return binary.AppendUvarint(dst, v), run, 0
	}
	return dst, 0, run
}

// dateTimeValue packs b, "YYYY-MM-DD hh:mm:ss", as packDateTime says.
func dateTimeValue[S ~string | ~[]byte](b S) (uint64, bool) {
	for k := 0; k < len(b); k++ {
		c := b[k]
		switch k {
		case 4, 7:
			if c != '-' {
				return 0, false
			}
		case 10:
			if c != ' ' {
				return 0, false
			}
		case 13, 16:
			if c != ':' {
				return 0, false
			}
		default:
			if !isDigit(c) {
				return 0, false
			}
		}
	}
	num := func(from, to int) uint64 {
		var v uint64
		for k := from; k < to; k++ {
			v = 10*v + uint64(b[k]-'0')
		}
		return v
	}
	y, mo, d, h, mi, s := num(0, 4), num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19)
	if y < 1900 || y > 2155 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 {
		return 0, false
	}
	return ((((y-1900)*16+mo)*32+d)*32+h)*64*64 + mi*64 + s, true
}

var errBadPack = errors.New("bad packed run")

// unpackRun appends the text of the packed run of type typ whose payload
// starts p, and returns the payload's length.
func unpackRun(dst []byte, typ byte, p []byte) ([]byte, int, error) {
	switch typ {
	case packDateTime:
		if len(p) < 5 {
			return nil, 0, errBadPack
		}
		v := uint64(p[0])<<32 | uint64(p[1])<<24 | uint64(p[2])<<16 | uint64(p[3])<<8 | uint64(p[4])
		s, mi, h := v%64, v/64%64, v/4096%32
		d, mo, y := v/(4096*32)%32, v/(4096*32*32)%16, v/(4096*32*32*16)+1900
		if y > 2155 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59 {
			return nil, 0, errBadPack
		}
		dst = appendPadded(dst, y, 4)
		dst = append(dst, '-')
		dst = appendPadded(dst, mo, 2)
		dst = append(dst, '-')
		dst = appendPadded(dst, d, 2)
		dst = append(dst, ' ')
		dst = appendPadded(dst, h, 2)
		dst = append(dst, ':')
		dst = appendPadded(dst, mi, 2)
		dst = append(dst, ':')
		return appendPadded(dst, s, 2), 5, nil
	case packDigits:
		if len(p) < 2 || p[0] < 8 || p[0] > 19 {
			return nil, 0, errBadPack
		}
		v, w := binary.Uvarint(p[1:])
		if w <= 0 {
			return nil, 0, errBadPack
		}
		n := len(dst)
		dst = appendPadded(dst, v, int(p[0]))
		if len(dst)-n != int(p[0]) {
			return nil, 0, errBadPack
		}
		return dst, 1 + w, nil
	}
	return nil, 0, errBadPack
}

// appendPadded appends v in decimal, with leading zeros to width digits.
func appendPadded(dst []byte, v uint64, width int) []byte {
	var buf [20]byte
	s := strconv.AppendUint(buf[:0], v, 10)
	for k := len(s); k < width; k++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}
