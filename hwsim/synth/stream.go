package synth

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"

	"jukiterm/store/record"
)

// StreamOptions shape a notification stream.
type StreamOptions struct {
	// Mix maps a reason to its weight among valid notifications; nil or empty means
	// DefaultMix.
	Mix map[string]int
	// Invalid is the share of invalid notifications, 0..1.
	Invalid float64
	// Rules are the rule ids invalid notifications are drawn from; nil means all of
	// record.RuleIDs.
	Rules []string
	// Start is the first date of change, YYYY-MM-DD; "" means Reference.
	Start string
	// Duplicates is the share of byte-identical resends of earlier valid lines; 0 means
	// 1%, a negative value means none.
	Duplicates float64
}

// DefaultMix is the reason mix used when StreamOptions.Mix is nil: 転居 most, then
// moves between municipalities, deaths and births, and every other reason a little.
// Entering and leaving weigh the same (21 each), so the population stays about level.
var DefaultMix = map[string]int{
	record.Tenkyo: 30, record.Tenshutsu: 10, record.Tennyu: 12, record.Shibo: 7,
	record.Shussei: 6, record.ShimeiHenko: 5, record.JushoSettei: 3, record.KokugaiTenshutsu: 2,
	record.KokugaiTennyu: 2, record.KojinBangoHenko: 2, record.KyujiKisai: 2, record.ShokkenShusei: 2,
	record.KyujiSakujo: 1, record.SeinengappiTeisei: 1, record.SeibetsuHenko: 1, record.CodeHenko: 1,
	record.Shisso: 1, record.ShokkenShojo: 1, record.ShokkenKisai: 1,
}

// Item is one line of the stream.
type Item struct {
	// Line is one JSON Lines line without the newline.
	Line []byte
	// Rule is "" for a notification the store must accept (or count as duplicate), else
	// the id of the rule it must be rejected with.
	Rule string
	// Duplicate marks a byte-identical resend of an earlier valid line.
	Duplicate bool
}

// Stream generates change notifications against a population. It keeps a model of the
// file, updated with every valid notification it emits, so that valid notifications
// pass every check in order and invalid ones fail exactly the rule they are labelled
// with (the store's order: Parse, required keys, idempotency, record.Check,
// record.Logic). Ids are "S" and the item number, so one file should be fed by one
// stream. A Stream is not safe for concurrent use.
type Stream struct {
	p         *record.Prefecture
	r         *rand.Rand
	m         *model
	places    *places
	ids       ids
	nextCode  uint64 // index of the next new 住民票コード
	nextNum   uint64 // index of the next new 個人番号
	residents []record.Notification
	reasons   []string
	reasonCum []int
	rules     []string
	invalid   float64
	dup       float64
	start     day
	clock     int64 // seconds since start
	seq       int   // items emitted
	recent    [][]byte
	recentAt  int
	// mislabelled counts generated items whose outcome did not match their label and
	// were discarded; it stays 0 unless the generator and the checks disagree.
	mislabelled int
}

// newIndex is where the stream's new codes and numbers start, away from the indices
// Residents uses.
const newIndex = 1 << 36

const recentSize = 1024

// NewStream returns a stream over residents (as Residents returns them, already applied
// to the file in order). It panics on options naming unknown reasons or rules, or a bad
// Start date.
func NewStream(seed uint64, residents []record.Notification, p *record.Prefecture, o StreamOptions) *Stream {
	s := &Stream{p: p, r: rand.New(rand.NewPCG(seed, saltStream)), m: newModel(len(residents)),
		places: newPlaces(p), ids: newIDs(seed ^ saltStream), nextCode: newIndex, nextNum: newIndex,
		residents: residents}
	s.SetOptions(o)
	start := o.Start
	if start == "" {
		start = Reference
	}
	var ok bool
	if s.start, ok = parseDay(start); !ok {
		panic("synth: bad start date " + start)
	}
	for i := range residents {
		s.m.apply(&residents[i])
	}
	return s
}

