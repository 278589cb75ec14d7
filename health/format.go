package health

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// screenLines is the most lines Result, Diagnostics and GateError print:
// a report fits one terminal screen.
const screenLines = 40

// ScreenWidth is the most characters of any line Result, Diagnostics and
// GateError print; longer lines end in "…". It is exported because code
// that checks a report (deploy's redaction tests: no secret survives a
// cut line) needs to know where lines are cut.
const ScreenWidth = 120

// String describes the try in one line: number, start, latency, what
// answered, why it failed and the start of what it said, such as
//
//	#26 +25s 2ms 503 Service Unavailable: status 503 is outside 200-399 "unhealthy: sqlite"
func (a Attempt) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d +%s %s", a.Number, round(a.At), round(a.Latency))
	switch {
	case a.Status != "" && a.Err != nil:
		b.WriteString(" " + a.Status + ": " + a.Err.Error())
	case a.Status != "":
		b.WriteString(" " + a.Status)
	case a.Err != nil:
		b.WriteString(" " + a.Err.Error())
	}
	if a.Body != "" {
		// Quoted, so that a body's control characters cannot move the
		// cursor. Body is redacted where a try captures it (Host.Redactor),
		// before this escapes a secret's quotes and backslashes.
		b.WriteString(" " + strconv.Quote(a.Body))
	}
	return clip(b.String())
}

// String reports the result: one line when the gate passed; otherwise a
// line saying how it ended and then its last attempts, within one screen (40 lines).
func (r Result) String() string {
	var s screen
	r.write(&s)
	return s.String()
}

func (r Result) write(s *screen) {
	head := r.Gate + " on " + r.Target + ": "
	switch r.Outcome {
	case OutcomePassed:
		s.line(head + fmt.Sprintf("passed after %s in %s", plural(r.Attempts, "attempt"), round(r.TimeToHealthy)))
		return
	case OutcomeNone:
		s.line(head + "not run")
		if r.Err != nil {
			for _, l := range strings.Split(r.Err.Error(), "\n") {
				s.line("  " + l)
			}
		}
		return
	case OutcomeDeadline:
		head += fmt.Sprintf("deadline %s reached after %s", round(r.Deadline), plural(r.Attempts, "attempt"))
	case OutcomeAborted:
		// Why is in the last attempt's line, below.
		head += fmt.Sprintf("gave up after %s in %s", plural(r.Attempts, "attempt"), round(r.Elapsed))
	default:
		head += fmt.Sprintf("%s after %s in %s", r.Outcome, plural(r.Attempts, "attempt"), round(r.Elapsed))
	}
	s.line(head)
	if len(r.Last) > 0 {
		s.line(fmt.Sprintf("last %s:", plural(len(r.Last), "attempt")))
		for _, a := range r.Last {
			s.line("  " + a.String())
		}
	}
}

// screen gathers the lines of a report, each cleaned of control
// characters and clipped to ScreenWidth, up to screenLines of them.
type screen struct {
	lines []string
}

func (s *screen) line(l string) {
	if len(s.lines) < screenLines {
		s.lines = append(s.lines, clip(l))
	}
}

func (s *screen) left() int { return screenLines - len(s.lines) }

func (s *screen) String() string { return strings.Join(s.lines, "\n") }

// clip makes l one printable line of at most ScreenWidth characters:
// terminal escape sequences (colours) go, other control characters become
// spaces. It cuts text, so anything secret in l must be redacted before l
// gets here (Host.Redactor, Diagnostics.Redact): a value cut in two
// survives as a prefix that no redactor matches.
func clip(l string) string {
	l = stripEscapes(l)
	l = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, l)
	if utf8.RuneCountInString(l) <= ScreenWidth {
		return l
	}
	return string([]rune(l)[:ScreenWidth-1]) + "…"
}

// excerpt keeps the start of b, at most ExcerptLimit bytes, cut on a
// character boundary, with invalid UTF-8 shown as "?".
func excerpt(b []byte) string {
	n := min(len(b), ExcerptLimit)
	if n < len(b) {
		for n > 0 && !utf8.RuneStart(b[n]) {
			n--
		}
	}
	return strings.ToValidUTF8(string(b[:n]), "?")
}

// round shortens a duration for people: 250µs, 4ms, 1.2s, 1m30s.
func round(d time.Duration) time.Duration {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond)
	case d < time.Second:
		return d.Round(time.Millisecond)
	case d < time.Minute:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func errText(err error) string {
	if err == nil {
		return "no error"
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

// stripEscapes removes ANSI CSI sequences (ESC [ ... final byte), which apps use for colour.
func stripEscapes(l string) string {
	if !strings.Contains(l, "\x1b[") {
		return l
	}
	var b strings.Builder
	for i := 0; i < len(l); i++ {
		if l[i] == 0x1b && i+1 < len(l) && l[i+1] == '[' {
			j := i + 2
			for j < len(l) && (l[j] < 0x40 || l[j] > 0x7e) {
				j++
			}
			i = j // skip the final byte too
			continue
		}
		b.WriteByte(l[i])
	}
	return b.String()
}
