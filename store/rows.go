package store

import (
	"jukiterm/store/kana"
	"jukiterm/store/record"
)

// recordArgs returns r's values in recordCols order.
func recordArgs(r *record.Record) []any {
	return []any{r.ResidentCode, r.Name, r.NameGaiji, r.NameKana, r.Birth, r.Sex, r.Address,
		r.AddressGaiji, r.MyNumber, r.Reason, r.ChangedOn, r.RetentionFlag, r.NameKanaSeion,
		r.Municipality, r.DistrictCode, r.OperatorID, r.TerminalID, r.Timestamp, r.NotifiedOn,
		r.GaijiFlag, r.Removed, r.UpdateSeq, r.NameGaijiSeq, r.AddressGaijiSeq, r.FormerSurname,
		r.FormerSurnameGaiji, r.FormerSurnameKana, r.FormerSurnameSeq, kana.SurnameSeion(r.NameKana)}
}

type scanner interface{ Scan(dest ...any) error }

// scanRecord reads a row that selected person_id (or history's person_id) followed by
// recordCols.
func scanRecord(s scanner) (record.Record, error) {
	var r record.Record
	var surnameSeion string
	err := s.Scan(&r.ID, &r.ResidentCode, &r.Name, &r.NameGaiji, &r.NameKana, &r.Birth, &r.Sex,
		&r.Address, &r.AddressGaiji, &r.MyNumber, &r.Reason, &r.ChangedOn, &r.RetentionFlag,
		&r.NameKanaSeion, &r.Municipality, &r.DistrictCode, &r.OperatorID, &r.TerminalID,
		&r.Timestamp, &r.NotifiedOn, &r.GaijiFlag, &r.Removed, &r.UpdateSeq, &r.NameGaijiSeq,
		&r.AddressGaijiSeq, &r.FormerSurname, &r.FormerSurnameGaiji, &r.FormerSurnameKana,
		&r.FormerSurnameSeq, &surnameSeion)
	r.Status = record.StatusCurrent
	if r.Removed {
		r.Status = record.StatusRemoved
	}
	return r, err
}
