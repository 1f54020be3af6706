package store

import (
	"strings"
	"testing"

	"jukiterm/store/record"
)

// TestRules covers every rule id with a notification that must be rejected by it and
// an accepted neighbour that differs in the one respect the rule is about. After each
// rejection the file must be exactly as before.
func TestRules(t *testing.T) {
	p1 := person(1)
	cases := []struct {
		rule   string
		setup  []any
		reject any
		accept any
	}{
		{"entering-current-resident", []any{p1}, p1.with("id", "again"), person(2)},
		{"entering-deceased", []any{p1, change(1, "d", "死亡")},
			p1.with("id", "back", "changed_on", "2026-06-01", "notified_on", "2026-06-01"),
			p1.with("id", "back", "changed_on", "2026-06-01", "notified_on", "2026-06-01", "reason", "職権記載")},
		{"entering-deceased", []any{p1, change(1, "d", "失踪宣告")},
			p1.with("id", "back", "changed_on", "2026-06-01", "notified_on", "2026-06-01", "reason", "国外からの転入"),
			p1.with("id", "back", "changed_on", "2026-06-01", "notified_on", "2026-06-01", "reason", "職権記載")},
		{"unknown-person", []any{p1}, change(9, "a", "転居", "address", "秋田市旭北1"), change(1, "a", "転居", "address", "秋田市旭北1")},
		{"removed-person", []any{p1, person(2), change(1, "l", "転出")},
			change(1, "a", "転居", "address", "秋田市旭北1", "changed_on", "2026-06-01", "notified_on", "2026-06-01"),
			change(2, "a", "転居", "address", "秋田市旭北1", "changed_on", "2026-06-01", "notified_on", "2026-06-01")},
		{"wrong-municipality", []any{p1}, change(1, "a", "転居", "address", "能代市1", "municipality", "052027"),
			change(1, "a", "転居", "address", "秋田市旭北1")},
		{"field-not-allowed", []any{p1}, change(1, "a", "転居", "address", "秋田市旭北1", "name", "秋田　次郎"),
			change(1, "a", "転居", "address", "秋田市旭北1")},
		{"field-not-allowed", []any{p1}, change(1, "a", "死亡", "address", "秋田市旭北1"), change(1, "a", "死亡")},
		{"field-not-allowed", []any{p1}, change(1, "a", "氏名変更", "name", "秋田　花", "name_kana", "アキタ　ハナ", "new_resident_code", "12000000077"),
			change(1, "a", "氏名変更", "name", "秋田　花", "name_kana", "アキタ　ハナ")},
		{"missing-field", []any{p1}, change(1, "a", "転居"), change(1, "a", "転居", "address", "秋田市旭北1")},
		{"missing-field", nil, person(2).with("my_number", nil), person(2)},
		{"missing-field", nil, person(2).with("id", nil), person(2)},
		{"missing-field", []any{p1}, change(1, "a", "職権修正"), change(1, "a", "職権修正", "sex", 2)},
		{"birth-mismatch", nil, person(2).with("reason", "出生", "birth", "2026-03-31"),
			person(2).with("reason", "出生", "birth", "2026-04-01")},
		{"changed-after-notified", []any{p1}, change(1, "a", "転居", "address", "秋田市旭北1", "changed_on", "2026-05-03"),
			change(1, "a", "転居", "address", "秋田市旭北1", "changed_on", "2026-05-02")},
		{"changed-before-birth", nil, person(2).with("birth", "2026-04-02"), person(2).with("birth", "2026-03-31")},
		{"changed-before-birth", []any{p1}, change(1, "a", "生年月日訂正", "birth", "2026-05-02"),
			change(1, "a", "生年月日訂正", "birth", "1990-01-16")},
		{"out-of-order", []any{p1}, change(1, "a", "転居", "address", "秋田市旭北1", "changed_on", "2026-03-01", "notified_on", "2026-03-02"),
			change(1, "a", "職権修正", "address", "秋田市旭北1", "changed_on", "2026-03-01", "notified_on", "2026-03-02")},
		{"duplicate-my-number", []any{p1}, person(2).with("my_number", p1["my_number"]), person(2)},
		{"duplicate-my-number", []any{p1, person(2)}, change(2, "a", "個人番号変更", "my_number", p1["my_number"]),
			change(2, "a", "個人番号変更", "my_number", myNumber("45000000099"))},
		{"duplicate-resident-code", []any{p1, person(2)}, change(1, "a", "住民票コード変更", "new_resident_code", "12000000002"),
			change(1, "a", "住民票コード変更", "new_resident_code", "12000000099")},
		{"duplicate-resident-code", []any{p1, change(1, "a", "住民票コード変更", "new_resident_code", "12000000098")},
			person(1).with("id", "t-again", "my_number", myNumber("45000000077")),
			person(3)},
		{"id-reused", []any{p1}, person(2).with("id", "t-1"), person(2)},
		{"bad-format", nil, "{not json", person(2)},
		{"bad-format", nil, person(2).with("nickname", "たろちゃん"), person(2)},
		{"bad-format", nil, person(2).with("sex", "1"), person(2)},
		{"bad-format", nil, `[1, 2]`, person(2)},
		{"bad-format", nil, person(2).with("id", nil, "ID", "t-2"), person(2)},
		{"bad-format", nil, strings.Replace(string(lines(person(2))), `"sex":1`, `"sex":1,"sex":2`, 1), person(2)},
		{"bad-format", nil, strings.Replace(string(lines(person(2))), `"sex":1`, `"sex":1,"name_gaiji":null`, 1), person(2)},
		{"bad-format", nil, person(2).with("name", "　"), person(2)},
		{"bad-format", nil, string(lines(person(2)))[:20] + `}{}`, person(2)},
		{"bad-reason", []any{p1}, change(1, "a", "引越し", "address", "秋田市旭北1"), change(1, "a", "転居", "address", "秋田市旭北1")},
		{"bad-resident-code", nil, person(2).with("resident_code", "1200000000"), person(2)},
		{"bad-resident-code", []any{p1}, change(1, "a", "住民票コード変更", "new_resident_code", "12a00000099"),
			change(1, "a", "住民票コード変更", "new_resident_code", "12000000099")},
		{"bad-my-number", nil, person(2).with("my_number", "123456789010"), person(2).with("my_number", "123456789018")},
		{"bad-municipality", nil, person(2).with("municipality", "052018"), person(2)},
		{"bad-municipality", nil, person(2).with("municipality", "131016"), person(2)},
		{"bad-date", nil, person(2).with("birth", "1990-02-30"), person(2).with("birth", "1990-02-28")},
		{"bad-date", nil, person(2).with("changed_on", "2026/04/01"), person(2)},
		{"bad-kana", nil, person(2).with("name_kana", "秋田　太郎"), person(2).with("name_kana", "あきた　たろう")},
		{"bad-kana", nil, person(2).with("name_kana", "Akita Taro"), person(2).with("name_kana", "ｱｷﾀ ﾀﾛｳ")},
		{"bad-sex", nil, person(2).with("sex", 3), person(2).with("sex", 2)},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			s := openTemp(t)
			if len(c.setup) > 0 {
				mustApply(t, s, c.setup...)
			}
			before := dump(t, s)
			res := ingest(t, s, c.reject)
			if res.Rejected != 1 || len(res.Rejections) != 1 || res.Rejections[0].Rule != c.rule {
				t.Fatalf("want rejected by %s, got %+v", c.rule, res)
			}
			if after := dump(t, s); after != before {
				t.Fatalf("file changed by a rejected notification:\nbefore %s\nafter %s", before, after)
			}
			var kept string
			if err := s.w.QueryRow(`SELECT rule FROM rejections ORDER BY rejection_id DESC LIMIT 1`).Scan(&kept); err != nil || kept != c.rule {
				t.Fatalf("rejection not recorded with its rule: %q, %v", kept, err)
			}
			res = ingest(t, s, c.accept)
			if res.Applied != 1 || res.Rejected != 0 {
				t.Fatalf("neighbour not applied: %+v", res)
			}
			if dump(t, s) == before {
				t.Fatal("applied neighbour left the file unchanged")
			}
		})
		covered[c.rule] = true
	}
	for _, id := range record.RuleIDs {
		if !covered[id] {
			t.Errorf("rule %s has no case", id)
		}
	}
}

