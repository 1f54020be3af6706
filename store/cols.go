package store

// placeholders has one ? per column of recordCols.
const placeholders = `?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`

// historyCols selects a current row for history: recordCols with 保存期間フラグ set,
// since a version's retention clock starts when it is replaced.
const historyCols = `resident_code, name, name_gaiji, name_kana, birth, sex, address, address_gaiji, my_number, reason, changed_on, 1, name_kana_seion, municipality, district_code, operator_id, terminal_id, ts, notified_on, gaiji_flag, removed, update_seq, name_gaiji_seq, address_gaiji_seq, former_surname, former_surname_gaiji, former_surname_kana, former_surname_seq, kana_surname_seion`
