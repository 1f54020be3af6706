package provision

import "jukiterm/store"

// keyedPerEntry bounds the keyed values of one provision.keys entry (its payload
// stays well under store.MaxPayload).
const keyedPerEntry = 500

// LogEntries are the operation-log entries made before a provision is written:
// provision.writing (what goes out, to whom, on which stick), then provision.keys
// entries with every query's keys and every result's 住民票コード as keyed HMACs, so
// that `audit lookup` finds a person provided in bulk as it finds one searched.
func LogEntries(rec store.ProvisionRecord, qs []store.Query, results []Result) []store.Entry {
	entries := []store.Entry{{At: rec.At, Operator: rec.Operator, Action: "provision.writing", Detail: map[string]any{
		"provision": rec.ID, "kind": rec.Kind, "application": rec.Application, "recipient": rec.Recipient, "medium": rec.Medium,
		"queries": rec.Queries, "matched": rec.Matched, "not_found": rec.NotFound, "update_seq": rec.UpdateSeq,
		"request_sha256": rec.RequestSHA256}}}
	var keyed []store.Keyed
	for _, q := range qs {
		keyed = append(keyed, q.Keyed(nil)...)
	}
	for _, r := range results {
		keyed = append(keyed, store.Keyed{Field: "result_resident_code", Value: r.Person.ResidentCode})
	}
	parts := (len(keyed) + keyedPerEntry - 1) / keyedPerEntry
	for i := 0; i < parts; i++ {
		chunk := keyed[i*keyedPerEntry : min((i+1)*keyedPerEntry, len(keyed))]
		entries = append(entries, store.Entry{At: rec.At, Operator: rec.Operator, Action: "provision.keys",
			Detail: map[string]any{"provision": rec.ID, "part": i + 1, "parts": parts}, Keyed: chunk})
	}
	return entries
}
