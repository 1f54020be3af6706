package store

import (
	"database/sql"
	"fmt"
)

// stmt returns query prepared in the applier's transaction, once per batch. (The
// writer has one connection, which the transaction holds: statements cannot be
// prepared outside it meanwhile.)
func (a *applier) stmt(query string) (*sql.Stmt, error) {
	if st, ok := a.stmts[query]; ok {
		return st, nil
	}
	st, err := a.tx.Prepare(query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if a.stmts == nil {
		a.stmts = map[string]*sql.Stmt{}
	}
	a.stmts[query] = st
	return st, nil
}

func (a *applier) exec(query string, args ...any) (sql.Result, error) {
	st, err := a.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.Exec(args...)
}

func (a *applier) queryRow(query string, args ...any) *sql.Row {
	st, err := a.stmt(query)
	if err != nil {
		// Let the caller see the error through the row, as database/sql does.
		return a.tx.QueryRow(query, args...)
	}
	return st.QueryRow(args...)
}
