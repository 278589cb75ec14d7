package secret

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Redacted replaces every secret value in output.
const Redacted = "[redacted]"

// Values holds resolved secret values by name. Print it freely: its
// String and GoString show names only.
type Values map[string]string

// names returns the names, sorted.
func (s Values) names() []string {
	n := make([]string, 0, len(s))
	for k := range s {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// String lists the names, never the values.
func (s Values) String() string { return "secrets[" + strings.Join(s.names(), " ") + "]" }

// GoString lists the names, never the values.
func (s Values) GoString() string { return "secret.Values" + s.String() }

// minLineToken is the shortest line of a multi-line secret that is
// redacted on its own: output that passes line by line never holds the
// whole value, and shorter lines ("{", "}") say nothing secret.
const minLineToken = 8

// tokens returns the strings to redact: every non-empty value, and every
// line of at least minLineToken characters of a multi-line value, each
// also in the escaped forms text shows it in when it was quoted for Go
// (%q, strconv.Quote) or JSON: a value holding `"` or `\` is not itself
// in its quoted form, and output quotes text that has a secret in it.
func (s Values) tokens() []string {
	var t []string
	for _, v := range s {
		if v == "" {
			continue
		}
		t = append(t, escapedForms(v)...)
		if strings.ContainsAny(v, "\r\n") {
			for l := range strings.FieldsFuncSeq(v, func(r rune) bool { return r == '\r' || r == '\n' }) {
				if l = strings.TrimSpace(l); len(l) >= minLineToken {
					t = append(t, escapedForms(l)...)
				}
			}
		}
	}
	slices.Sort(t)
	return slices.Compact(t)
}

// escapedForms returns v, and v as it reads inside a Go-quoted and a
// JSON string (with and without HTML escaping) when that differs.
func escapedForms(v string) []string {
	forms := []string{v, strings.Trim(strconv.Quote(v), `"`), strings.Trim(strconv.QuoteToASCII(v), `"`)}
	for _, html := range []bool{true, false} {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		if enc.Encode(v) == nil {
			forms = append(forms, strings.Trim(strings.TrimSuffix(b.String(), "\n"), `"`))
		}
	}
	return forms
}

// Redact returns text with every secret value replaced by "[redacted]".
// Overlapping and adjacent values become one "[redacted]", so no part of
// any value is left. Each line of a multi-line value is also redacted on
// its own when it has at least 8 characters.
func (s Values) Redact(text string) string {
	if len(s) == 0 || text == "" {
		return text
	}
	return string(redactBytes([]byte(text), s.tokens()))
}

// RedactError returns err with its message redacted; the result still
// unwraps to err for errors.Is and errors.As. It returns nil for nil.
func (s Values) RedactError(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{err: err, msg: s.Redact(err.Error())}
}

// redactedError shows a redacted message for an error it still wraps.
type redactedError struct {
	err error
	msg string
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactBytes replaces every run of b covered by an occurrence of a token.
func redactBytes(b []byte, tokens []string) []byte {
	spans := secretSpans(b, tokens)
	if len(spans) == 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	last := 0
	for _, sp := range spans {
		out = append(out, b[last:sp[0]]...)
		out = append(out, Redacted...)
		last = sp[1]
	}
	return append(out, b[last:]...)
}

// secretSpans returns the merged [start, end) runs of b covered by
// occurrences of tokens, in order.
func secretSpans(b []byte, tokens []string) [][2]int {
	var spans [][2]int
	for _, t := range tokens {
		for i := 0; i < len(b); {
			j := bytes.Index(b[i:], []byte(t))
			if j < 0 {
				break
			}
			spans = append(spans, [2]int{i + j, i + j + len(t)})
			i += j + 1
		}
	}
	if len(spans) == 0 {
		return nil
	}
	slices.SortFunc(spans, func(x, y [2]int) int { return x[0] - y[0] })
	merged := spans[:1]
	for _, sp := range spans[1:] {
		if last := &merged[len(merged)-1]; sp[0] <= last[1] {
			last[1] = max(last[1], sp[1])
		} else {
			merged = append(merged, sp)
		}
	}
	return merged
}

// maxPending is how much output without a line end the redacting writer
// holds before it passes on what it safely can.
const maxPending = 64 << 10

// Writer returns a writer that passes what is written to w with every
// secret value redacted. It holds output back until a line ends ("\n" or
// "\r"), so that a value split across two writes is still caught, and
// passes a long line on in pieces that cannot cut a value in two. Close
// passes on the last, unfinished line; it does not close w. The writer is
// safe for concurrent use.
//
// A multi-line value is caught whole when its lines reach the writer
// before one of them ends a write; otherwise each of its lines is
// redacted on its own (see Redact).
func (s Values) Writer(w io.Writer) io.WriteCloser {
	rw := &redactWriter{w: w, tokens: s.tokens()}
	for _, t := range rw.tokens {
		rw.longest = max(rw.longest, len(t))
	}
	return rw
}

type redactWriter struct {
	mu      sync.Mutex
	w       io.Writer
	tokens  []string
	longest int
	pending []byte
}

func (rw *redactWriter) Write(p []byte) (int, error) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if len(rw.tokens) == 0 {
		return rw.w.Write(p)
	}
	// Only p can hold a new line end; searching it alone keeps long lines
	// written in small pieces linear.
	cut := 0
	if i := bytes.LastIndexAny(p, "\r\n"); i >= 0 {
		cut = len(rw.pending) + i + 1
	}
	rw.pending = append(rw.pending, p...)
	if cut > 0 {
		if err := rw.pass(cut); err != nil {
			return 0, err
		}
	}
	if len(rw.pending) > maxPending {
		if err := rw.pass(rw.safeCut()); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// safeCut returns how much of pending can pass without cutting a value
// in two: everything but the last longest-1 bytes, moved past any value
// that straddles that point.
func (rw *redactWriter) safeCut() int {
	cut := len(rw.pending) - (rw.longest - 1)
	if cut <= 0 {
		return 0
	}
	for _, sp := range secretSpans(rw.pending, rw.tokens) {
		if sp[0] < cut && cut < sp[1] {
			cut = sp[1]
		}
	}
	return cut
}

// pass writes pending[:n], redacted, and keeps the rest.
func (rw *redactWriter) pass(n int) error {
	if n == 0 {
		return nil
	}
	_, err := rw.w.Write(redactBytes(rw.pending[:n], rw.tokens))
	rw.pending = rw.pending[:copy(rw.pending, rw.pending[n:])]
	return err
}

// Close passes on whatever is held back. It does not close the
// underlying writer.
func (rw *redactWriter) Close() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if len(rw.pending) == 0 {
		return nil
	}
	return rw.pass(len(rw.pending))
}
