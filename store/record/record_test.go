package record

import "testing"

func TestCheckDigits(t *testing.T) {
	for _, s := range []string{"123456789018", "023456789013", "621498320257", "614106526000", "983205673214"} {
		if !ValidMyNumber(s) {
			t.Errorf("%s should be a valid 個人番号", s)
		}
	}
	for _, s := range []string{"123456789010", "621498320258", "12345678901", "12345678901a", "1234567890123"} {
		if ValidMyNumber(s) {
			t.Errorf("%s should be an invalid 個人番号", s)
		}
	}
	for _, m := range Akita().Municipalities {
		if !ValidMunicipalityCode(m.Code) {
			t.Errorf("%s %s fails its check digit", m.Code, m.Name)
		}
	}
	if len(Akita().Municipalities) != 25 {
		t.Errorf("Akita has %d municipalities", len(Akita().Municipalities))
	}
	if ValidMunicipalityCode("052018") || !ValidMunicipalityCode("131016") {
		t.Error("municipality check digit")
	}
}

func TestWareki(t *testing.T) {
	for in, want := range map[string]string{
		"1990-01-15": "平成2年1月15日", "2019-05-01": "令和元年5月1日", "2019-04-30": "平成31年4月30日",
		"1926-12-25": "昭和元年12月25日", "1926-12-24": "大正15年12月24日", "1912-07-29": "明治45年7月29日",
		"bad": "bad",
	} {
		if got := Wareki(in); got != want {
			t.Errorf("Wareki(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestApplyReasons(t *testing.T) {
	s := func(v string) *string { return &v }
	i := func(v int) *int { return &v }
	entry := &Notification{ID: "1", Municipality: "052019", Reason: Tennyu, ChangedOn: "2026-04-01",
		NotifiedOn: "2026-04-01", ResidentCode: "12345678901", MyNumber: s("123456789018"),
		Name: s("秋田　太郎"), NameKana: s("アキタ　ダロウ"), Birth: s("1990-01-15"), Sex: i(1),
		Address: s("秋田市1"), FormerSurname: s("男鹿"), FormerSurnameKana: s("オガ")}
	r := Apply(Record{}, entry)
	if r.Status != StatusCurrent || r.NameKanaSeion != "アキタタロウ" || r.FormerSurname != "男鹿" {
		t.Fatalf("entry: %+v", r)
	}
	r2 := Apply(r, &Notification{Reason: KyujiSakujo, ChangedOn: "2026-05-01", Municipality: "052019"})
	if r2.FormerSurname != "" || r2.FormerSurnameKana != "" || r2.Name != r.Name {
		t.Fatalf("旧氏削除: %+v", r2)
	}
	r3 := Apply(r2, &Notification{Reason: CodeHenko, NewResidentCode: s("10987654321"), Municipality: "052019"})
	if r3.ResidentCode != "10987654321" {
		t.Fatalf("住民票コード変更: %+v", r3)
	}
	r4 := Apply(r3, &Notification{Reason: Shibo, Municipality: "052019"})
	if !r4.Removed || r4.Status != StatusRemoved || !r4.RetentionFlag || r4.Name != r.Name {
		t.Fatalf("死亡: %+v", r4)
	}
	r5 := Apply(r, &Notification{Reason: ShimeiHenko, Name: s("秋田　花子"), NameKana: s("アキタ　ハナコ"), NameGaiji: i(1), Municipality: "052019"})
	if !r5.GaijiFlag || r5.NameGaijiSeq != 1 || r5.NameKanaSeion != "アキタハナコ" {
		t.Fatalf("氏名変更: %+v", r5)
	}
}
