package daemon

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameRunes bounds an operator name (or simulated finger name) taken from a
// request without a session: anything longer is refused as over-long, and only this
// many characters of it ever reach a log line or the operation log.
const MaxNameRunes = 64

// cleanName makes unauthenticated text safe to log: control characters and invalid
// UTF-8 become U+FFFD, and it is cut to MaxNameRunes characters ("…" marks the cut).
// long says it was cut; runes is its length in characters.
func cleanName(s string) (clean string, runes int, long bool) {
	var b strings.Builder
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		runes++
		if runes > MaxNameRunes {
			continue // counted, not kept
		}
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	clean = b.String()
	if runes > MaxNameRunes {
		clean += "…"
		long = true
	}
	return clean, runes, long
}
