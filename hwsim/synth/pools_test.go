package synth

import (
	"slices"
	"strings"
	"testing"

	"jukiterm/store/record"
)

// TestPoolsCoverTheResidents: every name part and every address of drawn residents
// comes from NameParts and AddressParts, so a test looking for them misses none.
func TestPoolsCoverTheResidents(t *testing.T) {
	names, places := NameParts(), AddressParts()
	for _, n := range Residents(7, 5000, record.Akita()) {
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
		if !slices.ContainsFunc(places, func(p string) bool { return strings.Contains(*n.Address, p) }) {
			t.Fatalf("address %q of a drawn resident holds no part of AddressParts", *n.Address)
		}
	}
}
