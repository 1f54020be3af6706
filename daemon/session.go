package daemon

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"time"

	"jukiterm/store"
)

// Session is a signed-in operator on one Unix user's clients. The client keeps the
// token (a file only that user can read); the daemon keeps its hash and accepts it
// only from a process of the same user (SO_PEERCRED).
type Session struct {
	Operator   string
	UID        int
	Rights     []store.Right // as at sign-in; grants and revocations update live sessions
	Created    time.Time
	LastActive time.Time
	Locked     bool
	used       map[store.Role]bool // roles whose use is recorded already
}

// SessionLimits bound a session's life.
type SessionLimits struct {
	Idle time.Duration // without a request, the session locks (default 10 min)
	Max  time.Duration // after sign-in, the session ends (default 12 h)
}

type sessions struct {
	mu     sync.Mutex
	byHash map[[32]byte]*Session
	limits SessionLimits
	now    func() time.Time
}

func newSessions(l SessionLimits) *sessions {
	if l.Idle <= 0 {
		l.Idle = 10 * time.Minute
	}
	if l.Max <= 0 {
		l.Max = 12 * time.Hour
	}
	return &sessions{byHash: map[[32]byte]*Session{}, limits: l, now: time.Now}
}

// open starts a session for operator on uid and returns its token. A user has one
// session: signing in again replaces the previous one.
func (ss *sessions) open(operator string, uid int, rights []store.Right) string {
	b := make([]byte, 32)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for h, s := range ss.byHash {
		if s.UID == uid {
			delete(ss.byHash, h)
		}
	}
	ss.byHash[sha256.Sum256([]byte(token))] = &Session{Operator: operator, UID: uid, Rights: rights,
		Created: now, LastActive: now, used: map[store.Role]bool{}}
	return token
}

// close ends the session of token if it is uid's. A token of another Unix user's
// session ends nothing: foreign says it was one (an attempt to be recorded).
func (ss *sessions) close(token string, uid int) (ended, foreign bool) {
	if token == "" {
		return false, false
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	h := sha256.Sum256([]byte(token))
	s, ok := ss.byHash[h]
	switch {
	case !ok:
		return false, false
	case s.UID != uid:
		return false, true
	}
	delete(ss.byHash, h)
	return true, false
}

// update replaces the rights of operator's sessions (after a grant or revocation).
func (ss *sessions) update(operator string, rights []store.Right) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, s := range ss.byHash {
		if s.Operator == operator {
			s.Rights = rights
		}
	}
}

// end closes every session of operator (biometric sign-in disabled, operator removed).
func (ss *sessions) end(operator string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for h, s := range ss.byHash {
		if s.Operator == operator {
			delete(ss.byHash, h)
		}
	}
}

// sessionState says why a request's session cannot be used.
type sessionState int

const (
	sessionOK sessionState = iota
	sessionNone
	sessionExpired
	sessionLocked
)

// check finds the session of token for uid; a session idle too long locks, one past
// its maximum life ends. A usable session counts as active now.
func (ss *sessions) check(token string, uid int) (Session, sessionState) {
	if token == "" {
		return Session{}, sessionNone
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	h := sha256.Sum256([]byte(token))
	s, ok := ss.byHash[h]
	if !ok || s.UID != uid {
		return Session{}, sessionNone
	}
	now := ss.now()
	switch {
	case now.Sub(s.Created) > ss.limits.Max:
		delete(ss.byHash, h)
		return *s, sessionExpired
	case s.Locked || now.Sub(s.LastActive) > ss.limits.Idle:
		s.Locked = true
		return *s, sessionLocked
	}
	s.LastActive = now
	return *s, sessionOK
}

// firstUse tells whether role's use in the session of token is to be recorded (once).
func (ss *sessions) firstUse(token string, role store.Role) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byHash[sha256.Sum256([]byte(token))]
	if !ok || s.used[role] {
		return false
	}
	s.used[role] = true
	return true
}

// tokenOf reads the bearer token of a request.
func tokenOf(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
}
