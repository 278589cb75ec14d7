package image

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vbauerster/mpb/v8/decor"
	"go.uber.org/goleak"
)

// transfer runs three hosts through a progress: one sent 12 MiB of an
// estimated 8 MiB, one already held the image, one failed after 1 MiB.
func transfer(p *progress) {
	sent := p.add("10.250.1.2", "image")
	present := p.add("10.250.2.2", "image")
	failed := p.add("10.250.3.2", "image")
	sent.begin(8<<20, 2)
	failed.begin(4<<20, 1)
	for range 12 {
		sent.addBytes(1 << 20)
	}
	failed.addBytes(1 << 20)
	sent.finish("sent", false)
	present.finish("present, sent", false)
	failed.finish("FAILED after", true)
	p.close()
}

func TestProgressOffATerminalPrintsPlainLines(t *testing.T) {
	var out bytes.Buffer
	transfer(newProgress(&out, false))

	assert.NotContains(t, out.String(), "\r", "no carriage returns in a CI log")
	assert.NotContains(t, out.String(), "\x1b", "no escape codes in a CI log")
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := []string{
		`^10\.250\.1\.2      image: sending 2 layers, about 8\.0 MiB$`,
		`^10\.250\.3\.2      image: sending 1 layers, about 4\.0 MiB$`,
		`^10\.250\.1\.2      image: sent 12 MiB in \d+\.\d\ds \(\S+ \S+/s\)$`,
		`^10\.250\.2\.2      image: present, sent 0 B in 0\.00s \(0 B/s\)$`,
		`^10\.250\.3\.2      image: FAILED after 1\.0 MiB in \d+\.\d\ds \(\S+ \S+/s\)$`,
	}
	require.Len(t, lines, len(want), "a line when a host starts sending and one when it ends:\n%s", out.String())
	for i, re := range want {
		assert.Regexp(t, re, lines[i])
	}
}

func TestProgressOnATerminalEndsWithOneLinePerHost(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent()) // close stops mpb's goroutines
	var out bytes.Buffer
	transfer(newProgress(&out, true))

	assert.NotContains(t, out.String(), "\r", "bars are redrawn by moving the cursor up, not with carriage returns")
	// mpb moves the cursor up over the last drawing before the next one:
	// what follows the last move is what stays on the screen.
	frames := strings.Split(out.String(), "\x1b[J")
	final := strings.Split(strings.TrimSuffix(frames[len(frames)-1], "\n"), "\n")
	want := []string{
		`^10\.250\.1\.2      image: sent 12 MiB in \d+\.\d\ds \(\S+ \S+/s\)$`,
		`^10\.250\.2\.2      image: present, sent 0 B in 0\.00s \(0 B/s\)$`,
		`^10\.250\.3\.2      image: FAILED after 1\.0 MiB in \d+\.\d\ds \(\S+ \S+/s\)$`,
	}
	require.Len(t, final, len(want), "one line per host, in the targets' order:\n%q", out.String())
	for i, re := range want {
		assert.Regexp(t, re, final[i])
	}
}

func TestProgressBarWhileSending(t *testing.T) {
	p := newProgress(&bytes.Buffer{}, true)
	b := p.add("10.250.1.2", "image")
	waiting := p.add("10.250.2.2", "image")
	assert.Equal(t, "waiting", waiting.tail(decor.Statistics{}))

	b.begin(40<<20, 2)
	b.mu.Lock()
	b.clock(time.Now().Add(-2 * time.Second)) // 10 MiB in 2s: 5 MiB/s, 30 MiB in 6s
	b.mu.Unlock()
	assert.Equal(t, "10 MiB / 40 MiB  5.0 MiB/s  6s left", b.tail(decor.Statistics{Current: 10 << 20, Total: 40 << 20}))
	assert.Equal(t, "0 B / 40 MiB  0 B/s  ? left", b.tail(decor.Statistics{Total: 40 << 20}), "no rate yet")
	assert.Equal(t, "1.0 MiB / 0 B  512 KiB/s  ? left", b.tail(decor.Statistics{Current: 1 << 20}), "size unknown (a registry pull)")

	b.finish("sent", false)
	waiting.finish("present, sent", false)
	p.close()
}

func TestProgressCloseEndsBarsNobodyFinished(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var out bytes.Buffer
	p := newProgress(&out, true)
	p.add("10.250.1.2", "image").begin(1<<20, 1)
	p.add("10.250.2.2", "image")
	done := make(chan struct{})
	go func() { p.close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("close waited for bars that will never finish")
	}
	frames := strings.Split(out.String(), "\x1b[J")
	assert.Len(t, strings.Split(strings.TrimSuffix(frames[len(frames)-1], "\n"), "\n"), 2, "both hosts' lines stay in view")
}

// BenchmarkProgressAddBytes is the cost progress adds to each write of a
// delivery's connection (32 KiB or so each), on a terminal, where every
// write reaches mpb's bar, and off one.
//
// Run with: go test -run '^$' -bench ProgressAddBytes ./deploy/image/
func BenchmarkProgressAddBytes(b *testing.B) {
	for _, tty := range []bool{true, false} {
		b.Run(map[bool]string{true: "terminal", false: "plain"}[tty], func(b *testing.B) {
			p := newProgress(&bytes.Buffer{}, tty)
			bar := p.add("10.250.1.2", "image")
			bar.begin(int64(b.N)<<15, 1)
			b.SetBytes(1 << 15)
			b.ResetTimer()
			for range b.N {
				bar.addBytes(1 << 15)
			}
			b.StopTimer()
			bar.finish("sent", false)
			p.close()
		})
	}
}
