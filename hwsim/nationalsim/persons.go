package nationalsim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"jukiterm/daemon/link/linkpb"
	"jukiterm/hwsim/load"
	"jukiterm/store/record"
)

// Aomori is a neighbouring prefecture whose synthetic persons the simulator holds.
func Aomori() *record.Prefecture {
	p, err := record.NewPrefecture("青森県", []record.Municipality{
		{Code: "022012", Name: "青森市"}, {Code: "022021", Name: "弘前市"}, {Code: "022039", Name: "八戸市"},
	})
	if err != nil {
		panic(err)
	}
	return p
}

// Seed adds n synthetic persons of another prefecture (seeded, so the same every time)
// and returns the first one's 住民票コード, for trying a query.
func (s *Sim) Seed(ctx context.Context, seed uint64, n int) (string, error) {
	var b bytes.Buffer
	if err := load.WriteResidents(&b, seed, n, Aomori()); err != nil {
		return "", err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	first := ""
	sc := bufio.NewScanner(&b)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var nt record.Notification
		if err := json.Unmarshal(sc.Bytes(), &nt); err != nil {
			return "", err
		}
		r := record.Apply(record.Record{}, &nt)
		rec, _ := json.Marshal(r)
		if _, err := tx.Exec(`INSERT OR REPLACE INTO persons (resident_code, my_number, name, name_kana, birth, sex, record) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			r.ResidentCode, r.MyNumber, r.Name, r.NameKana, r.Birth, r.Sex, rec); err != nil {
			return "", err
		}
		if first == "" {
			first = r.ResidentCode
		}
	}
	if err := sc.Err(); err != nil && err != io.EOF {
		return "", err
	}
	return first, tx.Commit()
}

func (s *Sim) answer(q *linkpb.Query) *linkpb.QueryAnswer {
	s.mu.Lock()
	s.stats.Queries++
	s.mu.Unlock()
	a := &linkpb.QueryAnswer{Id: q.GetId()}
	var cond string
	var args []any
	switch {
	case q.GetResidentCode() != "":
		cond, args = `resident_code = ?`, []any{q.GetResidentCode()}
	case q.GetMyNumber() != "":
		cond, args = `my_number = ?`, []any{q.GetMyNumber()}
	case q.GetFour() != nil:
		f := q.GetFour()
		cond, args = `birth = ? AND (name_kana = ? OR name = ?)`, []any{f.GetBirth(), f.GetNameKana(), f.GetName()}
		if f.GetSex() != 0 {
			cond += ` AND sex = ?`
			args = append(args, f.GetSex())
		}
	default:
		a.Error = "the query names no key (住民票コード, 個人番号 or 4情報)"
		return a
	}
	rows, err := s.db.Query(`SELECT record FROM persons WHERE `+cond+` LIMIT 100`, args...)
	if err != nil {
		a.Error = fmt.Sprintf("the national simulator failed: %v", err)
		return a
	}
	defer rows.Close()
	for rows.Next() {
		var b []byte
		if rows.Scan(&b) == nil {
			a.Records = append(a.Records, b)
		}
	}
	return a
}
