package record

// Lookup answers the questions the logic checks ask of the file. The store answers
// them inside the transaction that applies the notification.
type Lookup interface {
	// ByCode returns the person whose current 住民票コード is code.
	ByCode(code string) (rec Record, found bool, err error)
	// FormerCode reports whether code was once another code of a person (before a
	// 住民票コード変更).
	FormerCode(code string) (bool, error)
	// MyNumberOwner returns the current 住民票コード of the person holding 個人番号 num.
	MyNumberOwner(num string) (code string, found bool, err error)
}

// Logic runs the checks that compare a notification, already passed by Check, with
// the file (DOMAIN.md "Logic checks on an update"). It returns the person's record
// before the change (found reports whether there was one), or the violated rule.
func Logic(n *Notification, l Lookup) (old Record, found bool, v *Violation, err error) {
	// What the notification alone shows is judged before the file is looked at, so
	// that a notification bound to fail anyway cannot ask the file questions.
	if n.NewResidentCode != nil && *n.NewResidentCode == n.ResidentCode {
		return old, false, violate(RuleDuplicateResidentCode, "the new 住民票コード is the same as the code it replaces: nothing would change"), nil
	}
	old, found, err = l.ByCode(n.ResidentCode)
	if err != nil {
		return old, found, nil, err
	}
	if n.Kind() == Entering {
		v, err = enteringChecks(n, old, found, l)
	} else {
		v, err = existingChecks(n, old, found, l)
	}
	if v != nil || err != nil {
		return old, found, v, err
	}
	// Messages quote only the notification's own items, never the stored record: the
	// administrator who ingests may not search, and a rejection must not answer a probe.
	if n.Birth != nil && n.ChangedOn < *n.Birth {
		return old, found, violate(RuleChangedBeforeBirth, "異動年月日 %s is before the 生年月日 %s this notification gives", n.ChangedOn, *n.Birth), nil
	}
	if n.Birth == nil && n.ChangedOn < old.Birth {
		return old, found, violate(RuleChangedBeforeBirth, "異動年月日 %s is before the person's 生年月日 in the file", n.ChangedOn), nil
	}
	if found && n.ChangedOn < old.ChangedOn && n.Reason != ShokkenShusei {
		return old, found, violate(RuleOutOfOrder, "異動年月日 %s is earlier than the person's current 異動年月日 in the file (only 職権修正 may go back)", n.ChangedOn), nil
	}
	if n.MyNumber != nil {
		owner, taken, err := l.MyNumberOwner(*n.MyNumber)
		if err != nil {
			return old, found, nil, err
		}
		if taken && owner != n.ResidentCode {
			return old, found, violate(RuleDuplicateMyNumber, "this 個人番号 belongs to another person in the file"), nil
		}
	}
	if n.NewResidentCode != nil {
		if v, err := codeTaken(*n.NewResidentCode, l); v != nil || err != nil {
			return old, found, v, err
		}
	}
	return old, found, nil, nil
}

func enteringChecks(n *Notification, old Record, found bool, l Lookup) (*Violation, error) {
	if found && !old.Removed {
		return violate(RuleEnteringCurrentResident, "%s for a person who is already a current resident", n.Reason), nil
	}
	if found && Deceased(old.Reason) && n.Reason != ShokkenKisai {
		return violate(RuleEnteringDeceased, "%s for a person removed from the register as deceased or missing (only 職権記載 may enter them again)", n.Reason), nil
	}
	if !found {
		former, err := l.FormerCode(n.ResidentCode)
		if err != nil || former {
			return codeViolation(former), err
		}
	}
	return nil, nil
}

func existingChecks(n *Notification, old Record, found bool, l Lookup) (*Violation, error) {
	switch {
	case !found:
		// Not "was replaced by 住民票コード変更" either: whether a code was ever
		// another's is the file's, not the notification's.
		return violate(RuleUnknownPerson, "%s for 住民票コード %s, which is not in the file", n.Reason, n.ResidentCode), nil
	case old.Removed:
		return violate(RuleRemovedPerson, "%s for a person removed from the register (消除者)", n.Reason), nil
	case n.Municipality != old.Municipality:
		return violate(RuleWrongMunicipality, "%s from municipality %s, which is not the person's current municipality", n.Reason, n.Municipality), nil
	}
	return nil, nil
}

// codeTaken checks that a new 住民票コード belongs to nobody, now or formerly.
func codeTaken(code string, l Lookup) (*Violation, error) {
	_, found, err := l.ByCode(code)
	if err != nil || found {
		return codeViolation(found), err
	}
	former, err := l.FormerCode(code)
	if err != nil || !former {
		return nil, err
	}
	return codeViolation(true), nil
}

func codeViolation(taken bool) *Violation {
	if !taken {
		return nil
	}
	return violate(RuleDuplicateResidentCode, "this 住民票コード belongs to another person in the file")
}
