package api

// ProvisionRequest asks for a bulk provision (一括提供) or transfer (移転): the request
// file (FORMATS.md §5) run under an application, written to an issued medium.
type ProvisionRequest struct {
	Application string `json:"application"`
	Recipient   string `json:"recipient,omitempty"` // optional: must be the application's
	Medium      string `json:"medium"`              // the stick's USB serial number
	Request     []byte `json:"request"`             // the CSV file as received
	RequestName string `json:"request_name,omitempty"`
}

// ProvisionEvent is one line of the provision call's streamed answer (NDJSON):
// progress, then one final event with Result or Error.
type ProvisionEvent struct {
	Progress *ProvisionProgress `json:"progress,omitempty"`
	Result   *ProvisionResult   `json:"result,omitempty"`
	Error    *Error             `json:"error,omitempty"`
	// Problems lists the request file's bad rows when it was refused whole.
	Problems []RequestProblem `json:"problems,omitempty"`
}

// ProvisionProgress says how far a provision is: Stage is "search" or "write".
type ProvisionProgress struct {
	Stage string `json:"stage"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
}

// ProvisionResult is a provision written and verified on the medium.
type ProvisionResult struct {
	ID             string `json:"id"`
	Kind           string `json:"kind"` // provision (提供) or transfer (移転)
	Application    string `json:"application"`
	Recipient      string `json:"recipient"`
	Medium         string `json:"medium"`
	Directory      string `json:"directory"` // on the medium
	Queries        int    `json:"queries"`
	Matched        int    `json:"matched"`
	NotFound       int    `json:"not_found"`
	UpdateSeq      int64  `json:"update_seq"`
	ManifestSHA256 string `json:"manifest_sha256"`
	// ApplicationExpected and ApplicationProvided reconcile the counts with the
	// application: the records it expects, and those provided under it so far.
	ApplicationExpected int `json:"application_expected"`
	ApplicationProvided int `json:"application_provided"`
	// NationalRows are the rows (in Matched) the national server answered for queries
	// this file matched nobody for; NationalError says why it was not asked or did not
	// answer (those queries stay not found).
	NationalRows  int    `json:"national_rows,omitempty"`
	NationalError string `json:"national_error,omitempty"`
}

// RequestProblem is one bad row of a refused request file.
type RequestProblem struct {
	Line    int    `json:"line"`
	QueryID string `json:"query_id,omitempty"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}
