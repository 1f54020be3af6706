package synth

import (
	"jukiterm/store/kana"
	"jukiterm/store/record"
)

// valid builds a valid notification of reason against the model without applying it;
// ok is false when the file holds nobody it could name.
func (s *Stream) valid(reason string) (record.Notification, bool) {
	if record.Reasons[reason].Kind == record.Entering {
		return s.entering(reason), true
	}
	i, ok := s.pickCurrent(reason)
	if !ok {
		return record.Notification{}, false
	}
	return s.change(reason, i), true
}

// entering builds a birth, a newcomer, or a removed person entering again.
func (s *Stream) entering(reason string) record.Notification {
	pools := &s.m.pools
	switch reason {
	case record.Tennyu: // back from another municipality of the prefecture
		if l := pools[poolMovedOut]; len(l) > 0 && s.r.IntN(2) == 0 {
			i := l[s.r.IntN(len(l))]
			return s.reenter(reason, i, s.places.pickOther(s.r, s.muni(i)))
		}
	case record.KokugaiTennyu: // back from abroad
		if l := pools[poolAbroad]; len(l) > 0 && s.r.IntN(3) == 0 {
			return s.reenter(reason, l[s.r.IntN(len(l))], s.places.pick(s.r))
		}
	case record.ShokkenKisai: // entered again by authority, whatever the removal
		if s.m.removed() > 0 && s.r.IntN(3) != 0 {
			if i, ok := s.pickRemoved(); ok {
				return s.reenter(reason, i, s.muni(i))
			}
		}
	}
	return s.newPerson(reason)
}

// newPerson builds an entering notification for a person new to the file.
func (s *Stream) newPerson(reason string) record.Notification {
	r, today := s.r, s.today()
	birth, age := today, 0
	if reason != record.Shussei {
		birth, age = drawBirth(r, today)
	}
	id := drawIdentity(r, birth.year(), age)
	mi := s.places.pick(r)
	n := s.keys(reason, s.places.list[mi].code, s.newCode(), today)
	addr, dcode := s.places.address(r, mi)
	n.MyNumber, n.Birth, n.Sex = ptr(s.newNumber()), ptr(birth.String()), ptr(id.sex)
	n.Name, n.NameKana = ptr(id.sur.kanji+sep+id.given.kanji), ptr(id.sur.kana+sep+id.given.kana)
	n.Address, n.DistrictCode = &addr, &dcode
	if id.gaiji > 0 {
		n.NameGaiji = ptr(id.gaiji)
	}
	if id.former != nil {
		n.FormerSurname, n.FormerSurnameKana = ptr(id.former.kanji), ptr(id.former.kana)
	}
	return n
}

// reenter builds an entering notification carrying person i's record, living in
// municipality mi at a new address.
func (s *Stream) reenter(reason string, i, mi int) record.Notification {
	p := s.m.at(i)
	rec := p.rec
	n := s.keys(reason, s.places.list[mi].code, rec.ResidentCode, s.dateFor(p))
	addr, dcode := s.places.address(s.r, mi)
	n.MyNumber, n.Birth, n.Sex = ptr(rec.MyNumber), ptr(rec.Birth), ptr(rec.Sex)
	n.Name, n.NameKana = ptr(rec.Name), ptr(rec.NameKana)
	n.Address, n.DistrictCode = &addr, &dcode
	if rec.NameGaiji > 0 {
		n.NameGaiji = ptr(rec.NameGaiji)
	}
	if rec.FormerSurname != "" {
		n.FormerSurname, n.FormerSurnameKana = ptr(rec.FormerSurname), ptr(rec.FormerSurnameKana)
		if rec.FormerSurnameGaiji > 0 {
			n.FormerSurnameGaiji = ptr(rec.FormerSurnameGaiji)
		}
	}
	return n
}

// change builds a change or leaving notification of reason for person i, from the
// person's municipality.
func (s *Stream) change(reason string, i int) record.Notification {
	r, p := s.r, s.m.at(i)
	rec := p.rec
	d := s.dateFor(p)
	n := s.keys(reason, rec.Municipality, rec.ResidentCode, d)
	surname, given := kana.Split(rec.Name)
	_, givenKana := kana.Split(rec.NameKana)
	switch reason {
	case record.Tenkyo, record.JushoSettei:
		addr, dcode := s.places.address(r, s.muni(i))
		n.Address, n.DistrictCode = &addr, &dcode
	case record.ShimeiHenko: // a new surname, as on marriage; the old one may be kept as 旧氏
		sur := otherSurname(r, &word{surname, ""})
		n.Name, n.NameKana = ptr(sur.kanji+sep+given), ptr(sur.kana+sep+givenKana)
		if rec.NameGaiji == 0 && rec.FormerSurname == "" && r.IntN(3) == 0 {
			oldKana, _ := kana.Split(rec.NameKana)
			n.FormerSurname, n.FormerSurnameKana = ptr(surname), ptr(oldKana)
		}
	case record.SeinengappiTeisei:
		b := p.birth + day(1+r.IntN(30))
		if b > d || r.IntN(2) == 0 {
			b = p.birth - day(1+r.IntN(30))
		}
		n.Birth = ptr(max(b, minDay).String())
	case record.SeibetsuHenko:
		n.Sex = ptr(3 - rec.Sex)
	case record.KojinBangoHenko:
		n.MyNumber = ptr(s.newNumber())
	case record.CodeHenko:
		n.NewResidentCode = ptr(s.newCode())
	case record.KyujiKisai:
		f := otherSurname(r, &word{surname, ""})
		n.FormerSurname, n.FormerSurnameKana = ptr(f.kanji), ptr(f.kana)
	case record.ShokkenShusei:
		s.correct(&n, i)
	}
	return n
}

