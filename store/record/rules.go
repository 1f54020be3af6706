package record

import "fmt"

// Rule ids reported as `rule` in ingest results (FORMATS.md §2, DOMAIN.md). Stable:
// municipalities and scripts depend on them.
const (
	RuleEnteringCurrentResident = "entering-current-resident"
	RuleEnteringDeceased        = "entering-deceased"
	RuleUnknownPerson           = "unknown-person"
	RuleRemovedPerson           = "removed-person"
	RuleWrongMunicipality       = "wrong-municipality"
	RuleFieldNotAllowed         = "field-not-allowed"
	RuleMissingField            = "missing-field"
	RuleBirthMismatch           = "birth-mismatch"
	RuleChangedAfterNotified    = "changed-after-notified"
	RuleChangedBeforeBirth      = "changed-before-birth"
	RuleOutOfOrder              = "out-of-order"
	RuleDuplicateMyNumber       = "duplicate-my-number"
	RuleDuplicateResidentCode   = "duplicate-resident-code"
	RuleIDReused                = "id-reused"
	RuleBadFormat               = "bad-format"
	RuleBadReason               = "bad-reason"
	RuleBadResidentCode         = "bad-resident-code"
	RuleBadMyNumber             = "bad-my-number"
	RuleBadMunicipality         = "bad-municipality"
	RuleBadDate                 = "bad-date"
	RuleBadKana                 = "bad-kana"
	RuleBadSex                  = "bad-sex"
)

// RuleWrongPeer refuses, on a CS link, a notification of another municipality than the
// authenticated CS's (not in DOMAIN.md's table: it concerns the link, not the file).
const RuleWrongPeer = "wrong-peer"

// RuleIDs lists every rule id, in the order of DOMAIN.md's table.
var RuleIDs = []string{
	RuleEnteringCurrentResident, RuleEnteringDeceased, RuleUnknownPerson, RuleRemovedPerson,
	RuleWrongMunicipality, RuleFieldNotAllowed, RuleMissingField, RuleBirthMismatch,
	RuleChangedAfterNotified, RuleChangedBeforeBirth, RuleOutOfOrder, RuleDuplicateMyNumber,
	RuleDuplicateResidentCode, RuleIDReused, RuleBadFormat, RuleBadReason, RuleBadResidentCode,
	RuleBadMyNumber, RuleBadMunicipality, RuleBadDate, RuleBadKana, RuleBadSex,
}

// FileRules are the rules whose outcome depends on what the file holds (the logic
// checks): repeated rejections under them for one person may be someone probing the
// file through the answers (store: ingest.probe).
var FileRules = map[string]bool{
	RuleEnteringCurrentResident: true, RuleEnteringDeceased: true, RuleUnknownPerson: true,
	RuleRemovedPerson: true, RuleWrongMunicipality: true, RuleChangedBeforeBirth: true,
	RuleOutOfOrder: true, RuleDuplicateMyNumber: true, RuleDuplicateResidentCode: true,
}

// Violation is a failed check: the rule id and a message for people.
type Violation struct {
	Rule    string
	Message string
}

func (v *Violation) Error() string { return v.Rule + ": " + v.Message }

func violate(rule, format string, args ...any) *Violation {
	return &Violation{Rule: rule, Message: fmt.Sprintf(format, args...)}
}
