package provision

import (
	"slices"
	"strings"
	"testing"

	"jukiterm/store/record"
)

// TestItems: every FORMATS.md §3 field is an item; ParseItems puts them in canonical
// order and refuses unknown and repeated names.
func TestItems(t *testing.T) {
	want := []string{"resident_code", "my_number", "name", "name_kana", "name_kana_seion", "name_gaiji", "birth",
		"sex", "address", "address_gaiji", "municipality", "district_code", "reason", "changed_on", "notified_on",
		"update_seq", "status", "former_surname", "former_surname_kana", "former_surname_gaiji"}
	if !slices.Equal(Items(), want) {
		t.Fatalf("items %v", Items())
	}
	got, err := ParseItems([]string{"status", "name", "resident_code"})
	if err != nil || !slices.Equal(got, []string{"resident_code", "name", "status"}) {
		t.Fatalf("%v %v", got, err)
	}
	for in, msg := range map[string]string{"": "no item is given", "name,name": `item "name" is given twice`,
		"name,password": `unknown item "password"`, "query_id": `unknown item "query_id"`} {
		var names []string
		if in != "" {
			names = strings.Split(in, ",")
		}
		if _, err := ParseItems(names); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v", in, err)
		}
	}
}

// TestValue: each item reads its own field, as text.
func TestValue(t *testing.T) {
	r := record.Record{ResidentCode: "12000000001", MyNumber: "123456789018", Name: "秋田　太郎", NameKana: "アキタ　タロウ",
		NameKanaSeion: "アキタタロウ", NameGaiji: 1, Birth: "1990-01-15", Sex: 2, Address: "秋田県", AddressGaiji: 3,
		Municipality: "052019", DistrictCode: "001002", Reason: "転入", ChangedOn: "2026-04-01", NotifiedOn: "2026-04-02",
		UpdateSeq: 1234567890123, Status: record.StatusRemoved, FormerSurname: "佐藤", FormerSurnameKana: "サトウ", FormerSurnameGaiji: 4}
	want := []string{"12000000001", "123456789018", "秋田　太郎", "アキタ　タロウ", "アキタタロウ", "1", "1990-01-15", "2", "秋田県",
		"3", "052019", "001002", "転入", "2026-04-01", "2026-04-02", "1234567890123", "removed", "佐藤", "サトウ", "4"}
	for i, it := range Items() {
		if v, ok := Value(&r, it); !ok || v != want[i] {
			t.Errorf("%s: %q", it, v)
		}
	}
	if _, ok := Value(&r, "password"); ok {
		t.Error("an unknown item has a value")
	}
}