// correct fills a 職権修正 (correction by authority): the address, the district code or
// the given name; a quarter of them correct an earlier date, which only 職権修正 may.
func (s *Stream) correct(n *record.Notification, i int) {
	r, p := s.r, s.m.at(i)
	switch r.IntN(4) {
	case 0, 1:
		addr, dcode := s.places.address(r, s.muni(i))
		n.Address, n.DistrictCode = &addr, &dcode
	case 2:
		_, dcode := s.places.address(r, s.muni(i))
		n.DistrictCode = &dcode
	default:
		surname, _ := kana.Split(p.rec.Name)
		surKana, _ := kana.Split(p.rec.NameKana)
		g := pickGiven(r, p.rec.Sex, p.birth.year())
		n.Name, n.NameKana = ptr(surname+sep+g.kanji), ptr(surKana+sep+g.kana)
		if p.rec.NameGaiji > 0 {
			n.NameGaiji = ptr(p.rec.NameGaiji)
		}
	}
	if r.IntN(4) == 0 && p.changed > p.birth {
		d := max(p.birth, p.changed-90)
		s.setDates(n, d+day(r.IntN(int(p.changed-d))))
	}
}

// pickCurrent draws a current resident suited to reason: the oldest of a few for 死亡,
// one with a former surname for 旧氏削除 when one is found.
func (s *Stream) pickCurrent(reason string) (int, bool) {
	l := s.m.pools[poolCurrent]
	if len(l) == 0 {
		return 0, false
	}
	i := l[s.r.IntN(len(l))]
	for range 4 {
		j := l[s.r.IntN(len(l))]
		switch reason {
		case record.Shibo, record.Shisso:
			if s.m.at(j).birth < s.m.at(i).birth {
				i = j
			}
		case record.KyujiSakujo:
			if s.m.at(i).rec.FormerSurname == "" {
				i = j
			}
		case record.KyujiKisai:
			if s.m.at(i).rec.FormerSurname != "" {
				i = j
			}
		}
	}
	return i, true
}

// pickRemoved draws a removed person of any kind.
func (s *Stream) pickRemoved() (int, bool) {
	if s.m.removed() == 0 {
		return 0, false
	}
	k := s.r.IntN(s.m.removed())
	for pool := poolCurrent + 1; pool < poolCount; pool++ {
		l := s.m.pools[pool]
		if k < len(l) {
			return l[k], true
		}
		k -= len(l)
	}
	return 0, false
}

// keys starts a notification with a fresh id, dated changed and notified 0–3 days later.
func (s *Stream) keys(reason, muni, code string, changed day) record.Notification {
	n := record.Notification{ID: s.newID(), Municipality: muni, Reason: reason, ResidentCode: code}
	s.setDates(&n, changed)
	return n
}

func (s *Stream) setDates(n *record.Notification, changed day) {
	n.ChangedOn, n.NotifiedOn = changed.String(), (changed + day(s.r.IntN(4))).String()
}

func (s *Stream) today() day { return s.start + day(s.clock/86400) }

// dateFor returns the date a change of person p happens on: today, but never before
// the person's birth or current date of change.
func (s *Stream) dateFor(p *person) day { return max(s.today(), p.changed, p.birth) }

// muni returns the index of person i's municipality.
func (s *Stream) muni(i int) int { return s.places.byCode[s.m.at(i).rec.Municipality] }

// newID returns a notification id not used before ("S" and the item number).
func (s *Stream) newID() string {
	return "S" + string(appendPadded(nil, uint64(s.seq), max(9, digits(s.seq))))
}

// newCode returns a 住民票コード nobody in the file ever had.
func (s *Stream) newCode() string {
	for {
		c := s.ids.codeOf(s.nextCode)
		s.nextCode++
		if !s.m.usedCode(c) {
			return c
		}
	}
}

// newNumber returns a 個人番号 nobody in the file ever had.
func (s *Stream) newNumber() string {
	for {
		c := s.ids.numberOf(s.nextNum)
		s.nextNum++
		if _, used := s.m.numbers[c]; !used {
			return c
		}
	}
}

func digits(v int) int {
	n := 1
	for ; v >= 10; v /= 10 {
		n++
	}
	return n
}

func ptr[T any](v T) *T { return &v }
