package synth

import (
	"slices"

	"jukiterm/store/record"
)

// breakRule builds a line that the store must reject with rule, valid in every respect
// checked before it; ok is false when the file lacks what the rule needs.
func (s *Stream) breakRule(rule string) ([]byte, bool) {
	r := s.r
	switch rule {
	case record.RuleBadFormat:
		return badJSON(s, marshal(ptr(s.anyBase()))), true
	case record.RuleMissingField:
		return marshal(ptr(s.missingField())), true
	case record.RuleBadReason:
		n := s.anyBase()
		n.Reason = oneOf(s, "転籍", "住所変更", "転入届", "死亡届", "tennyu", "出国", "転入 ")
		return marshal(&n), true
	case record.RuleFieldNotAllowed:
		return marshal(ptr(s.fieldNotAllowed())), true
	case record.RuleBadMunicipality:
		n := s.anyBase()
		n.Municipality = s.badMunicipality(n.Municipality)
		return marshal(&n), true
	case record.RuleBadResidentCode:
		n := s.anyBase()
		if n.NewResidentCode != nil && r.IntN(2) == 0 {
			n.NewResidentCode = ptr(badDigits(s, *n.NewResidentCode, false))
		} else {
			n.ResidentCode = badDigits(s, n.ResidentCode, false)
		}
		return marshal(&n), true
	case record.RuleBadDate:
		n := s.anyBase()
		bad := oneOf(s, "2023-02-30", "2025-02-29", "2026-04-31", "2026-13-01", "2026/04/01",
			"20260401", "1867-12-31", "2026-4-1", "令和8年4月1日")
		switch {
		case n.Birth != nil && r.IntN(3) == 0:
			n.Birth = &bad
		case r.IntN(2) == 0:
			n.ChangedOn = bad
		default:
			n.NotifiedOn = bad
		}
		return marshal(&n), true
	case record.RuleBadMyNumber:
		n := s.baseWith(record.KojinBangoHenko)
		n.MyNumber = ptr(badDigits(s, *n.MyNumber, true))
		return marshal(&n), true
	case record.RuleBadKana:
		n := s.baseWith(record.ShimeiHenko, record.KyujiKisai)
		if n.FormerSurnameKana != nil && (n.NameKana == nil || r.IntN(2) == 0) {
			n.FormerSurnameKana = ptr(*n.FormerSurname) // kanji
		} else {
			n.NameKana = ptr(oneOf(s, *n.Name, "SATO HANAKO", "サトウ　ハナコ2", "佐藤　ハナコ", "ｻﾄｳ　Hanako"))
		}
		return marshal(&n), true
	case record.RuleBadSex:
		n := s.baseWith(record.SeibetsuHenko)
		n.Sex = ptr(oneOf(s, 0, 3, 9))
		return marshal(&n), true
	case record.RuleChangedAfterNotified:
		n := s.anyBase()
		d, _ := parseDay(n.ChangedOn)
		n.NotifiedOn = (d - day(1+r.IntN(3))).String()
		return marshal(&n), true
	case record.RuleBirthMismatch:
		n := s.newPerson(record.Shussei)
		d, _ := parseDay(n.ChangedOn)
		if r.IntN(2) == 0 {
			n.Birth = ptr((d - day(1+r.IntN(5))).String())
		} else { // notified late and dated the day of notification
			s.setDates(&n, d+day(1+r.IntN(5)))
		}
		return marshal(&n), true
	case record.RuleIDReused:
		return s.idReused()
	}
	n, ok := s.breakLogic(rule)
	if !ok {
		return nil, false
	}
	return marshal(&n), true
}

// anyBase builds a valid notification of any reason, to be broken.
func (s *Stream) anyBase() record.Notification {
	n, ok := s.valid(record.ReasonNames[s.r.IntN(len(record.ReasonNames))])
	if !ok {
		n = s.newPerson(record.Tennyu)
	}
	return n
}

// baseWith builds a valid entering notification or one of the given change reasons.
func (s *Stream) baseWith(changes ...string) record.Notification {
	if s.r.IntN(2) == 0 {
		if n, ok := s.valid(changes[s.r.IntN(len(changes))]); ok {
			return n
		}
	}
	return s.entering(enteringReasons[s.r.IntN(len(enteringReasons))])
}

var enteringReasons = []string{record.Tennyu, record.Shussei, record.ShokkenKisai, record.KokugaiTennyu}

