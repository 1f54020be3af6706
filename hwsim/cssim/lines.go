package cssim

import (
	"encoding/json"
	"fmt"

	"jukiterm/hwsim/synth"
	"jukiterm/store/record"
)

// Lines are the notifications one CS sends, with the rule each must be rejected with
// ("" when it must be applied).
type Lines struct {
	Lines [][]byte
	Rules []string
}

// Expected counts the rejections by rule and the applied lines.
func (l Lines) Expected() (applied int, byRule map[string]int) {
	byRule = map[string]int{}
	for _, r := range l.Rules {
		if r == "" {
			applied++
		} else {
			byRule[r]++
		}
	}
	return applied, byRule
}

// CSLines makes n 転入 of new persons into municipality (seeded; ids unique per
// municipality), of which every invalidEvery-th is broken under a rule the link or the
// line's own items decide — a 個人番号 with a wrong check digit, a missing name, an
// impossible birth date, or another municipality's notification (wrong-peer) — so the
// outcome does not depend on what other links bring meanwhile.
func CSLines(seed uint64, municipality, other string, n, invalidEvery int) Lines {
	name := "?"
	for _, m := range record.Akita().Municipalities {
		if m.Code == municipality {
			name = m.Name
		}
	}
	p, err := record.NewPrefecture("秋田県", []record.Municipality{{Code: municipality, Name: name}})
	if err != nil {
		panic(err)
	}
	var out Lines
	breakers := []struct {
		rule string
		f    func(m map[string]any)
	}{
		{record.RuleBadMyNumber, func(m map[string]any) {
			s := m["my_number"].(string)
			m["my_number"] = s[:11] + fmt.Sprint((int(s[11]-'0')+1)%10)
		}},
		{record.RuleMissingField, func(m map[string]any) { delete(m, "name") }},
		{record.RuleBadDate, func(m map[string]any) { m["birth"] = "2001-02-30" }},
		{record.RuleWrongPeer, func(m map[string]any) { m["municipality"] = other }},
	}
	for i, nt := range synth.Residents(seed, n, p) {
		nt.ID = fmt.Sprintf("%s-L%06d", municipality, i+1)
		b, _ := json.Marshal(&nt)
		rule := ""
		if invalidEvery > 0 && (i+1)%invalidEvery == 0 {
			var m map[string]any
			json.Unmarshal(b, &m)
			br := breakers[(i/invalidEvery)%len(breakers)]
			br.f(m)
			b, _ = json.Marshal(m)
			rule = br.rule
		}
		out.Lines = append(out.Lines, b)
		out.Rules = append(out.Rules, rule)
	}
	return out
}
