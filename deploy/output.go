package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/slipwayhq/slipway/secret"
)

// printer writes the lines a person reads during a deploy: one per host
// and step, prefixed with the host, with its duration. Lines from hosts
// working at once never interleave, and secret values are redacted.
//
// The printer also holds the session's one redaction set: every secret
// value the session has resolved, for whatever it was resolved (the app's
// and its accessories' env, the registry password, a replica's
// credentials). Output, errors, audit lines and logs are all redacted
// with it, so a value resolved anywhere is hidden everywhere.
type printer struct {
	mu    sync.Mutex
	raw   io.Writer
	w     io.Writer            // raw, or a redacting writer once secrets are known
	known secret.Values        // the redaction set; it only grows
	shown map[*HostsError]bool // the failures already printed (see failures)
}

func newPrinter(w io.Writer) *printer { return &printer{raw: w, w: w} }

// redact adds s to the redaction set and makes every later write pass
// through a redacting writer, which holds text back until a line ends, so
// a secret a hook writes in two pieces is still caught.
func (p *printer) redact(s secret.Values) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.known == nil {
		p.known = secret.Values{}
	}
	added := false
	for name, v := range s {
		if v == "" || slices.Contains(slices.Collect(maps.Values(p.known)), v) {
			continue
		}
		// Two sources may give one name two values (a replica's own
		// credentials beside the app's); both are kept.
		key := name
		for i := 2; ; i++ {
			if _, taken := p.known[key]; !taken {
				break
			}
			key = fmt.Sprintf("%s#%d", name, i)
		}
		p.known[key] = v
		added = true
	}
	if !added {
		return
	}
	if c, ok := p.w.(io.Closer); ok && p.w != p.raw {
		c.Close() // pass on what the old writer held back
	}
	p.w = p.known.Writer(p.raw)
}

// secrets returns a copy of the redaction set.
func (p *printer) secrets() secret.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.known)
}

