package daemon

import (
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// Time limits of the local API's connections, so that a client that sends slowly,
// or not at all, cannot hold a connection (a file descriptor) for long. Variables:
// tests shorten them.
var (
	// HeaderTimeout bounds the request line and headers.
	HeaderTimeout = 10 * time.Second
	// BodyTimeout bounds the whole body of a request (the calls' bodies are small).
	BodyTimeout = 30 * time.Second
	// StreamReadTimeout: on a call whose body streams (an ingest's file of GBs), each
	// read must make progress within this, however long the whole body takes.
	StreamReadTimeout = 60 * time.Second
	// IdleTimeout closes a kept-alive connection without a next request.
	IdleTimeout = 60 * time.Second
	// WriteTimeout: each write of an answer must make progress within this (answers
	// that stream, as an ingest's progress, may take as long as they need).
	WriteTimeout = 60 * time.Second
)

// streamedBody lists the actions whose request body may be large and is read as it
// comes: they get a rolling read deadline (StreamReadTimeout per read) instead of
// BodyTimeout for the whole body.
var streamedBody = map[action]bool{
	actIngest:    true,
	actProvision: true,
}

// limitBody sets the read and write deadlines of a request before its handler runs.
// The read deadline is lifted once the body is read to its end: the connection is
// then only watched for the client going away, which must not be mistaken for a
// timeout while a long call (a sign-in waiting for a finger) runs.
func limitBody(w http.ResponseWriter, r *http.Request, a action) (http.ResponseWriter, *http.Request) {
	rc := http.NewResponseController(w)
	w = &deadlineWriter{ResponseWriter: w, rc: rc}
	if r.Body == nil || r.Body == http.NoBody {
		return w, r
	}
	b := &deadlineBody{ReadCloser: r.Body, rc: rc}
	if streamedBody[a] {
		b.each = StreamReadTimeout
		rc.SetReadDeadline(time.Now().Add(b.each)) // also before the first read
	} else {
		rc.SetReadDeadline(time.Now().Add(BodyTimeout))
	}
	r2 := *r
	r2.Body = b
	return w, &r2
}

// deadlineBody is a request body whose reads are bounded in time: each read (each
// != 0) or the body as a whole (set before it is read).
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	each time.Duration
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.each > 0 && !b.done {
		b.rc.SetReadDeadline(time.Now().Add(b.each))
	}
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done { // a timeout keeps its deadline: the connection ends
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// deadlineWriter gives each write of an answer WriteTimeout to make progress.
type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	w.rc.SetWriteDeadline(time.Now().Add(WriteTimeout))
	return w.ResponseWriter.Write(p)
}

func (w *deadlineWriter) Flush() {
	w.rc.SetWriteDeadline(time.Now().Add(WriteTimeout))
	w.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// MaxReaderWaiters bounds the sign-ins and enrolments waiting for the fingerprint
// reader while another holds it; more are refused at once ("the reader is busy").
var MaxReaderWaiters = 4

// bounded gives every request with a body BodyTimeout to send it, before any route
// is chosen: the guard then sets each call's own limit (limitBody), and a request that
// reaches no guarded route (an unknown path or method) cannot hold its connection
// either.
func bounded(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			http.NewResponseController(w).SetReadDeadline(time.Now().Add(BodyTimeout))
		}
		h.ServeHTTP(w, r)
	})
}

// readToEnd reads what follows a call's JSON body: only white space may (the body is
// then read to its end, which lifts its read deadline, see deadlineBody).
func readToEnd(dec *json.Decoder) error {
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return badRequest("the request has more than one JSON value, or did not end: send exactly one")
	}
	return nil
}