// SetOptions changes the mix, the invalid share, the rules and the duplicate share
// of the items to come (Start is the stream's and stays). A stream replayed with the
// options of a file already ingested, then given others, continues that file.
func (s *Stream) SetOptions(o StreamOptions) {
	s.invalid, s.dup = min(max(o.Invalid, 0), 1), o.Duplicates
	switch {
	case s.dup == 0:
		s.dup = 0.01
	case s.dup < 0:
		s.dup = 0
	}
	mix := o.Mix
	if len(mix) == 0 {
		mix = DefaultMix
	}
	for reason, w := range mix {
		if _, ok := record.Reasons[reason]; !ok || w < 0 {
			panic(fmt.Sprintf("synth: mix has unknown reason or negative weight: %q %d", reason, w))
		}
	}
	total := 0
	s.reasons, s.reasonCum = nil, nil
	for _, reason := range record.ReasonNames { // a fixed order keeps the stream deterministic
		if w := mix[reason]; w > 0 {
			total += w
			s.reasons, s.reasonCum = append(s.reasons, reason), append(s.reasonCum, total)
		}
	}
	if total == 0 {
		panic("synth: mix has no reason with a positive weight")
	}
	s.rules = o.Rules
	if s.rules == nil {
		s.rules = record.RuleIDs
	}
	for _, rule := range s.rules {
		if !slices.Contains(record.RuleIDs, rule) {
			panic("synth: unknown rule id " + rule)
		}
	}
}

// Next returns the next item. The model moves on with every valid item.
func (s *Stream) Next() Item {
	s.clock += int64(s.r.IntN(241)) // two minutes apart on average
	s.seq++
	if len(s.recent) > 0 && s.dup > 0 && s.r.Float64() < s.dup {
		return Item{Line: slices.Clone(s.recent[s.r.IntN(len(s.recent))]), Duplicate: true}
	}
	if s.invalid > 0 && s.r.Float64() < s.invalid {
		if it, ok := s.invalidItem(); ok {
			return it
		}
	}
	return s.validItem("")
}

// validItem emits and applies a valid notification of reason ("" draws one from the mix).
func (s *Stream) validItem(reason string) Item {
	for range 10 {
		if reason == "" {
			reason = s.reasons[pickCum(s.r, s.reasonCum)]
		}
		n, ok := s.valid(reason)
		if !ok {
			n = s.newPerson(record.Tennyu) // always possible
		}
		line := marshal(&n)
		checked, rule := s.verdict(line)
		if rule == "" {
			s.m.apply(checked)
			s.remember(line)
			return Item{Line: line}
		}
		s.mislabelled++
		reason = ""
	}
	panic("synth: cannot build a valid notification")
}

// invalidItem emits a notification that breaks one of the chosen rules. When a rule
// needs a state the file lacks (a deceased or removed person), it emits a valid
// notification creating that state instead.
func (s *Stream) invalidItem() (Item, bool) {
	for try := range 8 {
		rule := s.rules[s.r.IntN(len(s.rules))]
		line, ok := s.breakRule(rule)
		if !ok {
			if try == 0 {
				if reason := s.enabler(rule); reason != "" {
					return s.validItem(reason), true
				}
			}
			continue
		}
		if rule == record.RuleIDReused { // checked where it is built: same key, other content
			return Item{Line: line, Rule: rule}, true
		}
		if _, got := s.verdict(line); got == rule {
			return Item{Line: line, Rule: rule}, true
		}
		s.mislabelled++
	}
	return Item{}, false
}

// enabler returns a reason whose valid notification makes rule possible, or "".
func (s *Stream) enabler(rule string) string {
	current := len(s.m.pools[poolCurrent])
	switch {
	case current == 0:
		return record.Tennyu
	case rule == record.RuleEnteringDeceased:
		return record.Shibo
	case rule == record.RuleRemovedPerson:
		return record.Tenshutsu
	case current < 2 || rule == record.RuleIDReused || rule == record.RuleOutOfOrder:
		return record.Tennyu
	}
	return ""
}

// verdict runs what the store runs on a line with a fresh (municipality, id): Parse
// (and the required keys, which record.Check checks first), record.Check and
// record.Logic against the model. It returns the checked notification and "" or the
// rule that failed.
func (s *Stream) verdict(line []byte) (*record.Notification, string) {
	n, v := record.Parse(line)
	if v != nil {
		return nil, v.Rule
	}
	if v := record.Check(n, s.p); v != nil {
		return nil, v.Rule
	}
	if _, _, v, err := record.Logic(n, s.m); err != nil || v != nil {
		if err != nil {
			panic(err) // the model never fails
		}
		return nil, v.Rule
	}
	return n, ""
}

func (s *Stream) remember(line []byte) {
	c := slices.Clone(line)
	if len(s.recent) < recentSize {
		s.recent = append(s.recent, c)
		return
	}
	s.recent[s.recentAt] = c
	s.recentAt = (s.recentAt + 1) % recentSize
}

func marshal(n *record.Notification) []byte {
	b, err := json.Marshal(n)
	if err != nil {
		panic(err) // strings and ints always marshal
	}
	return b
}
