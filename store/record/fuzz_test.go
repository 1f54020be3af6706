package record

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary lines through the parser and the item checks: neither may
// panic, every failure names a known rule, and what parses survives a round trip.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"id":"1","municipality":"052019","reason":"転入","changed_on":"2026-04-01","notified_on":"2026-04-02","resident_code":"12000000001","my_number":"123456789018","name":"秋田　太郎","name_kana":"あきた　たろう","birth":"1990-01-15","sex":1,"address":"秋田県秋田市山王1"}`,
		`{"id":"2","municipality":"052019","reason":"転居","changed_on":"2026-04-01","notified_on":"2026-04-02","resident_code":"12000000001","address":"秋田市旭北1","address_gaiji":1}`,
		`{"id":"3","municipality":"052019","reason":"住民票コード変更","changed_on":"2026-04-01","notified_on":"2026-04-02","resident_code":"12000000001","new_resident_code":"12000000002"}`,
		`{"id":"4","municipality":"052019","reason":"死亡","changed_on":"2026-04-01","notified_on":"2026-04-02","resident_code":"12000000001"}`,
		`{"ID":"1"}`, `{"sex":"1"}`, `{"sex":1.5}`, `{"a":1}{}`, `[]`, `null`, `{`, "\xff", `{"id":null}`, `{"id":"1","id":"2"}`,
	} {
		f.Add([]byte(s))
	}
	for _, l := range readCorpus(f, "notifications.good.jsonl") {
		f.Add([]byte(l))
	}
	for _, l := range readCorpus(f, "notifications.bad.jsonl") {
		_, line, _ := strings.Cut(l, "\t")
		f.Add([]byte(line))
	}
	known := map[string]bool{}
	for _, r := range RuleIDs {
		known[r] = true
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		n, v := Parse(line)
		if v != nil {
			if n != nil || v.Rule != RuleBadFormat {
				t.Fatalf("Parse failure %+v with notification %v", v, n)
			}
			return
		}
		b, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		n2, v2 := Parse(b)
		if v2 != nil || n2.Hash() != n.Hash() {
			t.Fatalf("round trip of %s: %v", b, v2)
		}
		if v := Check(n, Akita()); v != nil && !known[v.Rule] {
			t.Fatalf("Check gave unknown rule %q", v.Rule)
		}
	})
}
