package synth

import (
	"cmp"
	"slices"
	"strings"
	"testing"

	"jukiterm/store/record"
)

// TestPoolsCoverTheResidents: every name part of drawn residents is one of NameParts,
// and every address is its prefecture and municipality, parts of AddressParts, and
// numbers, so a test looking for them misses none.
func TestPoolsCoverTheResidents(t *testing.T) {
	p := record.Akita()
	names := NameParts()
	// Longest first, so that 大字上野 goes before 上野.
	parts := append([]string{p.Name}, AddressParts()...)
	for _, m := range p.Municipalities {
		parts = append(parts, m.Name)
	}
	slices.SortFunc(parts, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	for _, n := range Residents(7, 5000, p) {
		for _, full := range []*string{n.Name, n.NameKana, n.FormerSurname, n.FormerSurnameKana} {
			if full == nil {
				continue
			}
			for _, part := range strings.Fields(strings.ReplaceAll(*full, "　", " ")) {
				if !slices.Contains(names, part) {
					t.Fatalf("name part %q of a drawn resident is not in NameParts", part)
				}
			}
		}
		if n.Address == nil {
			t.Fatal("a drawn resident has no address")
		}
		rest := *n.Address
		for _, part := range parts {
			rest = strings.ReplaceAll(rest, part, "")
		}
		if strings.Trim(rest, "0123456789一二三四五六七八九十丁目番地号字") != "" {
			t.Fatalf("address %q of a drawn resident holds %q, which is not in AddressParts", *n.Address, rest)
		}
	}
}