func TestDuplicateIsHarmless(t *testing.T) {
	s := openTemp(t)
	mustApply(t, s, person(1))
	before := dump(t, s)
	// The same content, spaced and ordered differently, is the same notification.
	res := ingest(t, s, `{"sex":1,  "id":"t-1","municipality":"052019","reason":"転入","changed_on":"2026-04-01","notified_on":"2026-04-02","resident_code":"12000000001","my_number":"`+person(1)["my_number"].(string)+`","name":"秋田　太郎","name_kana":"アキタ　タロウ","birth":"1990-01-15","address":"秋田県秋田市山王一丁目1番1号"}`)
	if res.Duplicates != 1 || res.Applied != 0 || res.Rejected != 0 {
		t.Fatalf("want one duplicate, got %+v", res)
	}
	if dump(t, s) != before {
		t.Fatal("a duplicate changed the file")
	}
}

func TestReentryAfterTenshutsu(t *testing.T) {
	s := openTemp(t)
	mustApply(t, s, person(1), change(1, "out", "転出"),
		person(1).with("id", "in", "municipality", "052027", "changed_on", "2026-06-01", "notified_on", "2026-06-01", "address", "秋田県能代市1"))
	p, err := s.Get(t.Context(), "12000000001", true)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != "current" || p.Municipality != "052027" || len(p.Versions()) != 2 || p.Versions()[1].Status != "removed" {
		t.Fatalf("re-entry: %+v", p)
	}
}
