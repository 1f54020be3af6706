package record

// Kind groups the 異動事由 (reasons for change).
type Kind int

const (
	Entering Kind = iota + 1 // the person enters the register
	Change                   // an item of a current resident changes
	Leaving                  // the person is removed from the register (消除)
)

// The 異動事由 names, exactly as notifications carry them (DOMAIN.md).
const (
	Tennyu            = "転入"
	Shussei           = "出生"
	ShokkenKisai      = "職権記載"
	KokugaiTennyu     = "国外からの転入"
	Tenkyo            = "転居"
	JushoSettei       = "住所設定"
	ShimeiHenko       = "氏名変更"
	SeinengappiTeisei = "生年月日訂正"
	SeibetsuHenko     = "性別変更"
	KojinBangoHenko   = "個人番号変更"
	CodeHenko         = "住民票コード変更"
	KyujiKisai        = "旧氏記載"
	KyujiSakujo       = "旧氏削除"
	ShokkenShusei     = "職権修正"
	Tenshutsu         = "転出"
	KokugaiTenshutsu  = "国外転出"
	Shibo             = "死亡"
	Shisso            = "失踪宣告"
	ShokkenShojo      = "職権消除"
)

// Field names as they appear in a notification (FORMATS.md §1).
const (
	FNewResidentCode    = "new_resident_code"
	FMyNumber           = "my_number"
	FName               = "name"
	FNameKana           = "name_kana"
	FNameGaiji          = "name_gaiji"
	FBirth              = "birth"
	FSex                = "sex"
	FAddress            = "address"
	FAddressGaiji       = "address_gaiji"
	FDistrictCode       = "district_code"
	FFormerSurname      = "former_surname"
	FFormerSurnameKana  = "former_surname_kana"
	FFormerSurnameGaiji = "former_surname_gaiji"
)

// ItemFields lists every field that carries an item (all but the keys), in order.
var ItemFields = []string{FNewResidentCode, FMyNumber, FName, FNameKana, FNameGaiji, FBirth,
	FSex, FAddress, FAddressGaiji, FDistrictCode, FFormerSurname, FFormerSurnameKana, FFormerSurnameGaiji}

// Rule says what a reason does: its kind, the item fields it may carry and those it
// must carry. This table is where the reasons live; change it here only.
type Rule struct {
	Kind     Kind
	Allowed  []string
	Required []string
	// AnyOf, when set, requires at least one allowed field (職権修正 must change something).
	AnyOf bool
}

var (
	addressItems = []string{FAddress, FAddressGaiji, FDistrictCode}
	formerItems  = []string{FFormerSurname, FFormerSurnameKana, FFormerSurnameGaiji}
	nameItems    = append([]string{FName, FNameKana, FNameGaiji}, formerItems...)
	fullRecord   = []string{FMyNumber, FName, FNameKana, FNameGaiji, FBirth, FSex, FAddress,
		FAddressGaiji, FDistrictCode, FFormerSurname, FFormerSurnameKana, FFormerSurnameGaiji}
	fullRequired = []string{FMyNumber, FName, FNameKana, FBirth, FSex, FAddress}
	anyItem      = fullRecord
)

// Reasons maps each 異動事由 to its rule.
var Reasons = map[string]Rule{
	Tennyu:        {Kind: Entering, Allowed: fullRecord, Required: fullRequired},
	Shussei:       {Kind: Entering, Allowed: fullRecord, Required: fullRequired},
	ShokkenKisai:  {Kind: Entering, Allowed: fullRecord, Required: fullRequired},
	KokugaiTennyu: {Kind: Entering, Allowed: fullRecord, Required: fullRequired},

	Tenkyo:            {Kind: Change, Allowed: addressItems, Required: []string{FAddress}},
	JushoSettei:       {Kind: Change, Allowed: addressItems, Required: []string{FAddress}},
	ShimeiHenko:       {Kind: Change, Allowed: nameItems, Required: []string{FName, FNameKana}},
	SeinengappiTeisei: {Kind: Change, Allowed: []string{FBirth}, Required: []string{FBirth}},
	SeibetsuHenko:     {Kind: Change, Allowed: []string{FSex}, Required: []string{FSex}},
	KojinBangoHenko:   {Kind: Change, Allowed: []string{FMyNumber}, Required: []string{FMyNumber}},
	CodeHenko:         {Kind: Change, Allowed: []string{FNewResidentCode}, Required: []string{FNewResidentCode}},
	KyujiKisai:        {Kind: Change, Allowed: formerItems, Required: []string{FFormerSurname, FFormerSurnameKana}},
	KyujiSakujo:       {Kind: Change, Allowed: formerItems},
	ShokkenShusei:     {Kind: Change, Allowed: anyItem, AnyOf: true},

	Tenshutsu:        {Kind: Leaving},
	KokugaiTenshutsu: {Kind: Leaving},
	Shibo:            {Kind: Leaving},
	Shisso:           {Kind: Leaving},
	ShokkenShojo:     {Kind: Leaving},
}

// ReasonNames lists the reasons in the order DOMAIN.md gives them.
var ReasonNames = []string{Tennyu, Shussei, ShokkenKisai, KokugaiTennyu, Tenkyo, JushoSettei,
	ShimeiHenko, SeinengappiTeisei, SeibetsuHenko, KojinBangoHenko, CodeHenko, KyujiKisai,
	KyujiSakujo, ShokkenShusei, Tenshutsu, KokugaiTenshutsu, Shibo, Shisso, ShokkenShojo}

// Deceased reports whether a removal for this reason means the person died or was
// declared dead: such a person cannot enter again except by 職権記載.
func Deceased(reason string) bool { return reason == Shibo || reason == Shisso }
