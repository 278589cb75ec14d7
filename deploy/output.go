package deploy

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

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
	w     io.Writer     // raw, or a redacting writer once secrets are known
	known secret.Values // the redaction set; it only grows
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
