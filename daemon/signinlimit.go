package daemon

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"jukiterm/store"
)

// Refused sign-ins are limited per Unix user (peer uid), by a token bucket: the first
// SignInRefusalBurst are answered and logged one by one, then one more every
// SignInRefusalEvery. Beyond that an attempt is refused at once without being
// tried, with an answer that says how long to wait; those are not logged one by one
// but counted in one signin.limited entry, written when the user may try again (or at
// their next allowed attempt, whichever comes first). The lockout per operator (the
// store's) applies besides.
var (
	SignInRefusalBurst = 6
	SignInRefusalEvery = 10 * time.Second
)

// refusalLimiter is the token bucket of refused sign-ins, per uid.
type refusalLimiter struct {
	mu     sync.Mutex
	byUID  map[int]*refusals
	now    func() time.Time
	report func(limited) // writes the summary (signin.limited)
	closed bool
	wg     sync.WaitGroup // summaries being written by a timer
}

type refusals struct {
	tokens float64
	at     time.Time // when tokens was counted
	held   int       // attempts refused without being tried, not yet summarised
	since  time.Time // the first of them
	timer  *time.Timer
}

// limited summarises the attempts of uid refused without being tried.
type limited struct {
	UID          int
	Count        int
	Since, Until time.Time
}

func newRefusalLimiter(report func(limited)) *refusalLimiter {
	return &refusalLimiter{byUID: map[int]*refusals{}, now: time.Now, report: report}
}

// refill brings r's tokens up to now.
func (l *refusalLimiter) refill(r *refusals, now time.Time) {
	r.tokens += float64(now.Sub(r.at)) / float64(SignInRefusalEvery)
	r.tokens = min(r.tokens, float64(SignInRefusalBurst))
	r.at = now
}

// take tells whether uid may make an attempt now. When its refusals are used up, it
// returns how long to wait (in whole seconds) and counts the attempt for the
// summary; first says it is the first so counted. A summary due (the user may try
// again) is returned to be written before the attempt's own entries.
func (l *refusalLimiter) take(uid int) (wait time.Duration, first bool, due *limited) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	r, ok := l.byUID[uid]
	if !ok {
		r = &refusals{tokens: float64(SignInRefusalBurst), at: now}
		l.byUID[uid] = r
		l.prune(now)
	}
	l.refill(r, now)
	if r.tokens >= 1 {
		return 0, false, l.summary(uid, r, now)
	}
	wait = time.Duration((1 - r.tokens) * float64(SignInRefusalEvery))
	if first = r.held == 0; first {
		r.since = now
		if !l.closed {
			r.timer = time.AfterFunc(wait, func() { l.flush(uid) })
		}
	}
	r.held++
	return time.Duration(math.Ceil(wait.Seconds())) * time.Second, first, nil
}

// refused uses up one of uid's refusals: an attempt was refused (and logged).
// Attempts made together may overrun the bucket by as many as run at once.
func (l *refusalLimiter) refused(uid int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r, ok := l.byUID[uid]; ok {
		l.refill(r, l.now())
		r.tokens = max(r.tokens-1, 0)
	}
}

// summary takes r's held attempts as a summary (nil if none).
func (l *refusalLimiter) summary(uid int, r *refusals, now time.Time) *limited {
	if r.held == 0 {
		return nil
	}
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	s := &limited{UID: uid, Count: r.held, Since: r.since, Until: now}
	r.held = 0
	return s
}

// flush writes uid's summary when its window ends without a further attempt.
func (l *refusalLimiter) flush(uid int) {
	l.mu.Lock()
	var s *limited
	if r, ok := l.byUID[uid]; ok && !l.closed {
		s = l.summary(uid, r, l.now())
	}
	if s != nil {
		l.wg.Add(1)
		defer l.wg.Done()
	}
	l.mu.Unlock()
	if s != nil {
		l.report(*s)
	}
}

// close writes every summary still held (at shutdown, while the store is open).
func (l *refusalLimiter) close() {
	l.mu.Lock()
	l.closed = true
	var due []limited
	now := l.now()
	for uid, r := range l.byUID {
		if s := l.summary(uid, r, now); s != nil {
			due = append(due, *s)
		}
	}
	l.mu.Unlock()
	l.wg.Wait()
	for _, s := range due {
		l.report(s)
	}
}

// prune forgets users whose bucket is full again and who have nothing held (under mu).
func (l *refusalLimiter) prune(now time.Time) {
	if len(l.byUID) < 1024 {
		return
	}
	for uid, r := range l.byUID {
		l.refill(r, now)
		if r.held == 0 && r.tokens >= float64(SignInRefusalBurst) {
			delete(l.byUID, uid)
		}
	}
}

// reportLimited writes a signin.limited entry: the Unix user and how many attempts
// were refused without being tried (and without an entry each).
func (s *Server) reportLimited(l limited) { s.reportLimitedAs("signin.limited", l) }

// reportDenialsLimited writes an access.limited entry: the Unix user without a
// session and how many of their calls were denied without an entry each.
func (s *Server) reportDenialsLimited(l limited) { s.reportLimitedAs("access.limited", l) }

func (s *Server) reportLimitedAs(action string, l limited) {
	if s.store == nil {
		return
	}
	_, err := s.store.Log(context.Background(), store.Entry{Operator: uidName(l.UID), Action: action,
		Detail: map[string]any{"uid": l.UID, "refused": l.Count,
			"since": l.Since.UTC().Format(time.RFC3339), "until": l.Until.UTC().Format(time.RFC3339)}})
	if err != nil {
		s.log.Error("the summary of rate-limited refusals could not be recorded", "action", action, "uid", l.UID, "refused", l.Count, "err", err)
	}
}

// uidName is how the operation log names a caller without a session.
func uidName(uid int) string { return fmt.Sprintf("uid %d", uid) }
