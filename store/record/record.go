package record

import "jukiterm/store/kana"

// Status of a person in the file.
const (
	StatusCurrent = "current"
	StatusRemoved = "removed"
)

// Record is one version of a person's identity-confirmation record: the 28 items of
// DOMAIN.md. The JSON form is FORMATS.md §3; items that section does not list are kept
// out of it.
type Record struct {
	ID                 int64  `json:"-"`               // the store's internal person id
	ResidentCode       string `json:"resident_code"`   // 1 住民票コード
	Name               string `json:"name"`            // 2 漢字氏名
	NameGaiji          int    `json:"name_gaiji"`      // 3 外字数（氏名）
	NameKana           string `json:"name_kana"`       // 4 ふりがな氏名 (katakana)
	Birth              string `json:"birth"`           // 5 生年月日
	Sex                int    `json:"sex"`             // 6 性別
	Address            string `json:"address"`         // 7 住所
	AddressGaiji       int    `json:"address_gaiji"`   // 8 外字数（住所）
	MyNumber           string `json:"my_number"`       // 9 個人番号
	Reason             string `json:"reason"`          // 10 異動事由
	ChangedOn          string `json:"changed_on"`      // 11 異動年月日
	RetentionFlag      bool   `json:"-"`               // 12 保存期間フラグ
	NameKanaSeion      string `json:"name_kana_seion"` // 13 清音化かな氏名
	Municipality       string `json:"municipality"`    // 14 市町村コード
	DistrictCode       string `json:"district_code"`   // 15 大字・字コード
	OperatorID         string `json:"-"`               // 16 操作者ＩＤ
	TerminalID         string `json:"-"`               // 17 操作端末ＩＤ
	Timestamp          string `json:"-"`               // 18 タイムスタンプ (RFC 3339, UTC)
	NotifiedOn         string `json:"notified_on"`     // 19 通知を受けた年月日
	GaijiFlag          bool   `json:"-"`               // 20 外字フラグ
	Removed            bool   `json:"-"`               // 21 削除フラグ (消除者)
	UpdateSeq          int64  `json:"update_seq"`      // 22 更新順番号
	NameGaijiSeq       int    `json:"-"`               // 23 氏名外字変更連番
	AddressGaijiSeq    int    `json:"-"`               // 24 住所外字変更連番
	FormerSurname      string `json:"former_surname"`  // 25 旧氏 漢字
	FormerSurnameGaiji int    `json:"former_surname_gaiji"`
	FormerSurnameKana  string `json:"former_surname_kana"`
	FormerSurnameSeq   int    `json:"-"` // 28 旧氏外字変更連番
	Status             string `json:"status"`
}

// Apply returns the record after notification n (already checked) takes effect on
// old, which is the zero Record for a person new to the file. Bookkeeping items
// (sequence number, operator, terminal, timestamp) are the caller's to set.
func Apply(old Record, n *Notification) Record {
	r := old
	if n.Kind() == Entering {
		r = Record{ResidentCode: n.ResidentCode, NameGaijiSeq: old.NameGaijiSeq,
			AddressGaijiSeq: old.AddressGaijiSeq, FormerSurnameSeq: old.FormerSurnameSeq}
	}
	r.Reason, r.ChangedOn, r.NotifiedOn = n.Reason, n.ChangedOn, n.NotifiedOn
	r.Municipality = n.Municipality
	r.Removed = n.Kind() == Leaving
	r.RetentionFlag = r.Removed
	if n.NewResidentCode != nil {
		r.ResidentCode = *n.NewResidentCode
	}
	setS(&r.MyNumber, n.MyNumber)
	setS(&r.Birth, n.Birth)
	setI(&r.Sex, n.Sex)
	setS(&r.DistrictCode, n.DistrictCode)
	setS(&r.NameKana, n.NameKana)
	r.NameGaiji, r.NameGaijiSeq = gaijiItem(&r.Name, n.Name, r.NameGaiji, n.NameGaiji, r.NameGaijiSeq)
	r.AddressGaiji, r.AddressGaijiSeq = gaijiItem(&r.Address, n.Address, r.AddressGaiji, n.AddressGaiji, r.AddressGaijiSeq)
	if n.Reason == KyujiSakujo {
		r.FormerSurname, r.FormerSurnameKana, r.FormerSurnameGaiji = "", "", 0
	} else {
		setS(&r.FormerSurnameKana, n.FormerSurnameKana)
		r.FormerSurnameGaiji, r.FormerSurnameSeq = gaijiItem(&r.FormerSurname, n.FormerSurname, r.FormerSurnameGaiji, n.FormerSurnameGaiji, r.FormerSurnameSeq)
	}
	r.NameKanaSeion = kana.StorageSeion(r.NameKana)
	r.GaijiFlag = r.NameGaiji > 0 || r.AddressGaiji > 0 || r.FormerSurnameGaiji > 0
	r.Status = StatusCurrent
	if r.Removed {
		r.Status = StatusRemoved
	}
	return r
}

// gaijiItem applies a text item and its 外字数: a new text brings its own count (0 when
// absent); a count alone corrects the count of the text kept. The change serial
// (外字変更連番) advances whenever the item changes and holds 外字.
func gaijiItem(text *string, newText *string, count int, newCount *int, seq int) (int, int) {
	if newText == nil && newCount == nil {
		return count, seq
	}
	setS(text, newText)
	count = intOr(newCount, 0)
	if newText == nil {
		count = *newCount
	}
	if count > 0 {
		seq++
	}
	return count, seq
}

func setS(dst *string, v *string) {
	if v != nil {
		*dst = *v
	}
}

func setI(dst *int, v *int) {
	if v != nil {
		*dst = *v
	}
}

func intOr(v *int, def int) int {
	if v != nil {
		return *v
	}
	return def
}
