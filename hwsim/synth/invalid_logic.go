package synth

import (
	"slices"

	"jukiterm/store/record"
)

// changeReasons are the reasons that name a person already in the file.
var changeReasons = func() []string {
	var out []string
	for _, r := range record.ReasonNames {
		if record.Reasons[r].Kind != record.Entering {
			out = append(out, r)
		}
	}
	return out
}()

// anyChange draws a change or leaving reason other than those in not.
func (s *Stream) anyChange(not ...string) string {
	for {
		if r := changeReasons[s.r.IntN(len(changeReasons))]; !slices.Contains(not, r) {
			return r
		}
	}
}

// breakLogic builds a notification that passes record.Check but breaks rule, one of
// the rules record.Logic checks, against the model.
func (s *Stream) breakLogic(rule string) (record.Notification, bool) {
	r, m := s.r, s.m
	current := m.pools[poolCurrent]
	var none record.Notification
	randomCurrent := func() int { return current[r.IntN(len(current))] }
	if len(current) == 0 && rule != record.RuleUnknownPerson {
		return none, false
	}
	switch rule {
	case record.RuleEnteringCurrentResident:
		i := randomCurrent()
		reason := oneOf(s, record.Tennyu, record.KokugaiTennyu, record.ShokkenKisai)
		return s.reenter(reason, i, s.places.pick(r)), true

	case record.RuleEnteringDeceased:
		l := m.pools[poolDeceased]
		if len(l) == 0 {
			return none, false
		}
		reason := oneOf(s, record.Tennyu, record.KokugaiTennyu)
		return s.reenter(reason, l[r.IntN(len(l))], s.places.pick(r)), true

	case record.RuleDuplicateResidentCode:
		if len(m.formers) > 0 && r.IntN(2) == 0 { // entering with a code given up before
			n := s.newPerson(oneOf(s, record.Tennyu, record.KokugaiTennyu, record.Shussei))
			n.ResidentCode = m.formers[r.IntN(len(m.formers))]
			return n, true
		}
		if m.count() < 2 {
			return none, false
		}
		i, j := randomCurrent(), r.IntN(m.count())
		if i == j {
			return none, false
		}
		n := s.change(record.CodeHenko, i)
		n.NewResidentCode = ptr(m.at(j).rec.ResidentCode)
		return n, true

	case record.RuleUnknownPerson:
		if len(current) == 0 {
			return s.keys(record.Shibo, s.places.list[s.places.pick(r)].code, s.newCode(), s.today()), true
		}
		n := s.change(s.anyChange(), randomCurrent())
		n.ResidentCode = s.newCode()
		return n, true

	case record.RuleRemovedPerson:
		i, ok := s.pickRemoved()
		if !ok {
			return none, false
		}
		return s.change(s.anyChange(), i), true

	case record.RuleWrongMunicipality:
		if len(s.places.list) < 2 {
			return none, false
		}
		i := randomCurrent()
		n := s.change(s.anyChange(), i)
		n.Municipality = s.places.list[s.places.pickOther(r, s.muni(i))].code
		return n, true

	case record.RuleChangedBeforeBirth:
		if r.IntN(3) == 0 { // a newcomer moving in before being born
			n := s.newPerson(record.Tennyu)
			b, _ := parseDay(*n.Birth)
			s.setDates(&n, b-day(1+r.IntN(30)))
			return n, true
		}
		i := randomCurrent()
		n := s.change(s.anyChange(record.SeinengappiTeisei), i)
		d := m.at(i).birth - day(1+r.IntN(365))
		if d < minDay {
			return none, false
		}
		s.setDates(&n, d)
		return n, true

	case record.RuleOutOfOrder:
		return s.outOfOrder()

	case record.RuleDuplicateMyNumber:
		j := randomCurrent()
		var n record.Notification
		if i := randomCurrent(); i != j && r.IntN(2) == 0 {
			n = s.change(record.KojinBangoHenko, i)
		} else {
			n = s.newPerson(enteringReasons[r.IntN(len(enteringReasons))])
		}
		n.MyNumber = ptr(m.at(j).rec.MyNumber)
		return n, true
	}
	panic("synth: no way to break rule " + rule)
}

// outOfOrder dates a change, or an entry again after 転出, before the person's current
// date of change (but not before birth).
func (s *Stream) outOfOrder() (record.Notification, bool) {
	r, m := s.r, s.m
	if l := m.pools[poolMovedOut]; len(l) > 0 && r.IntN(3) == 0 {
		i := l[r.IntN(len(l))]
		if p := m.at(i); p.changed > p.birth {
			n := s.reenter(record.Tennyu, i, s.places.pickOther(r, s.muni(i)))
			s.setDates(&n, p.birth+day(r.IntN(int(p.changed-p.birth))))
			return n, true
		}
	}
	current := m.pools[poolCurrent]
	for range 20 {
		i := current[r.IntN(len(current))]
		p := m.at(i)
		if p.changed <= p.birth {
			continue
		}
		n := s.change(s.anyChange(record.ShokkenShusei, record.SeinengappiTeisei), i)
		s.setDates(&n, p.birth+day(r.IntN(int(p.changed-p.birth))))
		return n, true
	}
	return record.Notification{}, false
}

// idReused resends the key (municipality, id) of an applied notification with other
// content.
func (s *Stream) idReused() ([]byte, bool) {
	var orig record.Notification
	switch {
	case len(s.recent) > 0 && (len(s.residents) == 0 || s.r.IntN(2) == 0):
		n, v := record.Parse(s.recent[s.r.IntN(len(s.recent))])
		if v != nil {
			panic("synth: an applied line does not parse: " + v.Error())
		}
		orig = *n
	case len(s.residents) > 0:
		orig = s.residents[s.r.IntN(len(s.residents))]
	default:
		return nil, false
	}
	n := orig // the pointers are shared: change only plain fields
	d, _ := parseDay(n.NotifiedOn)
	n.NotifiedOn = (d + day(1+s.r.IntN(3))).String()
	line := marshal(&n)
	got, v := record.Parse(line)
	if v != nil || got.ID == "" || got.Municipality == "" || got.Hash() == orig.Hash() {
		return nil, false
	}
	return line, true
}
