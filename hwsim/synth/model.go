package synth

import "jukiterm/store/record"

// Pools group the persons of the model by status: current residents, and removed
// persons by the reason of their removal.
const (
	poolCurrent   = iota
	poolMovedOut  // 転出: may enter again by 転入
	poolAbroad    // 国外転出
	poolDeceased  // 死亡, 失踪宣告
	poolAuthority // 職権消除
	poolCount
)

func poolOf(r record.Record) int {
	switch {
	case !r.Removed:
		return poolCurrent
	case r.Reason == record.Tenshutsu:
		return poolMovedOut
	case r.Reason == record.KokugaiTenshutsu:
		return poolAbroad
	case record.Deceased(r.Reason):
		return poolDeceased
	}
	return poolAuthority
}

// person is the model's view of one person: the current record and its dates.
type person struct {
	rec     record.Record
	birth   day
	changed day
	pool    int
	pos     int // index in its pool
}

// model is the stream's picture of the file: what the store holds after every valid
// notification so far. It answers record.Lookup the way the store does.
type model struct {
	chunks  [][]person     // the persons, in chunks so that growing copies nothing
	n       int            // number of persons
	byCode  map[string]int // current 住民票コード (of current and removed persons) → person
	former  map[string]int // 住民票コード given up by 住民票コード変更 → person
	formers []string       // the keys of former, in order, to draw from
	numbers map[string]int // every 個人番号 ever held → person
	pools   [poolCount][]int
}

func newModel(size int) *model {
	return &model{byCode: make(map[string]int, size),
		former: map[string]int{}, numbers: make(map[string]int, size)}
}

// ByCode implements record.Lookup.
func (m *model) ByCode(code string) (record.Record, bool, error) {
	i, ok := m.byCode[code]
	if !ok {
		return record.Record{}, false, nil
	}
	return m.at(i).rec, true, nil
}

// FormerCode implements record.Lookup.
func (m *model) FormerCode(code string) (bool, error) {
	_, ok := m.former[code]
	return ok, nil
}

// MyNumberOwner implements record.Lookup: the holder of a 個人番号 is the person whose
// record carries it now, current or removed.
func (m *model) MyNumberOwner(num string) (string, bool, error) {
	i, ok := m.numbers[num]
	if !ok || m.at(i).rec.MyNumber != num {
		return "", false, nil
	}
	return m.at(i).rec.ResidentCode, true, nil
}

// used reports whether a 住民票コード was ever given to anyone.
func (m *model) usedCode(code string) bool {
	_, now := m.byCode[code]
	_, before := m.former[code]
	return now || before
}

// apply records notification n, already checked, as the store would.
func (m *model) apply(n *record.Notification) {
	i, found := m.byCode[n.ResidentCode]
	var old record.Record
	if found {
		old = m.at(i).rec
	} else {
		i = m.add()
	}
	rec := record.Apply(old, n)
	if rec.ResidentCode != n.ResidentCode {
		delete(m.byCode, n.ResidentCode)
		m.former[n.ResidentCode] = i
		m.formers = append(m.formers, n.ResidentCode)
	}
	m.byCode[rec.ResidentCode] = i
	if rec.MyNumber != "" {
		m.numbers[rec.MyNumber] = i
	}
	p := m.at(i)
	p.rec = rec
	p.birth, _ = parseDay(rec.Birth)
	p.changed, _ = parseDay(rec.ChangedOn)
	m.move(i, poolOf(rec))
}

// move puts person i into pool to.
func (m *model) move(i, to int) {
	p := m.at(i)
	if p.pool == to {
		return
	}
	if p.pool >= 0 {
		list := m.pools[p.pool]
		last := list[len(list)-1]
		list[p.pos] = last
		m.at(last).pos = p.pos
		m.pools[p.pool] = list[:len(list)-1]
	}
	p.pool, p.pos = to, len(m.pools[to])
	m.pools[to] = append(m.pools[to], i)
}

const chunkBits = 12

// at returns person i.
func (m *model) at(i int) *person { return &m.chunks[i>>chunkBits][i&(1<<chunkBits-1)] }

// count returns the number of persons.
func (m *model) count() int { return m.n }

// add appends a person not in any pool and returns its index.
func (m *model) add() int {
	if m.n>>chunkBits == len(m.chunks) {
		m.chunks = append(m.chunks, make([]person, 1<<chunkBits))
	}
	i := m.n
	m.n++
	*m.at(i) = person{pool: -1}
	return i
}

// removed returns the number of removed persons.
func (m *model) removed() int { return m.count() - len(m.pools[poolCurrent]) }
