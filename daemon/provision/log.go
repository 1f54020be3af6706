package provision

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// manifestTime is the provision's time as recorded: UTC, to the second.
func manifestTime(p *Provision) time.Time { return p.Time.UTC().Truncate(time.Second) }

// logLine is provision.log's line: the time, then key=value pairs that say who
// provided what to whom, and how much; never a personal value.
func logLine(p *Provision, its []string) string {
	var b strings.Builder
	b.WriteString(manifestTime(p).Format(time.RFC3339))
	for _, kv := range [][2]string{
		{"provision", p.ID}, {"application", p.Application},
		{"recipient", p.Recipient.ID}, {"recipient_name", p.Recipient.Name}, {"basis", p.Recipient.Basis},
		{"operator", p.Operator}, {"terminal", p.TerminalID}, {"items", strings.Join(its, ",")},
		{"queries", strconv.Itoa(p.Queries)}, {"matched_rows", strconv.Itoa(len(p.Results))},
		{"not_found", strconv.Itoa(len(p.NotFound))}, {"update_seq", strconv.FormatInt(p.UpdateSeq, 10)},
		{"request_sha256", p.RequestSHA256},
	} {
		if kv[0] == "request_sha256" && p.NationalRows > 0 {
			fmt.Fprintf(&b, " national_rows=%d", p.NationalRows)
		}
		fmt.Fprintf(&b, " %s=%s", kv[0], logValue(kv[1]))
	}
	return b.String() + "\n"
}

// logValue quotes a value that holds spaces, quotes, = or anything unprintable.
func logValue(v string) string {
	if v == "" || strings.ContainsFunc(v, func(r rune) bool {
		return r == '"' || r == '=' || r == '\\' || unicode.IsSpace(r) || !unicode.IsPrint(r)
	}) {
		return strconv.Quote(v)
	}
	return v
}
