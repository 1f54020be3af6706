package record

import (
	"fmt"
	"sort"
)

// Municipality is one of the prefecture's 市町村.
type Municipality struct {
	Code string // 6 digits with check digit
	Name string
}

// Prefecture holds the municipalities whose notifications the terminal accepts.
type Prefecture struct {
	Name           string
	Municipalities []Municipality
	byCode         map[string]Municipality
}

// NewPrefecture builds a prefecture from its municipalities; every code must carry a
// valid check digit.
func NewPrefecture(name string, ms []Municipality) (*Prefecture, error) {
	p := &Prefecture{Name: name, byCode: make(map[string]Municipality, len(ms))}
	for _, m := range ms {
		if !ValidMunicipalityCode(m.Code) {
			return nil, fmt.Errorf("municipality %q (%s): code is not 6 digits with a valid check digit", m.Code, m.Name)
		}
		p.byCode[m.Code] = m
	}
	p.Municipalities = append([]Municipality(nil), ms...)
	sort.Slice(p.Municipalities, func(i, j int) bool { return p.Municipalities[i].Code < p.Municipalities[j].Code })
	return p, nil
}

// Lookup returns the municipality with that code, if it is in the prefecture.
func (p *Prefecture) Lookup(code string) (Municipality, bool) {
	m, ok := p.byCode[code]
	return m, ok
}

// akita lists 秋田県's 25 municipalities (DOMAIN.md).
var akita = []Municipality{
	{"052019", "秋田市"}, {"052027", "能代市"}, {"052035", "横手市"}, {"052043", "大館市"},
	{"052060", "男鹿市"}, {"052078", "湯沢市"}, {"052094", "鹿角市"}, {"052108", "由利本荘市"},
	{"052116", "潟上市"}, {"052124", "大仙市"}, {"052132", "北秋田市"}, {"052141", "にかほ市"},
	{"052159", "仙北市"}, {"053031", "小坂町"}, {"053279", "上小阿仁村"}, {"053465", "藤里町"},
	{"053481", "三種町"}, {"053490", "八峰町"}, {"053619", "五城目町"}, {"053635", "八郎潟町"},
	{"053660", "井川町"}, {"053686", "大潟村"}, {"054348", "美郷町"}, {"054631", "羽後町"},
	{"054640", "東成瀬村"},
}

// Akita returns 秋田県, the default and demo prefecture.
func Akita() *Prefecture {
	p, err := NewPrefecture("秋田県", akita)
	if err != nil {
		panic(err) // the table above is fixed and tested
	}
	return p
}
