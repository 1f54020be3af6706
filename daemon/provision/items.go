package provision

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"jukiterm/store/record"
)

// item is one item a recipient may receive: a FORMATS.md §3 field name and how to
// read it from a record as text.
type item struct {
	name  string
	value func(r *record.Record) string
}

func itoa(n int) string { return strconv.Itoa(n) }

// items in canonical order (that of FORMATS.md §3).
var items = []item{
	{"resident_code", func(r *record.Record) string { return r.ResidentCode }},
	{"my_number", func(r *record.Record) string { return r.MyNumber }},
	{"name", func(r *record.Record) string { return r.Name }},
	{"name_kana", func(r *record.Record) string { return r.NameKana }},
	{"name_kana_seion", func(r *record.Record) string { return r.NameKanaSeion }},
	{"name_gaiji", func(r *record.Record) string { return itoa(r.NameGaiji) }},
	{"birth", func(r *record.Record) string { return r.Birth }},
	{"sex", func(r *record.Record) string { return itoa(r.Sex) }},
	{"address", func(r *record.Record) string { return r.Address }},
	{"address_gaiji", func(r *record.Record) string { return itoa(r.AddressGaiji) }},
	{"municipality", func(r *record.Record) string { return r.Municipality }},
	{"district_code", func(r *record.Record) string { return r.DistrictCode }},
	{"reason", func(r *record.Record) string { return r.Reason }},
	{"changed_on", func(r *record.Record) string { return r.ChangedOn }},
	{"notified_on", func(r *record.Record) string { return r.NotifiedOn }},
	{"update_seq", func(r *record.Record) string { return strconv.FormatInt(r.UpdateSeq, 10) }},
	{"status", func(r *record.Record) string { return r.Status }},
	{"former_surname", func(r *record.Record) string { return r.FormerSurname }},
	{"former_surname_kana", func(r *record.Record) string { return r.FormerSurnameKana }},
	{"former_surname_gaiji", func(r *record.Record) string { return itoa(r.FormerSurnameGaiji) }},
}

func itemIndex(name string) int {
	return slices.IndexFunc(items, func(it item) bool { return it.name == name })
}

// Items returns the names of every item a recipient may be allowed, in canonical order.
func Items() []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.name
	}
	return out
}

// ParseItems checks a recipient's items: at least one, each a known item (FORMATS.md
// §3 field name), none twice. It returns them in canonical order.
func ParseItems(names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("no item is given: a recipient must be allowed at least one of %s", strings.Join(Items(), ", "))
	}
	seen := make([]bool, len(items))
	for _, n := range names {
		i := itemIndex(n)
		switch {
		case i < 0:
			return nil, fmt.Errorf("unknown item %q: the items are %s", n, strings.Join(Items(), ", "))
		case seen[i]:
			return nil, fmt.Errorf("item %q is given twice: give each item once", n)
		}
		seen[i] = true
	}
	var out []string
	for i, it := range items {
		if seen[i] {
			out = append(out, it.name)
		}
	}
	return out, nil
}

// Value returns a record's value for an item as it appears in a result file (numbers
// in decimal, dates YYYY-MM-DD, status "current" or "removed"); ok is false for a name
// that is not an item.
func Value(r *record.Record, name string) (v string, ok bool) {
	i := itemIndex(name)
	if i < 0 {
		return "", false
	}
	return items[i].value(r), true
}
