package daemon

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"jukiterm/store"
)

// action names what a request does; the authorisation point decides per action.
type action string

const (
	actHealth action = "check health"
	actIngest action = "ingest notifications"
	actSearch action = "search"
	actShow   action = "view a record"
	actStats  action = "see the file's counts"

	actKeysRotate action = "rotate the storage key"
	actBackup     action = "make a backup"
	actLogin      action = "sign in"
	actLogout     action = "sign out"
	actWhoami     action = "describe the session"
	actOperators  action = "list operators"
	actLedger     action = "read the rights ledger"
	actInventory  action = "take the rights inventory"
	actEnrol      action = "enrol an operator"
	actGrant      action = "grant a right"
	actRevoke     action = "revoke a right"
	actReset      action = "reset a sign-in lockout"

	actAuditVerify action = "verify the operation log"
	actAuditLookup action = "look up a value in the operation log"
	actAuditProve  action = "prove an entry of the operation log"
	actReconcile   action = "reconcile use against applications"
	actAuditExport action = "export the operation log"
	actAppAdd      action = "register an application"
	actAppList     action = "list applications"
	actAppClose    action = "close an application"

	actMediaList     action = "list the issued media"
	actMediaChange   action = "change the issued-media ledger"
	actRecipientAdd  action = "register a recipient"
	actRecipientList action = "list the recipients"
	actProvision     action = "make a bulk provision"
	actProvisionList action = "list the provisions"
)

// Peer is the process at the other end of the socket, from SO_PEERCRED.
type Peer struct {
	PID, UID, GID int
	Known         bool
}

type peerKey struct{}

// withPeer reads the connecting process's credentials once per connection (at
// accept, by the per-user connection limit, when it is in place).
func withPeer(ctx context.Context, c net.Conn) context.Context {
	p, ok := c.(*peerConn)
	if ok {
		return context.WithValue(ctx, peerKey{}, p.peer)
	}
	return context.WithValue(ctx, peerKey{}, peerCred(c))
}

func peerOf(r *http.Request) Peer {
	p, _ := r.Context().Value(peerKey{}).(Peer)
	return p
}

// public actions need no session: the socket's mode (0660, the daemon's user and
// group) already limits who can ask.
var public = map[action]bool{
	actHealth: true,
	actLogin:  true,
	actLogout: true,
}

var allRoles = store.Roles

// policy lists, per action, the roles that may perform it; an action listed with no
// roles needs a session but no particular role. Anything not listed is denied.
var policy = map[action][]store.Role{
	actIngest:     {store.RoleAdministrator},
	actSearch:     {store.RoleOperator},
	actShow:       {store.RoleOperator},
	actStats:      allRoles,
	actKeysRotate: {store.RoleAdministrator},
	actBackup:     {store.RoleAdministrator},
	actWhoami:     {},
	actOperators:  {store.RoleAdministrator, store.RoleAuditor},
	actLedger:     {store.RoleAdministrator, store.RoleAuditor},
	actInventory:  {store.RoleAdministrator, store.RoleAuditor},
	actEnrol:      {store.RoleAdministrator},
	actGrant:      {store.RoleAdministrator},
	actRevoke:     {store.RoleAdministrator},
	actReset:      {store.RoleAdministrator},

	actAuditVerify: {store.RoleAuditor},
	actAuditLookup: {store.RoleAuditor},
	actAuditProve:  {store.RoleAuditor},
	actReconcile:   {store.RoleAuditor},
	actAuditExport: {store.RoleAuditor},
	actAppAdd:      {store.RoleAdministrator},
	actAppList:     {store.RoleOperator, store.RoleProvision, store.RoleDisclosure, store.RoleAdministrator, store.RoleAuditor},
	actAppClose:    {store.RoleAdministrator},

	actMediaList:     {store.RoleProvision, store.RoleAdministrator, store.RoleAuditor},
	actMediaChange:   {store.RoleAdministrator},
	actRecipientAdd:  {store.RoleAdministrator},
	actRecipientList: {store.RoleProvision, store.RoleAdministrator, store.RoleAuditor},
	actProvision:     {store.RoleProvision},
	actProvisionList: {store.RoleProvision, store.RoleAdministrator, store.RoleAuditor},
}

type sessionKey struct{}

// caller is who made a request: the session, and the role that allowed it ("" for a
// public action or one that needs no role).
type caller struct {
	Session
	Role    store.Role
	token   string
	service string // the service session the call is a step of (service.go)
}

func callerOf(r *http.Request) caller {
	c, _ := r.Context().Value(sessionKey{}).(caller)
	return c
}