// Write passes text through (hooks write here), redacted.
func (p *printer) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.w.Write(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (p *printer) linef(format string, args ...any) {
	p.Write([]byte(fmt.Sprintf(format, args...) + "\n"))
}

// step prints one finished step.
func (p *printer) step(host, role, what, detail string, start time.Time, err error) {
	result := "ok"
	if err != nil {
		result = "FAILED"
	}
	line := fmt.Sprintf("%-15s %-8s %-14s %-36s %7s  %s", host, role, what, detail, seconds(time.Since(start)), result)
	line = strings.TrimRight(line, " ")
	if err != nil {
		line += "\n" + indent(err.Error(), "    ")
	}
	p.linef("%s", line)
}

// table prints rows in columns, each as wide as its widest cell and no
// narrower than its entry in widths (the step lines' columns, so a table
// under them lines up), after a blank line. The last column is not
// padded, and a row's empty last cells leave no trailing space.
func (p *printer) table(widths []int, rows ...[]string) {
	w := slices.Clone(widths)
	for _, r := range rows {
		for i, cell := range r {
			if i == len(w) {
				w = append(w, 0)
			}
			w[i] = max(w[i], len(cell))
		}
	}
	var b strings.Builder
	b.WriteByte('\n')
	for _, r := range rows {
		var line strings.Builder
		for i, cell := range r {
			if i == len(r)-1 {
				line.WriteString(cell)
				break
			}
			fmt.Fprintf(&line, "%-*s ", w[i], cell)
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	p.Write([]byte(b.String()))
}

// failures prints, after everything else an operation wrote, the hosts
// that failed grouped by reason: "Failed on 2 of 6 hosts:" and a line
// per reason naming its hosts, so the end of the output says what went
// wrong where without scrolling back through a step line per host. It
// prints the first *HostsError in err's tree, once: an operation that
// called another (Deploy calls Apply) does not print it again.
func (p *printer) failures(err error) {
	var he *HostsError
	if !errors.As(err, &he) || len(he.Errs) == 0 {
		return
	}
	p.mu.Lock()
	if p.shown[he] {
		p.mu.Unlock()
		return
	}
	if p.shown == nil {
		p.shown = map[*HostsError]bool{}
	}
	p.shown[he] = true
	p.mu.Unlock()
	p.linef("%s", failuresText(he))
}

// failuresText is the section failures prints.
func failuresText(he *HostsError) string {
	return fmt.Sprintf("\nFailed on %d of %d hosts:\n%s", len(he.Errs), he.Hosts, formatGroups(he.Groups(), "  "))
}

// seconds is the one format of a step's duration, fixed width to the
// hundredth of a second ("12.34s") so that step lines stay in columns
// and a fast step reads apart from a slow one; a relative age reads
// through ago.
func seconds(d time.Duration) string {
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

// flush writes out a last unfinished line held back for redaction.
func (p *printer) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.w.(io.Closer); ok && p.w != p.raw {
		c.Close()
		p.w = p.raw
	}
}

// timeLayout is how the operations print a time: to the second, in UTC.
const timeLayout = "2006-01-02 15:04:05 UTC"

// linePrefix starts every line of a container's output that Logs and
// Exec write.
func linePrefix(host, role string) string {
	return fmt.Sprintf("%-15s %-8s | ", host, role)
}

// maxLine is how long a line without an end may grow before it is
// passed on as a line of its own.
const maxLine = 64 << 10

// lineSink passes whole lines from many writers to one, so that lines
// from hosts writing at once never mix. Secret values the session has
// resolved are redacted.
type lineSink struct {
	mu     sync.Mutex
	w      io.Writer
	closer io.Closer
}

func (s *Session) newLineSink(w io.Writer) *lineSink {
	if sec := s.out.secrets(); len(sec) > 0 {
		rw := sec.Writer(w)
		return &lineSink{w: rw, closer: rw}
	}
	return &lineSink{w: w}
}

// Close passes on anything the redaction held back.
func (l *lineSink) Close() error {
	if l.closer == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closer.Close()
}

// writer returns a writer of one stream whose lines reach the sink whole,
// each after prefix. Close it to pass on an unfinished last line.
func (l *lineSink) writer(prefix string) *lineWriter {
	return &lineWriter{sink: l, prefix: prefix}
}

type lineWriter struct {
	sink   *lineSink
	prefix string
	buf    []byte
}

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.buf = append(lw.buf, p...)
	n := bytes.LastIndexByte(lw.buf, '\n') + 1
	if n == 0 && len(lw.buf) >= maxLine {
		n = len(lw.buf)
	}
	if n == 0 {
		return len(p), nil
	}
	err := lw.emit(lw.buf[:n])
	lw.buf = lw.buf[:copy(lw.buf, lw.buf[n:])]
	return len(p), err
}

// Close passes on the last line when it has no end.
func (lw *lineWriter) Close() error {
	if len(lw.buf) == 0 {
		return nil
	}
	err := lw.emit(lw.buf)
	lw.buf = nil
	return err
}

func (lw *lineWriter) emit(b []byte) error {
	var out bytes.Buffer
	for line := range bytes.Lines(b) {
		out.WriteString(lw.prefix)
		out.Write(line)
		if line[len(line)-1] != '\n' {
			out.WriteByte('\n')
		}
	}
	lw.sink.mu.Lock()
	defer lw.sink.mu.Unlock()
	_, err := lw.sink.w.Write(out.Bytes())
	return err
}

// ago is how long before now then was, as a person reads an age:
// "42 seconds ago", "3 days ago" (go-humanize's words and rounding). An
// age under a second still says "ago", where go-humanize says "now".
func ago(then, now time.Time) string {
	if d := now.Sub(then); d >= 0 && d < time.Second {
		return "less than a second ago"
	}
	return humanize.RelTime(then, now, "ago", "from now")
}
