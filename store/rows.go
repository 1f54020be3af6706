package store

import (
	"encoding/json"

	"jukiterm/store/kana"
	"jukiterm/store/record"
)

// stored is the plaintext of a record version inside its ciphertext: all 28 items.
type stored struct {
	Code, Name, NameKana, Birth, Address, MyNumber, Reason, ChangedOn, Municipality string
	District, Operator, Terminal, Timestamp, NotifiedOn, Former, FormerKana         string
	NameGaiji, Sex, AddressGaiji, NameGaijiSeq, AddressGaijiSeq, FormerGaiji        int
	FormerSeq                                                                       int
	Retention, Gaiji, Removed                                                       bool
	Seq                                                                             int64
}

func toStored(r *record.Record) stored {
	return stored{Code: r.ResidentCode, Name: r.Name, NameKana: r.NameKana, Birth: r.Birth,
		Address: r.Address, MyNumber: r.MyNumber, Reason: r.Reason, ChangedOn: r.ChangedOn,
		Municipality: r.Municipality, District: r.DistrictCode, Operator: r.OperatorID,
		Terminal: r.TerminalID, Timestamp: r.Timestamp, NotifiedOn: r.NotifiedOn,
		Former: r.FormerSurname, FormerKana: r.FormerSurnameKana, NameGaiji: r.NameGaiji, Sex: r.Sex,
		AddressGaiji: r.AddressGaiji, NameGaijiSeq: r.NameGaijiSeq, AddressGaijiSeq: r.AddressGaijiSeq,
		FormerGaiji: r.FormerSurnameGaiji, FormerSeq: r.FormerSurnameSeq, Retention: r.RetentionFlag,
		Gaiji: r.GaijiFlag, Removed: r.Removed, Seq: r.UpdateSeq}
}

func (s stored) record(id int64) record.Record {
	r := record.Record{ID: id, ResidentCode: s.Code, Name: s.Name, NameKana: s.NameKana, Birth: s.Birth,
		Address: s.Address, MyNumber: s.MyNumber, Reason: s.Reason, ChangedOn: s.ChangedOn,
		Municipality: s.Municipality, DistrictCode: s.District, OperatorID: s.Operator,
		TerminalID: s.Terminal, Timestamp: s.Timestamp, NotifiedOn: s.NotifiedOn,
		FormerSurname: s.Former, FormerSurnameKana: s.FormerKana, NameGaiji: s.NameGaiji, Sex: s.Sex,
		AddressGaiji: s.AddressGaiji, NameGaijiSeq: s.NameGaijiSeq, AddressGaijiSeq: s.AddressGaijiSeq,
		FormerSurnameGaiji: s.FormerGaiji, FormerSurnameSeq: s.FormerSeq, RetentionFlag: s.Retention,
		GaijiFlag: s.Gaiji, Removed: s.Removed, UpdateSeq: s.Seq}
	r.NameKanaSeion = kana.StorageSeion(r.NameKana)
	r.Status = record.StatusCurrent
	if r.Removed {
		r.Status = record.StatusRemoved
	}
	return r
}

// personCols are the columns of a person's current row, in personArgs order.
const personCols = `person_id, code_idx, number_idx, kana_idx, kana_surname_idx, name_idx,
	name_surname_idx, birth_idx, municipality, removed, update_seq, data`

const personPlaceholders = `?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`

// personArgs encrypts r (whose ID is set) and computes its blind indexes.
func (k *Keys) personArgs(r *record.Record) []any {
	surname, _ := kana.Split(r.Name)
	return []any{r.ID, k.blind(ixCode, r.ResidentCode), k.blind(ixNumber, r.MyNumber),
		k.blind(ixKana, r.NameKanaSeion), k.blind(ixKanaSurname, kana.SurnameSeion(r.NameKana)),
		k.blind(ixName, r.Name), k.blind(ixNameSurname, surname), k.blind(ixBirth, r.Birth),
		r.Municipality, r.Removed, r.UpdateSeq, k.sealRecord("persons", r)}
}

func (k *Keys) sealRecord(table string, r *record.Record) []byte {
	b, err := json.Marshal(toStored(r))
	if err != nil {
		panic(err) // strings, ints and bools always marshal
	}
	return k.seal(b, rowAAD(table, r.ID, r.UpdateSeq))
}

type scanner interface{ Scan(dest ...any) error }
