package synth

import (
	"math/rand/v2"
	"strings"

	"jukiterm/store/record"
)

// district is a town or 大字 of a municipality; chome is its number of 丁目 (0: the
// address is written with 番地).
type district struct {
	name  string
	chome int
}

// akitaPlace gives a municipality of 秋田県 its rough population (thousands) and some
// of its districts.
type akitaPlace struct {
	weight    int
	districts []district
}

var akitaPlaces = map[string]akitaPlace{
	"052019": {308, []district{{"山王", 7}, {"中通", 7}, {"大町", 6}, {"土崎港中央", 7}, {"泉中央", 6},
		{"御所野地蔵田", 5}, {"八橋本町", 6}, {"桜", 4}, {"将軍野南", 5}, {"東通", 8}, {"広面", 0},
		{"手形", 0}, {"楢山本町", 0}, {"新屋扇町", 0}, {"外旭川", 0}, {"仁井田", 0}, {"川尻町", 0}}},
	"052027": {51, []district{{"上町", 0}, {"柳町", 0}, {"大町", 0}, {"元町", 0}, {"畠町", 0}, {"落合", 0}, {"二ツ井町", 0}}},
	"052035": {86, []district{{"駅前町", 0}, {"大町", 0}, {"中央町", 0}, {"平鹿町浅舞", 0}, {"十文字町", 0}, {"増田町増田", 0}, {"雄物川町今宿", 0}}},
	"052043": {70, []district{{"中城", 0}, {"大町", 0}, {"有浦", 6}, {"片山町", 3}, {"比内町扇田", 0}, {"田代", 0}}},
	"052060": {26, []district{{"船川港船川", 0}, {"船越", 0}, {"脇本脇本", 0}, {"北浦北浦", 0}}},
	"052078": {42, []district{{"佐竹町", 0}, {"大町", 2}, {"表町", 4}, {"稲川町", 0}, {"雄勝町", 0}}},
	"052094": {29, []district{{"花輪", 0}, {"十和田毛馬内", 0}, {"十和田大湯", 0}, {"八幡平", 0}}},
	"052108": {74, []district{{"石脇", 0}, {"花畑町", 4}, {"美倉町", 0}, {"矢島町", 0}, {"岩城", 0}, {"西目町", 0}}},
	"052116": {31, []district{{"天王", 0}, {"昭和大久保", 0}, {"飯田川", 0}}},
	"052124": {78, []district{{"大曲通町", 0}, {"大曲花園町", 0}, {"協和", 0}, {"中仙", 0}, {"神岡", 0}, {"西仙北", 0}}},
	"052132": {30, []district{{"鷹巣", 0}, {"合川", 0}, {"森吉", 0}, {"阿仁", 0}}},
	"052141": {23, []district{{"平沢", 0}, {"象潟町", 0}, {"金浦", 0}}},
	"052159": {24, []district{{"角館町", 0}, {"田沢湖生保内", 0}, {"西木町", 0}}},
	"053031": {5, []district{{"小坂", 0}, {"小坂鉱山", 0}}},
	"053279": {2, []district{{"小沢田", 0}, {"沖田面", 0}}},
	"053465": {3, []district{{"藤琴", 0}, {"粕毛", 0}}},
	"053481": {15, []district{{"鹿渡", 0}, {"森岳", 0}, {"八竜", 0}}},
	"053490": {7, []district{{"八森", 0}, {"峰浜", 0}}},
	"053619": {9, []district{{"西磯ノ目", 0}, {"上町", 0}, {"大川", 0}}},
	"053635": {6, []district{{"一日市", 0}, {"川口", 0}}},
	"053660": {5, []district{{"北川尻", 0}, {"浜井川", 0}}},
	"053686": {3, []district{{"中央", 0}, {"西", 0}, {"東", 0}, {"南", 0}}},
	"054348": {18, []district{{"土崎", 0}, {"六郷", 0}, {"千畑", 0}}},
	"054631": {14, []district{{"西馬音内", 0}, {"足田", 0}, {"貝沢", 0}}},
	"054640": {2, []district{{"田子内", 0}, {"椿川", 0}}},
}

