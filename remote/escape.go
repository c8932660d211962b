package remote

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Escape makes text that came from a node safe to print: control
// characters (ESC, BEL, CR, backspace, the other C0 and C1 codes, DEL),
// Unicode bidi overrides and invalid UTF-8 become visible escapes (\x1b,
// \r, \u202e), so node output can neither move the cursor, retitle the
// window, nor rewrite a line labctl printed. Newlines and tabs stay: the
// text is lines of output.
func Escape(s string) string { return escape(s, false) }

// EscapeLine is Escape for text printed within one line (an error, a
// status note): newlines and tabs are escaped too.
func EscapeLine(s string) string { return escape(s, true) }

func escape(s string, oneLine bool) string {
	if clean(s, oneLine) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case (r == '\n' || r == '\t') && !oneLine:
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// unsafeRune: C1 controls and the bidi controls that reorder what a
// terminal shows (Trojan Source).
func unsafeRune(r rune) bool {
	return (r >= 0x80 && r <= 0x9f) || r == 0x061c || r == 0x200e || r == 0x200f ||
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// clean says s needs no escaping (the common case costs no copy).
func clean(s string, oneLine bool) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1, unsafeRune(r), r == 0x7f:
			return false
		case r < 0x20 && (oneLine || (r != '\n' && r != '\t')):
			return false
		}
		i += size
	}
	return true
}
