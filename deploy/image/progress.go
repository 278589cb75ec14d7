package image

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// progressInterval is how often bars are redrawn on a terminal.
const progressInterval = 200 * time.Millisecond

// barWidth is the width of a bar's filled part, so that a host's line
// (host, bar, bytes, rate, time left) fits an 80-column terminal.
const barWidth = 24

// progress shows each host's transfer: on a terminal a bar per host
// (bytes, rate, time left), redrawn in place by mpb; otherwise one plain
// line when a host starts and one when it ends, so a CI log gets no
// escape codes and no carriage returns. Only host names and sizes are
// shown: nothing of a login reaches it.
type progress struct {
	w  io.Writer
	mp *mpb.Progress // nil off a terminal

	mu   sync.Mutex // orders plain lines and guards bars
	bars []*bar
}

// isTerminal reports whether w is a terminal: a TerminalWriter says so,
// an *os.File is asked.
func isTerminal(w io.Writer) bool {
	if t, ok := w.(TerminalWriter); ok {
		return t.IsTerminal()
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newProgress(w io.Writer, tty bool) *progress {
	if w == nil {
		w = io.Discard
	}
	p := &progress{w: w}
	if tty && w != io.Discard {
		// ForceTTY and WithAutoRefresh: the caller has decided w is a
		// terminal, even when it wraps one (deploy's redacting printer);
		// mpb would otherwise only look for an *os.File.
		p.mp = mpb.New(mpb.WithOutput(w), mpb.ForceTTY(), mpb.WithAutoRefresh(), mpb.WithRefreshRate(progressInterval))
	}
	return p
}

// shown reports whether anything is shown at all, so that callers can
// skip work that only sizes a bar.
func (p *progress) shown() bool { return p.w != io.Discard }

// bar is one host's transfer.
type bar struct {
	p    *progress
	host string
	what string
	mb   *mpb.Bar // nil off a terminal

	mu      sync.Mutex
	total   int64 // estimate; 0 when unknown
	sent    int64
	start   time.Time
	end     time.Time
	note    string // the final word: "present, sent", "sent", "FAILED after"
	started bool
	eta     decor.Decorator // mpb's average ETA, from start
}

func (p *progress) add(host, what string) *bar {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := &bar{p: p, host: host, what: what}
	p.bars = append(p.bars, b)
	if p.mp != nil {
		// Total 0: the estimate may be short, and a bar must not end
		// before finish says so.
		b.mb = p.mp.New(0, mpb.BarStyle().Lbound("[").Filler("=").Tip("").Padding(" ").Rbound("]"),
			mpb.BarWidth(barWidth),
			mpb.BarFillerTrim(),
			mpb.BarFillerMiddleware(b.filler),
			mpb.PrependDecorators(decor.Name(b.head())),
			mpb.AppendDecorators(decor.Any(b.tail)),
		)
	}
	return b
}

// head is what a host's line starts with, bar or plain line alike.
func (b *bar) head() string { return fmt.Sprintf("%-15s %s:", b.host, b.what) }

// filler draws mpb's bar only while bytes travel: a waiting or finished
// host's line is words only.
func (b *bar) filler(base mpb.BarFiller) mpb.BarFiller {
	return mpb.BarFillerFunc(func(w io.Writer, st decor.Statistics) error {
		b.mu.Lock()
		running := b.started && b.note == ""
		b.mu.Unlock()
		if _, err := io.WriteString(w, " "); err != nil || !running {
			return err
		}
		if err := base.Fill(w, st); err != nil {
			return err
		}
		_, err := io.WriteString(w, " ")
		return err
	})
}

// tail is the text after the bar: bytes, rate and time left while the
// transfer runs, the outcome once it is over.
func (b *bar) tail(st decor.Statistics) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.note != "":
		return b.summary()
	case !b.started:
		return "waiting"
	}
	speed := rate(st.Current, time.Since(b.start))
	left := "?" // nothing sent yet, or the size is unknown
	switch {
	case st.Total > 0 && st.Current >= st.Total:
		left = "0s"
	case st.Total > 0 && st.Current > 0:
		left, _ = b.eta.Decor(st)
	}
	return fmt.Sprintf("%s / %s  %s  %s left", humanize.IBytes(uint64(st.Current)), humanize.IBytes(uint64(st.Total)), speed, left)
}

// summary is the outcome line's text; the caller holds b.mu.
func (b *bar) summary() string {
	elapsed := b.end.Sub(b.start)
	return fmt.Sprintf("%s %s in %.2fs (%s)", b.note, humanize.IBytes(uint64(b.sent)), elapsed.Seconds(), rate(b.sent, elapsed))
}

// rate is n bytes over d as people read it: "12 MiB/s".
func rate(n int64, d time.Duration) string {
	r := 0.0
	if d > 0 {
		r = float64(n) / d.Seconds()
	}
	return humanize.IBytes(uint64(r)) + "/s"
}

// begin starts the clock, with the bytes the host is expected to need.
func (b *bar) begin(total int64, layers int) {
	b.mu.Lock()
	b.total, b.started = total, true
	b.clock(time.Now())
	b.mu.Unlock()
	if b.mb != nil {
		b.mb.SetTotal(total, false)
		return
	}
	b.p.linef("%s sending %d layers, about %s", b.head(), layers, humanize.IBytes(uint64(total)))
}

// clock starts the transfer's clock, and mpb's time left with it; the
// caller holds b.mu.
func (b *bar) clock(start time.Time) {
	b.start = start
	b.eta = decor.NewAverageETA(decor.ET_STYLE_GO, start, nil)
}

func (b *bar) addBytes(n int64) {
	b.mu.Lock()
	b.sent += n
	grown := b.sent > b.total
	if grown {
		b.total = b.sent
	}
	total := b.total
	b.mu.Unlock()
	if b.mb != nil {
		if grown {
			// The estimate was short: the bar stays full, not past full.
			b.mb.SetTotal(total, false)
		}
		b.mb.IncrInt64(n)
	}
}

// finish records the outcome, note being its first words: the bar ends
// (a failed one aborts and stays in view) or, off a terminal, the
// outcome line is printed.
func (b *bar) finish(note string, failed bool) {
	b.mu.Lock()
	b.end, b.note = time.Now(), note
	if b.start.IsZero() {
		b.start = b.end
	}
	line := b.head() + " " + b.summary()
	b.mu.Unlock()
	switch {
	case b.mb == nil:
		b.p.linef("%s", line)
	case failed:
		b.mb.Abort(false)
	default:
		b.mb.SetTotal(-1, true) // total = bytes sent: complete
	}
}

// linef prints one plain line; the lines of many hosts never interleave.
func (p *progress) linef(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

// close draws the final state and stops redrawing. A bar nobody finished
// (a delivery that returned early) is aborted so that close cannot hang.
func (p *progress) close() {
	if p.mp == nil {
		return
	}
	p.mu.Lock()
	bars := p.bars
	p.mu.Unlock()
	for _, b := range bars {
		b.mb.Abort(false)
	}
	p.mp.Wait()
}