// missingField blanks a required key, or leaves out an item the reason requires.
func (s *Stream) missingField() record.Notification {
	n := s.anyBase()
	rule := record.Reasons[n.Reason]
	switch {
	case rule.AnyOf: // 職権修正 correcting nothing
		reason, id, muni, code, ch, no := n.Reason, n.ID, n.Municipality, n.ResidentCode, n.ChangedOn, n.NotifiedOn
		n = record.Notification{ID: id, Municipality: muni, Reason: reason, ChangedOn: ch, NotifiedOn: no, ResidentCode: code}
	case len(rule.Required) > 0 && s.r.IntN(3) != 0:
		clearField(&n, rule.Required[s.r.IntN(len(rule.Required))])
	default:
		keys := []*string{&n.ID, &n.Municipality, &n.Reason, &n.ChangedOn, &n.NotifiedOn, &n.ResidentCode}
		*keys[s.r.IntN(len(keys))] = oneOf(s, "", " ", "\u3000")
	}
	return n
}

// fieldNotAllowed adds an item the reason may not carry.
func (s *Stream) fieldNotAllowed() record.Notification {
	name, kana, birth := "佐藤　花子", "サトウ　ハナコ", "1980-05-05"
	switch s.r.IntN(5) {
	case 0:
		if n, ok := s.valid(oneOf(s, record.Tenkyo, record.JushoSettei)); ok {
			n.Name = &name
			return n
		}
	case 1:
		if n, ok := s.valid(oneOf(s, record.Tenshutsu, record.Shibo, record.KokugaiTenshutsu)); ok {
			addr, dcode := s.places.address(s.r, s.places.pick(s.r))
			n.Address, n.DistrictCode = &addr, &dcode
			return n
		}
	case 2:
		if n, ok := s.valid(oneOf(s, record.KojinBangoHenko, record.SeibetsuHenko)); ok {
			n.Birth = &birth
			return n
		}
	case 3:
		if n, ok := s.valid(oneOf(s, record.CodeHenko, record.KyujiSakujo)); ok {
			n.NameKana = &kana
			return n
		}
	}
	n := s.entering(enteringReasons[s.r.IntN(len(enteringReasons))])
	n.NewResidentCode = ptr(s.newCode())
	return n
}

// badMunicipality returns a code with a wrong check digit, or a valid code of another
// prefecture.
func (s *Stream) badMunicipality(code string) string {
	if s.r.IntN(2) == 0 {
		others := []string{"13101", "01100", "27100", "04100", "05201", "47201", "23100", "02201"}
		s.r.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
		for _, five := range others {
			c := five + string(rune('0'+record.MunicipalityCheckDigit(five)))
			if _, in := s.p.Lookup(c); !in {
				return c
			}
		}
	}
	d := int(code[5]-'0') + 1 + s.r.IntN(9)
	return code[:5] + string(rune('0'+d%10))
}

// badDigits spoils a code or number of digits: a wrong check digit (when it has one),
// one digit short or too many, or a letter.
func badDigits(s *Stream, v string, checkDigit bool) string {
	k := s.r.IntN(4)
	if !checkDigit {
		k = 1 + s.r.IntN(3)
	}
	switch k {
	case 0:
		d := int(v[len(v)-1]-'0') + 1 + s.r.IntN(9)
		return v[:len(v)-1] + string(rune('0'+d%10))
	case 1:
		return v[:len(v)-1]
	case 2:
		return v + "0"
	}
	k = s.r.IntN(len(v))
	return v[:k] + "A" + v[k+1:]
}

// badJSON spoils a notification line so that it does not parse.
func badJSON(s *Stream, line []byte) []byte {
	insert := func(field string) []byte { return slices.Concat([]byte("{"+field+","), line[1:]) }
	switch s.r.IntN(10) {
	case 0:
		return line[:len(line)-1] // cut short
	case 1:
		return insert(`"remarks":"再送"`) // unknown field
	case 2:
		return insert(`"sex":"1"`) // wrong type
	case 3:
		return insert(`"name_gaiji":"0"`)
	case 4:
		return insert(`"changed_on":20260401`)
	case 5:
		return append(line, " {}"...) // text after the object
	case 6:
		return slices.Concat([]byte("["), line, []byte("]")) // not an object
	case 7:
		return insert("\"id\":\"S\xff\"") // not UTF-8
	case 8:
		return slices.Concat(line[:len(line)-1], []byte(",}")) // trailing comma
	}
	return []byte("転入,052019,2026-04-01")
}

func oneOf[T any](s *Stream, v ...T) T { return v[s.r.IntN(len(v))] }

// clearField removes item field f from n.
func clearField(n *record.Notification, f string) {
	switch f {
	case record.FNewResidentCode:
		n.NewResidentCode = nil
	case record.FMyNumber:
		n.MyNumber = nil
	case record.FName:
		n.Name = nil
	case record.FNameKana:
		n.NameKana = nil
	case record.FBirth:
		n.Birth = nil
	case record.FSex:
		n.Sex = nil
	case record.FAddress:
		n.Address = nil
	case record.FFormerSurname:
		n.FormerSurname = nil
	case record.FFormerSurnameKana:
		n.FormerSurnameKana = nil
	default:
		panic("synth: clearField does not know " + f)
	}
}
