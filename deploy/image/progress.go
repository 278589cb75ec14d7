package image

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progressInterval is how often bars are redrawn on a terminal.
const progressInterval = 200 * time.Millisecond

// progress shows each host's transfer: on a terminal a bar per host
// (bytes, rate, time left), redrawn in place; otherwise one plain line
// when a host starts and one when it ends.
type progress struct {
	w   io.Writer
	tty bool

	mu    sync.Mutex
	bars  []*bar
	drawn int // lines of the last drawing
	stop  chan struct{}
	done  chan struct{}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newProgress(w io.Writer, tty bool) *progress {
	if w == nil {
		w = io.Discard
	}
	p := &progress{w: w, tty: tty, stop: make(chan struct{}), done: make(chan struct{})}
	if tty {
		go p.loop()
	} else {
		close(p.done)
	}
	return p
}

// bar is one host's transfer.
type bar struct {
	p       *progress
	host    string
	what    string
	total   int64 // estimate; 0 when unknown
	sent    int64
	start   time.Time
	end     time.Time
	note    string // the final word: "present", "sent", "FAILED"
	started bool
}

func (p *progress) add(host, what string) *bar {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := &bar{p: p, host: host, what: what}
	p.bars = append(p.bars, b)
	return b
}

// begin starts the clock, with the bytes the host is expected to need.
func (b *bar) begin(total int64, layers int) {
	b.p.mu.Lock()
	defer b.p.mu.Unlock()
	b.total, b.start, b.started = total, time.Now(), true
	if !b.p.tty {
		fmt.Fprintf(b.p.w, "%-15s %s: sending %d layers, about %s\n", b.host, b.what, layers, size(total))
	}
}

func (b *bar) addBytes(n int64) {
	b.p.mu.Lock()
	b.sent += n
	b.p.mu.Unlock()
}

// finish records the outcome and, off a terminal, prints it.
func (b *bar) finish(note string) {
	b.p.mu.Lock()
	defer b.p.mu.Unlock()
	b.end, b.note = time.Now(), note
	if b.start.IsZero() {
		b.start = b.end
	}
	if !b.p.tty {
		fmt.Fprintln(b.p.w, b.line())
	}
}

// line renders the bar; the caller holds p.mu.
func (b *bar) line() string {
	now := time.Now()
	if !b.end.IsZero() {
		now = b.end
	}
	elapsed := now.Sub(b.start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(b.sent) / elapsed.Seconds()
	}
	head := fmt.Sprintf("%-15s %s:", b.host, b.what)
	switch {
	case b.note != "":
		return fmt.Sprintf("%s %s %s in %.2fs (%s/s)", head, b.note, size(b.sent), elapsed.Seconds(), size(int64(rate)))
	case !b.started:
		return head + " waiting"
	}
	total := max(b.total, b.sent)
	const width = 24
	filled := width
	if total > 0 {
		filled = int(float64(width) * float64(b.sent) / float64(total))
	}
	left := "?"
	if rate > 0 && total > b.sent {
		left = (time.Duration(float64(total-b.sent)/rate) * time.Second / time.Second).Round(time.Second).String()
	} else if total <= b.sent {
		left = "0s"
	}
	return fmt.Sprintf("%s [%s%s] %s / %s  %s/s  %s left", head, strings.Repeat("=", filled), strings.Repeat(" ", width-filled),
		size(b.sent), size(total), size(int64(rate)), left)
}

func (p *progress) loop() {
	defer close(p.done)
	t := time.NewTicker(progressInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			p.draw()
			return
		case <-t.C:
			p.draw()
		}
	}
}

// draw redraws every bar in place.
func (p *progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dF", p.drawn) // back to the first bar's line
	}
	for _, bar := range p.bars {
		b.WriteString("\x1b[2K" + bar.line() + "\n")
	}
	p.drawn = len(p.bars)
	io.WriteString(p.w, b.String())
}

// close draws the final state and stops redrawing.
func (p *progress) close() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

// size formats bytes the way people read them: "12.3 MB".
func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
