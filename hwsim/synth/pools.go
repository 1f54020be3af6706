package synth

// NameParts returns every surname and given name the generators draw from, each in
// kanji and in katakana, for tests that check a personal value reaches no log.
func NameParts() []string {
	var out []string
	add := func(ws []word) {
		for _, w := range ws {
			out = append(out, w.kanji, w.kana)
		}
	}
	add(surnames)
	add(gaijiSurnames)
	for era := range maleNames {
		add(maleNames[era])
		add(femaleNames[era])
	}
	return out
}

// AddressParts returns every district (町名・大字) and 字 name the generators write
// into addresses, for the same tests. The prefecture and municipality names an address
// begins with are left out: alone they name no one.
func AddressParts() []string {
	var out []string
	for _, p := range akitaPlaces {
		for _, d := range p.districts {
			out = append(out, d.name)
		}
	}
	for _, d := range genericDistricts {
		out = append(out, d.name)
	}
	return append(out, koaza...)
}