// genericDistricts serve municipalities outside the table above.
var genericDistricts = []district{{"本町", 5}, {"中央", 5}, {"栄町", 3}, {"東町", 4}, {"西町", 4},
	{"南町", 3}, {"緑町", 3}, {"旭町", 3}, {"大字上野", 0}, {"大字下田", 0}, {"大字中島", 0},
	{"大字新田", 0}, {"大字宮前", 0}}

// koaza are 字 names for addresses written with 番地.
var koaza = []string{"上野", "下川原", "中島", "堤下", "新田", "前田", "後田", "宮前", "館下",
	"向田", "川端", "谷地", "沢口", "岱下", "中野"}

var kanjiDigits = []string{"", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"}

// place is a municipality with what addresses in it are made of.
type place struct {
	code, name string
	prefix     string // prefecture and municipality name, e.g. 秋田県秋田市
	districts  []district
}

// places is a prefecture's municipalities with pick weights.
type places struct {
	list   []place
	cum    []int
	byCode map[string]int
}

func newPlaces(p *record.Prefecture) *places {
	t := &places{byCode: make(map[string]int, len(p.Municipalities))}
	total := 0
	for i, m := range p.Municipalities {
		pl := place{code: m.Code, name: m.Name, prefix: p.Name + m.Name, districts: genericDistricts}
		w := 3 // a village
		switch {
		case strings.HasSuffix(m.Name, "区"):
			w = 60
		case strings.HasSuffix(m.Name, "市"):
			w = 40
		case strings.HasSuffix(m.Name, "町"):
			w = 10
		}
		if a, ok := akitaPlaces[m.Code]; ok {
			w, pl.districts = a.weight, a.districts
		}
		total += w
		t.list = append(t.list, pl)
		t.cum = append(t.cum, total)
		t.byCode[m.Code] = i
	}
	if len(t.list) == 0 {
		panic("synth: the prefecture has no municipality")
	}
	return t
}

// pick draws a municipality, weighted by population.
func (t *places) pick(r *rand.Rand) int { return pickCum(r, t.cum) }

// pickOther draws a municipality other than not, if there is another.
func (t *places) pickOther(r *rand.Rand, not int) int {
	if len(t.list) < 2 {
		return not
	}
	for {
		if i := t.pick(r); i != not {
			return i
		}
	}
}

// appendAddress appends an address in municipality mi, e.g. 秋田県秋田市山王三丁目4番15号,
// and returns the 6-digit 大字・字コード of its district: 3 digits for the district, 3
// for the 丁目 or 字.
func (t *places) appendAddress(b []byte, r *rand.Rand, mi int) ([]byte, [6]byte) {
	pl := &t.list[mi]
	di := r.IntN(len(pl.districts))
	d := pl.districts[di]
	b = append(b, pl.prefix...)
	b = append(b, d.name...)
	sub := 0
	if d.chome > 0 {
		sub = 1 + r.IntN(d.chome)
		b = append(b, kanjiDigits[sub]...)
		b = append(b, "丁目"...)
		b = appendNum(b, 1+r.IntN(30))
		b = append(b, "番"...)
		b = appendNum(b, 1+r.IntN(30))
		b = append(b, "号"...)
	} else {
		if r.IntN(2) == 0 {
			sub = 1 + r.IntN(len(koaza))
			b = append(b, "字"...)
			b = append(b, koaza[sub-1]...)
		}
		b = appendNum(b, 1+r.IntN(400))
		b = append(b, "番地"...)
		if r.IntN(3) == 0 {
			b = appendNum(b, 1+r.IntN(20))
		}
	}
	var code [6]byte
	appendPadded(code[:0], uint64(di+1), 3)
	appendPadded(code[3:3], uint64(sub), 3)
	return b, code
}

// address returns a new address in municipality mi and its district code.
func (t *places) address(r *rand.Rand, mi int) (addr, code string) {
	var buf [128]byte
	b, c := t.appendAddress(buf[:0], r, mi)
	return string(b), string(c[:])
}

// appendNum appends a positive number in decimal without padding.
func appendNum(b []byte, v int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}
