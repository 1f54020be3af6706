package provision

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"filippo.io/age"

	"jukiterm/store/record"
)

// Provision is what Write puts on a medium: the results of one request for one
// recipient, and what the manifest says about them.
type Provision struct {
	ID            string // NewID
	Application   string // the 申請 the provision is made under
	Recipient     Recipient
	Operator      string
	TerminalID    string
	Time          time.Time
	UpdateSeq     int64  // 更新順番号 of the file when the queries ran (high-water mark)
	RequestSHA256 string // hex SHA-256 of the request file as received
	Queries       int    // rows in the request
	Results       []Result
	NotFound      []string // query_ids that matched nobody
	NationalRows  int      // rows of Results the national server answered (機構への照会)
}

// Recipient is the executive body that receives a provision.
type Recipient struct {
	ID           string
	Name         string
	Basis        string   // the legal basis of the provision (根拠法令)
	AgeRecipient string   // age X25519 recipient (age1…) the results are encrypted to
	Items        []string // the items it may receive (ParseItems)
}

// Result is one person matched by one query; a query may match several persons.
type Result struct {
	QueryID string
	Person  record.Record
}

// String names the result without its personal data.
func (r Result) String() string { return fmt.Sprintf("result of query %q", r.QueryID) }

var idPattern = regexp.MustCompile(`^P[0-9]{8}-[0-9]{4}-[0-9a-f]{6}$`)

// NewID returns a new provision id: "P", the UTC date and time to the minute, and six
// random hex digits, e.g. P20261126-0412-ab12cd. It is also the directory name on the
// medium.
func NewID(now time.Time) string {
	var b [3]byte
	rand.Read(b[:])
	return "P" + now.UTC().Format("20060102-1504") + "-" + hex.EncodeToString(b[:])
}

// ValidID reports whether id has the form NewID gives.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// check validates p before anything is written, returning its items in canonical
// order and the age recipient.
func (p *Provision) check() ([]string, age.Recipient, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("provision %s not written, nothing was written to the medium: %s", p.ID, fmt.Sprintf(format, a...))
	}
	if !ValidID(p.ID) {
		return nil, nil, fmt.Errorf("provision id %q is not of the form P20261126-0412-ab12cd (make one with NewID); nothing was written to the medium", p.ID)
	}
	for _, f := range []struct{ name, v string }{{"application", p.Application}, {"operator", p.Operator},
		{"terminal id", p.TerminalID}, {"recipient id", p.Recipient.ID}, {"recipient name", p.Recipient.Name},
		{"recipient's legal basis", p.Recipient.Basis}} {
		if strings.TrimSpace(f.v) == "" || strings.ContainsFunc(f.v, unicode.IsControl) {
			return nil, nil, bad("the %s is missing or holds control characters", f.name)
		}
	}
	if p.Time.IsZero() {
		return nil, nil, bad("its time is not set")
	}
	if b, err := hex.DecodeString(p.RequestSHA256); err != nil || len(b) != 32 || strings.ToLower(p.RequestSHA256) != p.RequestSHA256 {
		return nil, nil, bad("the request's SHA-256 is not 64 lower-case hex digits")
	}
	its, err := ParseItems(p.Recipient.Items)
	if err != nil {
		return nil, nil, bad("the recipient's items: %v", err)
	}
	rc, err := age.ParseX25519Recipient(p.Recipient.AgeRecipient)
	if err != nil {
		return nil, nil, bad("the recipient's age recipient %q is not an age X25519 recipient (age1…): %v", p.Recipient.AgeRecipient, err)
	}
	found := map[string]bool{}
	for _, r := range p.Results {
		if r.QueryID == "" {
			return nil, nil, bad("a result has no query_id")
		}
		found[r.QueryID] = true
	}
	for _, id := range p.NotFound {
		if id == "" || found[id] {
			return nil, nil, bad("the not-found list holds an empty query_id or one that has results")
		}
	}
	if p.Queries < len(found)+len(p.NotFound) {
		return nil, nil, bad("it counts %d queries, fewer than the %d with results or none", p.Queries, len(found)+len(p.NotFound))
	}
	if p.UpdateSeq < 0 {
		return nil, nil, bad("its 更新順番号 is negative")
	}
	return its, rc, nil
}

// ErrNoSpace says the medium has too little room for the output; Write returns it
// before anything is written.
var ErrNoSpace = errors.New("not enough free space on the medium")
