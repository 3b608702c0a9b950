package main

// Counting SOAP Login calls, so tests can prove that a wrong password does not lock the vCenter
// account (vSphere locks it after a few failed logins in a short time).

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sync"
)

// loginCall matches the Login method element in a SOAP body, with or without a namespace prefix.
var loginCall = regexp.MustCompile(`<([A-Za-z0-9_]+:)?Login[\s>]`)

type logins struct {
	mu       sync.Mutex
	attempts int
	failed   int
}

// wrap counts every SOAP Login request that passes through next, and the ones answered with a fault.
func (l *logins) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Body == nil {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !loginCall.Match(body) {
			next.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		l.mu.Lock()
		l.attempts++
		if rec.status >= 400 {
			l.failed++
		}
		l.mu.Unlock()
	})
}

// serve answers GET /logins with {"attempts": N, "failed": M}.
func (l *logins) serve(w http.ResponseWriter, _ *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int{"attempts": l.attempts, "failed": l.failed})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
