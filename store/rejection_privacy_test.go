package store

import (
	"strings"
	"testing"
)

// An administrator may ingest but not search: a rejection must not answer a probe with
// what the file holds. Each probe below is rejected by a check against the file, and
// its message may quote the probe's own items but no stored value the probe lacks.
func TestRejectionsQuoteNoStoredValue(t *testing.T) {
	s := openTemp(t)
	live := person(1).with("birth", "1961-07-23", "changed_on", "2013-04-13", "notified_on", "2013-04-15",
		"address", "秋田県秋田市保戸野金砂町3番1号")
	dead := person(2).with("birth", "1955-11-02", "changed_on", "2012-08-09", "notified_on", "2012-08-10")
	mustApply(t, s, live, dead, change(2, "d", "死亡", "changed_on", "2014-02-03", "notified_on", "2014-02-04"))
	stored := []string{"1961-07-23", "2013-04-13", "2013-04-15", "052019", "保戸野金砂町", "1955-11-02",
		"2014-02-03", "2014-02-04", "死亡", live["my_number"].(string), dead["my_number"].(string)}

	probes := []struct {
		rule  string
		probe n
	}{
		{"changed-before-birth", change(1, "p1", "住民票コード変更", "new_resident_code", "12000000555",
			"changed_on", "1868-01-01", "notified_on", "1868-01-01")},
		{"wrong-municipality", change(1, "p2", "転居", "municipality", "052027", "address", "秋田県能代市1")},
		{"out-of-order", change(1, "p3", "転居", "address", "秋田市旭北1", "changed_on", "1970-01-01", "notified_on", "1970-01-02")},
		{"removed-person", change(2, "p4", "転居", "address", "秋田市旭北1", "changed_on", "2026-06-01", "notified_on", "2026-06-01")},
		{"entering-deceased", person(2).with("id", "p5", "changed_on", "2026-06-01", "notified_on", "2026-06-01")},
		{"entering-current-resident", person(1).with("id", "p6", "birth", "2000-01-01")},
		{"duplicate-my-number", person(3).with("id", "p7", "my_number", live["my_number"])},
		{"duplicate-my-number", change(1, "p8", "個人番号変更", "my_number", dead["my_number"], "changed_on", "2026-06-01", "notified_on", "2026-06-01")},
		{"duplicate-resident-code", change(1, "p9", "住民票コード変更", "new_resident_code", "12000000002",
			"changed_on", "2026-06-01", "notified_on", "2026-06-01")},
	}
	for _, p := range probes {
		line := string(lines(p.probe))
		res := ingest(t, s, p.probe)
		if res.Rejected != 1 || res.Rejections[0].Rule != p.rule {
			t.Fatalf("probe %s: want rejected by %s, got %+v", p.probe["id"], p.rule, res)
		}
		msg := res.Rejections[0].Message
		for _, v := range stored {
			if !strings.Contains(line, v) && strings.Contains(msg, v) {
				t.Errorf("probe %s (%s): the message quotes the stored value %s: %s", p.probe["id"], p.rule, v, msg)
			}
		}
	}
}
