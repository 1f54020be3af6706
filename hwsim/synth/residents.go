package synth

import (
	"math/rand/v2"

	"jukiterm/store/kana"
	"jukiterm/store/record"
)

// Residents returns n residents of p as entering notifications (転入, or 出生 for those
// born within the year before Reference), in the order they are to be applied to an
// empty file. Resident i has id "R" and i in 9 digits, and its 住民票コード and 個人番号
// are distinct from every other's by construction. The same seed gives the same residents, and a shorter list is a prefix of
// a longer one.
func Residents(seed uint64, n int, p *record.Prefecture) []record.Notification {
	out := make([]record.Notification, 0, max(n, 0))
	EachResident(seed, n, p, func(_ int, x record.Notification) { out = append(out, x) })
	return out
}

// EachResident calls fn with the residents Residents(seed, n, p) returns, one at a time,
// so that millions need not be held in memory. Each notification is fn's to keep.
func EachResident(seed uint64, n int, p *record.Prefecture, fn func(i int, n record.Notification)) {
	g := newResidentGen(seed, p)
	var boxes []residentBox
	for i := range n {
		if len(boxes) == 0 {
			boxes = make([]residentBox, min(256, n-i))
		}
		fn(i, g.resident(i, &boxes[0]))
		boxes = boxes[1:]
	}
}

// residentBox holds the optional items of one resident's notification, so that the
// pointers of the notification need one allocation per many residents.
type residentBox struct {
	myNumber, name, nameKana, birth, address, district, former, formerKana string
	sex, gaiji                                                             int
}

// residentGen draws residents. Resident i depends on the seed and i only: a random
// stream is seeded per index.
type residentGen struct {
	seed   uint64
	ids    ids
	places *places
	pcg    *rand.PCG
	r      *rand.Rand
	buf    []byte
}

func newResidentGen(seed uint64, p *record.Prefecture) *residentGen {
	pcg := rand.NewPCG(0, 0)
	return &residentGen{seed: seed, ids: newIDs(seed), places: newPlaces(p), pcg: pcg,
		r: rand.New(pcg), buf: make([]byte, 0, 512)}
}

// resident draws resident i, filling box.
func (g *residentGen) resident(i int, box *residentBox) record.Notification {
	g.pcg.Seed(g.seed^saltPerson, mix64(uint64(i)))
	r := g.r
	birth, age := drawBirth(r, refDay)
	id := drawIdentity(r, birth.year(), age)
	mi := g.places.pick(r)

	reason, changed := record.Tennyu, birth
	if age == 0 {
		reason = record.Shussei
	} else {
		from := max(birth, yearsBefore(refDay, 30))
		changed = from + day(r.IntN(int(refDay-from)+1))
	}
	notified := changed + day(r.IntN(4))

	// All strings of the notification are cut from one string: one allocation.
	b := g.buf[:0]
	var cut [14]int
	k := 0
	mark := func() { cut[k] = len(b); k++ }
	b = append(b, 'R')
	b = appendPadded(b, uint64(i), 9)
	mark()
	b = changed.appendTo(b)
	mark()
	b = notified.appendTo(b)
	mark()
	b = g.ids.appendCode(b, uint64(i))
	mark()
	b = g.ids.appendNumber(b, uint64(i))
	mark()
	b = append(append(append(b, id.sur.kanji...), sep...), id.given.kanji...)
	mark()
	b = append(append(append(b, id.sur.kana...), sep...), id.given.kana...)
	mark()
	b = birth.appendTo(b)
	mark()
	b, dcode := g.places.appendAddress(b, r, mi)
	mark()
	b = append(b, dcode[:]...)
	mark()
	if id.former != nil {
		b = append(b, id.former.kanji...)
		mark()
		b = append(b, id.former.kana...)
		mark()
	}
	g.buf = b
	s := string(b)
	part := func(j int) string { return s[cut[j-1]:cut[j]] }

	*box = residentBox{myNumber: part(4), name: part(5), nameKana: part(6), birth: part(7),
		address: part(8), district: part(9), sex: id.sex, gaiji: id.gaiji}
	n := record.Notification{ID: s[:cut[0]], Municipality: g.places.list[mi].code, Reason: reason,
		ChangedOn: part(1), NotifiedOn: part(2), ResidentCode: part(3), MyNumber: &box.myNumber,
		Name: &box.name, NameKana: &box.nameKana, Birth: &box.birth, Sex: &box.sex,
		Address: &box.address, DistrictCode: &box.district}
	if id.gaiji > 0 {
		n.NameGaiji = &box.gaiji
	}
	if id.former != nil {
		box.former, box.formerKana = part(10), part(11)
		n.FormerSurname, n.FormerSurnameKana = &box.former, &box.formerKana
	}
	return n
}

// sep separates surname and given name, in kanji and in kana.
const sep = kana.Sep