// authorize is the one point every request passes: it denies by default. A denied
// caller with a valid token (a locked or ended session, a missing right) comes back
// with their session, so that the denial is recorded under their name.
func (s *Server) authorize(r *http.Request, a action) (caller, error) {
	p := peerOf(r)
	if !p.Known {
		return caller{}, errDenied("the caller's identity could not be read from the socket")
	}
	if public[a] {
		return caller{}, nil
	}
	roles, listed := policy[a]
	if !listed {
		return caller{}, errDenied("this operation is not allowed")
	}
	token := tokenOf(r)
	sess, state := s.sessions.check(token, p.UID)
	switch state {
	case sessionNone:
		return caller{}, errSignIn(fmt.Sprintf("you are not signed in: sign in with `%s`, NAME being your operator name (your finger on the reader)", s.loginCommand("")))
	case sessionExpired:
		return caller{Session: sess}, errSignIn(fmt.Sprintf("the session of %s ended %s after sign-in: sign in again with `%s`", sess.Operator, s.sessions.limits.Max, s.loginCommand(sess.Operator)))
	case sessionLocked:
		return caller{Session: sess}, errSignIn(fmt.Sprintf("the session of %s locked after %s without use: sign in again with `%s` to unlock it", sess.Operator, s.sessions.limits.Idle, s.loginCommand(sess.Operator)))
	}
	svc, err := s.serviceGate(r.Context(), sess, a)
	if err != nil {
		return caller{Session: sess}, err
	}
	c := caller{Session: sess, token: token, service: svc}
	if len(roles) == 0 {
		return c, nil
	}
	now := s.sessions.now()
	var held []store.Role
	for _, r := range sess.Rights {
		if r.Active(now) {
			held = append(held, r.Role)
		}
	}
	for _, role := range roles {
		if slices.Contains(held, role) {
			c.Role = role
			return c, nil
		}
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return caller{Session: sess}, errDenied(fmt.Sprintf("operator %s does not hold the right to %s (it needs: %s): ask %s to grant you the right",
		sess.Operator, a, strings.Join(names, " or "), askAdmin(sess.Rights, now)))
}

// askAdmin is whom an operator with rights asks for a right or a reset: an
// administrator cannot ask themself, and asks another.
func askAdmin(rights []store.Right, now time.Time) string {
	for _, r := range rights {
		if r.Role == store.RoleAdministrator && r.Active(now) {
			return "another administrator"
		}
	}
	return "an administrator"
}

// loginCommand is the command that signs operator in here: with simulated hardware,
// the simulated finger names the operator.
func (s *Server) loginCommand(operator string) string {
	if operator == "" {
		operator = "NAME"
	}
	if _, sim := s.reader.(SimFinger); sim {
		return "jukiterm login --sim-finger " + operator
	}
	return "jukiterm login " + operator
}

// guard wraps a handler with the authorisation point.
func (s *Server) guard(a action, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w, r = limitBody(w, r, a)
		c, err := s.authorize(r, a)
		if err != nil {
			w.Header().Set("Connection", "close") // a denied call's body is not waited for
			s.log.Warn("request denied", "action", string(a), "uid", peerOf(r).UID, "pid", peerOf(r).PID, "operator", c.Operator, "reason", err.Error())
			if s.store != nil && peerOf(r).Known && s.logDenial(c, peerOf(r).UID) {
				// Under the operator whose token it was, if any; a caller without a
				// valid token is named by their Unix user.
				r := r.WithContext(context.WithValue(r.Context(), sessionKey{}, caller{Session: c.Session}))
				s.record(r, "access.denied", map[string]any{"action": string(a), "uid": peerOf(r).UID, "reason": err.Error()})
			}
			writeError(w, err)
			return
		}
		if c.Role != "" && s.sessions.firstUse(c.token, c.Role) {
			if err := s.store.MarkUsed(r.Context(), c.Operator, c.Role, s.sessions.now()); err != nil {
				s.log.Error("record the use of a right", "operator", c.Operator, "role", string(c.Role), "err", err)
			}
		}
		s.traced(c, a, h)(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, c)))
		// What the handler left buffered is sent after it returns: give it its time.
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(WriteTimeout))
	}
}

// logDenial tells whether a denial gets its own access.denied entry. Denials of
// callers without a session are limited per Unix user as refused sign-ins are
// (signinlimit.go): beyond the limit they are counted in one access.limited entry, so
// whoever can open the socket cannot fill the operation log.
func (s *Server) logDenial(c caller, uid int) bool {
	if c.Operator != "" {
		return true
	}
	wait, first, due := s.denials.take(uid)
	if due != nil {
		s.reportDenialsLimited(*due)
	}
	if wait > 0 {
		if first {
			s.log.Warn("many denied calls without a session from one Unix user: further ones are counted in one access.limited entry", "uid", uid)
		}
		return false
	}
	s.denials.refused(uid)
	return true
}
